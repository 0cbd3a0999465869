from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from telephony import services as telephony_services


class LogoutView(auth_views.LogoutView):
    """Logging out of the web also logs the agent out of the queues."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            telephony_services.agent_logout(user=request.user)
        return super().post(request, *args, **kwargs)
