"""Pluggable SMS gateways: a tiny base class, one error type, a registry of dotted paths.

ICENTER_SMS_BACKEND names the backend ("console", "file", "http") or gives a dotted path to
a class of your own. Backends are imported only when used.
"""

from accounts.sms.base import SmsBackend, SmsError, SmsMessage, get_backend

__all__ = ["SmsBackend", "SmsError", "SmsMessage", "get_backend"]
