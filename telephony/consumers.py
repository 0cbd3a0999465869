"""The wallboard's WebSocket: supervisors and managers, joined to the "supervisors" group.

Services publish every agent state, call and work-item change to that group (kind + id
only). The consumer re-renders the wallboard's live parts as htmx out-of-band swaps, at
most once per THROTTLE_SECONDS however many events arrive, and sends everything on connect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from icenter.desk import push
from icenter.desk.rendering import language_from_scope
from telephony.wallboard import render_wallboard, user_may_watch

logger = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# A busy center produces many events a second; the wallboard shows them once a second.
THROTTLE_SECONDS = 1.0
KINDS = frozenset(
    {"agent.state", "call.updated", "call.offered", "call.ended", "work_item.updated"}
)


class WallboardConsumer(AsyncWebsocketConsumer):
    language: str | None = None
    joined: bool = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        if not await database_sync_to_async(user_may_watch)(user):
            logger.warning("wallboard socket refused for %s: no supervisor or manager role", user)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.language = language_from_scope(self.scope)
        self._dirty = False
        self._pending: asyncio.Task[None] | None = None
        self._last_sent = 0.0
        await self.channel_layer.group_add(push.SUPERVISORS, self.channel_name)
        self.joined = True
        await self.accept()
        await self._send_wallboard()

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(push.SUPERVISORS, self.channel_name)
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The wallboard sends nothing but pings; anything else is dropped."""
        try:
            message = json.loads(text_data or "")
        except (TypeError, ValueError):
            logger.warning("wallboard sent a malformed message")
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "id": message.get("id")}))

    async def desk_event(self, event: dict[str, Any]) -> None:
        if event.get("kind") not in KINDS:
            return
        self._dirty = True
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            wait = self._last_sent + THROTTLE_SECONDS - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            # Events that arrive while rendering set the flag again: one more round.
            self._dirty = False
            await self._send_wallboard()

    async def _send_wallboard(self) -> None:
        self._last_sent = asyncio.get_running_loop().time()
        try:
            html = await database_sync_to_async(render_wallboard)(language=self.language)
        except Exception:
            logger.exception("could not render the wallboard")
            return
        await self.send(text_data=html)
