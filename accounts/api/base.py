"""What every viewset of the accounts API shares: URL pattern, filters, errors, input helpers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from accounts import services
from accounts.filters import StableOrderingFilter
from icenter import roles
from icenter.errors import DomainError

ID_PATTERN = r"[0-9]+"
FILTER_BACKENDS = [DjangoFilterBackend, StableOrderingFilter]
ERROR_RESPONSES = {
    400: OpenApiResponse(description='Invalid input: {"message": …, "extra": {…}}.'),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(description="No staff role (agent, supervisor, manager)."),
}


def staff_users() -> QuerySet[Any]:
    """Users an account or interaction can be given to: active, with a staff role."""
    return get_user_model().objects.filter(is_active=True, groups__name__in=roles.ALL).distinct()


def normalized_or_error(*, kind: str, value: str) -> str:
    """Validate a phone number or email address the way the services store it."""
    try:
        return services.contact_point_normalize(kind=kind, value=value)
    except DomainError as error:
        raise serializers.ValidationError(error.message) from None


class FixedFieldsMixin:
    """An update input that refuses fields it cannot change instead of ignoring them."""

    initial_data: Any
    fields: Any

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        fixed = sorted(set(self.initial_data) - set(self.fields))
        if fixed:
            allowed = ", ".join(self.fields)
            raise serializers.ValidationError(
                {
                    name: _("This cannot be changed; these can: %(allowed)s.")
                    % {"allowed": allowed}
                    for name in fixed
                }
            )
        return attrs
