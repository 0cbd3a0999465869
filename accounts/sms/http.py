"""A JSON-over-HTTP SMS gateway for production.

POST ICENTER_SMS_HTTP_URL with {"to", "from", "text"} and a bearer token; a 2xx answer with
a JSON object carrying "id" (or "message_id") means accepted. 4xx answers are permanent
failures (bad number, bad request), 5xx, 429 and network errors are temporary.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings

from accounts.sms.base import SmsBackend, SmsError, SmsMessage


class HttpBackend(SmsBackend):
    def __init__(self) -> None:
        self.url = getattr(settings, "ICENTER_SMS_HTTP_URL", "")
        self.token = getattr(settings, "ICENTER_SMS_HTTP_TOKEN", "")
        self.timeout = float(getattr(settings, "ICENTER_SMS_HTTP_TIMEOUT", 10))
        if not self.url.startswith(("http://", "https://")):
            raise SmsError("ICENTER_SMS_HTTP_URL is not set to an http(s) URL", permanent=True)

    def send(self, message: SmsMessage) -> str:
        body = json.dumps({"to": message.to, "from": message.sender, "text": message.text})
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(65536)
        except urllib.error.HTTPError as error:
            permanent = 400 <= error.code < 500 and error.code != 429
            raise SmsError(f"gateway answered {error.code}", permanent=permanent) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsError(f"gateway not reachable: {error}", permanent=False) from error
        try:
            answer = json.loads(raw or b"{}")
        except ValueError as error:
            raise SmsError(
                "gateway answered something that is not JSON", permanent=False
            ) from error
        if not isinstance(answer, dict):
            raise SmsError("gateway answered something that is not a JSON object", permanent=False)
        return str(answer.get("id") or answer.get("message_id") or "")
