"""The development default: messages are written to the log, nothing is sent."""

from __future__ import annotations

import logging
import uuid

from accounts.sms.base import SmsBackend, SmsMessage

logger = logging.getLogger("icenter.sms")


class ConsoleBackend(SmsBackend):
    def send(self, message: SmsMessage) -> str:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        logger.info("SMS %s to %s: %s", message_id, message.to, message.text)
        return message_id
