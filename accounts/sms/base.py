"""The SMS gateway contract and the registry that picks a backend from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

BACKENDS = {
    "console": "accounts.sms.console.ConsoleBackend",
    "file": "accounts.sms.file.FileBackend",
    "http": "accounts.sms.http.HttpBackend",
}


class SmsError(Exception):
    """Sending failed; `permanent` says whether trying again can help (bad number: no)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class SmsMessage:
    to: str  # E.164
    text: str
    sender: str = ""


class SmsBackend:
    """Sends one text message and returns the gateway's id for it (or "")."""

    def send(self, message: SmsMessage) -> str:
        raise NotImplementedError


def get_backend(name: str | None = None) -> SmsBackend:
    """The configured backend (ICENTER_SMS_BACKEND), or the one named."""
    chosen: str = name or str(getattr(settings, "ICENTER_SMS_BACKEND", "console"))
    path = BACKENDS.get(chosen, chosen)
    try:
        backend_class = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"unknown SMS backend {chosen!r}: {error}") from None
    backend = backend_class()
    if not isinstance(backend, SmsBackend):
        raise ImproperlyConfigured(f"{path} is not an SmsBackend")
    return backend
