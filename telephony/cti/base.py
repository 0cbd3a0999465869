"""The CTI contract: what every PBX adapter can do, and the CallEvent stream it produces.

Adapters translate between a PBX and icenter; every decision (who gets a call,
which state an agent is in) lives in telephony.services. An adapter reports what
the PBX did as CallEvents and hands them to `telephony.services.call_event_handle`.
"""

from __future__ import annotations

import abc
import functools
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

# offered: a customer's call reached the PBX (or an outbound call started);
# ringing: an agent's phone rings (`agent` = extension); not_answered: the ringing phone did not
# take the call (no answer, busy, rejected, unregistered — `reason` says which);
# answered / held / retrieved / ended: the call's life; transferred: the call now belongs to
# another extension (`agent`) or queue (`queue`).
CallEventKind = Literal[
    "offered",
    "ringing",
    "not_answered",
    "answered",
    "held",
    "retrieved",
    "transferred",
    "ended",
]
EVENT_KINDS: tuple[str, ...] = get_args(CallEventKind)

# name -> dotted path, imported lazily so an unused backend costs nothing.
ADAPTERS: dict[str, str] = {
    "simulator": "telephony.cti.simulator.SimulatorAdapter",
    "asterisk": "telephony.cti.asterisk.AsteriskAdapter",
    "kamailio": "telephony.cti.kamailio.KamailioAdapter",
}


class CtiError(Exception):
    """A PBX command or event failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class CallEvent:
    """One thing that happened to a call on the PBX. Only plain values travel."""

    kind: CallEventKind
    call_id: str
    ani: str = ""
    dnis: str = ""
    queue: str = ""
    agent: str = ""
    reason: str = ""
    at: datetime = field(default_factory=timezone.now)

    @classmethod
    def from_dict(cls, data: Any) -> CallEvent:
        """Build an event from a decoded JSON object; bad input raises a permanent CtiError."""
        if not isinstance(data, dict):
            raise CtiError("a call event must be a JSON object")
        kind = data.get("kind")
        if kind not in EVENT_KINDS:
            raise CtiError(f"unknown event kind {kind!r}; expected one of {', '.join(EVENT_KINDS)}")
        call_id = data.get("call_id")
        if not isinstance(call_id, str) or not call_id.strip() or len(call_id) > 200:
            raise CtiError("call_id must be a non-empty string of at most 200 characters")
        values: dict[str, Any] = {"kind": kind, "call_id": call_id.strip()}
        for name in ("ani", "dnis", "queue", "agent", "reason"):
            value = data.get(name, "")
            if value is None:
                value = ""
            if not isinstance(value, str | int) or len(str(value)) > 200:
                raise CtiError(f"{name} must be a string of at most 200 characters")
            values[name] = str(value).strip()
        raw_at = data.get("at")
        if raw_at:
            at = parse_datetime(str(raw_at)) if isinstance(raw_at, str) else None
            if at is None:
                raise CtiError("at must be an ISO 8601 timestamp")
            if timezone.is_naive(at):
                at = timezone.make_aware(at, timezone.get_current_timezone())
            values["at"] = at
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


class CtiAdapter(abc.ABC):
    """Call control towards the PBX. Each method raises CtiError when the PBX refuses."""

    name: str = ""

    @abc.abstractmethod
    def originate(self, *, extension: str, number: str) -> str:
        """Ring the agent's extension, then dial the number; return the new call id."""

    @abc.abstractmethod
    def deliver(self, *, call_id: str, extension: str) -> None:
        """A waiting call was given to an agent: ring their extension (PBX reports `ringing`)."""

    @abc.abstractmethod
    def answer(self, *, call_id: str, extension: str) -> None:
        """Answer a call ringing at the agent's extension."""

    @abc.abstractmethod
    def hangup(self, *, call_id: str) -> None:
        """End the call for all parties."""

    @abc.abstractmethod
    def hold(self, *, call_id: str) -> None:
        """Put the customer on hold."""

    @abc.abstractmethod
    def retrieve(self, *, call_id: str) -> None:
        """Take the customer back from hold."""

    @abc.abstractmethod
    def reject(self, *, call_id: str, extension: str) -> None:
        """Stop ringing the agent's phone; the PBX reports `not_answered` (reason "rejected")."""

    @abc.abstractmethod
    def transfer_blind(self, *, call_id: str, target: str) -> None:
        """Hand the customer to another extension, queue number or external number at once."""

    @abc.abstractmethod
    def consult_start(self, *, call_id: str, extension: str, target: str) -> str:
        """Hold the customer, ring `target` from the agent's extension; return the new call id."""

    @abc.abstractmethod
    def consult_complete(self, *, call_id: str, consult_call_id: str) -> None:
        """Connect the held customer with the consulted party; the agent leaves both calls."""

    @abc.abstractmethod
    def consult_cancel(self, *, call_id: str, consult_call_id: str) -> None:
        """End the consult call and take the customer back from hold."""

    @abc.abstractmethod
    def set_agent_state(self, *, extension: str, state: str) -> None:
        """Tell the PBX about an agent state change (e.g. do-not-disturb when not ready)."""


@functools.cache
def _load(name: str) -> CtiAdapter:
    try:
        path = ADAPTERS[name]
    except KeyError:
        raise CtiError(
            f"ICENTER_CTI={name!r} is not a known adapter; choose one of {', '.join(ADAPTERS)}"
        ) from None
    adapter_class = import_string(path)
    adapter: CtiAdapter = adapter_class()
    return adapter


def get_adapter() -> CtiAdapter:
    """The adapter chosen by the ICENTER_CTI setting."""
    return _load(settings.ICENTER_CTI)
