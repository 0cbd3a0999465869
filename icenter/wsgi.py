"""WSGI entry point (HTTP only; the desk's live push needs the ASGI application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
application = get_wsgi_application()
