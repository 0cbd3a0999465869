"""The desk's WebSocket: one per open desk, joined to its agent's group; pushes only.

Events arrive as small dicts (kind + id) from icenter.desk.push; the consumer
renders the affected panels and sends them as htmx out-of-band swaps. On
connect it sends the whole current state, so a desk that reconnects after a
network drop shows a call that popped meanwhile.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from icenter import roles
from icenter.desk import selectors
from icenter.desk.rendering import (
    PANELS_BY_KIND,
    PRESENCE_KINDS,
    language_from_scope,
    render_panels,
    render_presence,
)

logger = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _agent_id_for(user: Any) -> int | None:
    if not roles.user_has_role(user, roles.AGENT):
        return None
    agent = selectors.agent_get_for_user(user=user)
    return agent.pk if agent else None


class DeskConsumer(AsyncWebsocketConsumer):
    agent_id: int | None = None
    user_id: int | None = None
    group: str | None = None
    language: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.agent_id = await _agent_id_for(user)
        if self.agent_id is None:
            logger.warning("desk socket refused for %s: no agent role or profile", user)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user_id = user.pk
        self.language = language_from_scope(self.scope)
        self.group = f"agent.{self.agent_id}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_panels("sync")

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The desk sends nothing but pings; anything else is logged and dropped."""
        try:
            message = json.loads(text_data or "")
        except (TypeError, ValueError):
            logger.warning(
                "agent %s sent a malformed desk message (%d bytes)",
                self.agent_id,
                len(text_data or bytes_data or b""),
            )
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong", "id": message.get("id")}))
            return
        logger.warning("agent %s sent an unknown desk message", self.agent_id)

    async def desk_event(self, event: dict[str, Any]) -> None:
        kind = event.get("kind", "")
        if kind in PRESENCE_KINDS:
            await self._send_presence(PRESENCE_KINDS[kind], event.get("id"))
            return
        panels = PANELS_BY_KIND.get(kind)
        if panels is None:
            logger.error("desk event of unknown kind %r for agent %s", kind, self.agent_id)
            return
        await self._send_panels(kind)

    async def _send_panels(self, kind: str) -> None:
        assert self.agent_id is not None
        try:
            html = await database_sync_to_async(render_panels)(
                agent_id=self.agent_id, panels=PANELS_BY_KIND[kind], language=self.language
            )
        except Exception:
            # One agent's broken render must not close their socket or touch others.
            logger.exception("could not render %s for agent %s", kind, self.agent_id)
            return
        if html:
            await self.send(text_data=html)

    async def _send_presence(self, kind: str, object_id: Any) -> None:
        """Refresh the colleagues shown on one account or ticket, if this user may see it."""
        if self.user_id is None or not isinstance(object_id, int):
            logger.error("presence event without an object id for agent %s", self.agent_id)
            return
        try:
            html = await database_sync_to_async(render_presence)(
                user_id=self.user_id, kind=kind, object_id=object_id, language=self.language
            )
        except Exception:
            logger.exception(
                "could not render presence on %s %s for agent %s", kind, object_id, self.agent_id
            )
            return
        if html:
            await self.send(text_data=html)
