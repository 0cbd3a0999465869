"""Django's ASGI handler, with each HTTP request's middleware and view run in one thread hop.

Django's own ASGIHandler runs the middleware stack in async mode. Our middleware (Django's,
WhiteNoise, django-htmx) and every view are synchronous, so each middleware's request and
response hooks and the view each hop from the event loop to the request's thread and back,
and WhiteNoise (synchronous only) adds a hop back onto the loop for the middleware below
it: about twenty hand-overs per request. Here the stack is loaded in sync mode and called
once in the request's thread (thread-sensitive, as Django runs synchronous views under
ASGI). The event loop still reads the request body and sends the response; WebSockets do
not pass through here. Measured by bench/scripting.py (about a fifth less CPU per request
and a lower tail); `tests/unit/test_asgi_handler.py` fails loudly if a Django upgrade
changes the two methods this overrides.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncStackASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
