"""Writes each message as one JSON line to ICENTER_SMS_FILE (demos and tests)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from accounts.sms.base import SmsBackend, SmsError, SmsMessage


class FileBackend(SmsBackend):
    def __init__(self) -> None:
        self.path = Path(getattr(settings, "ICENTER_SMS_FILE", "") or "sms-outbox.jsonl")

    def send(self, message: SmsMessage) -> str:
        message_id = f"file-{uuid.uuid4().hex[:12]}"
        line = {
            "id": message_id,
            "to": message.to,
            "from": message.sender,
            "text": message.text,
            "at": timezone.now().isoformat(),
        }
        try:
            with self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(json.dumps(line, ensure_ascii=False) + "\n")
        except OSError as error:
            raise SmsError(f"cannot write {self.path}: {error}", permanent=False) from error
        return message_id
