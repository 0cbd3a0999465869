"""ASGI entry point: HTTP through Django, WebSockets through the desk's consumers."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application() does first

from icenter.handlers import SyncStackASGIHandler  # noqa: E402

# Django's handler, with the (synchronous) middleware and view in one thread hop.
django_asgi_app = SyncStackASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from icenter import ticker  # noqa: E402
from icenter.desk.routing import websocket_urlpatterns  # noqa: E402

# Periodic tasks run in this process when there is no Celery beat (the embedded setup).
ticker.start()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
