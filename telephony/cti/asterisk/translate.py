"""AMI events → CallEvents: what happened on Asterisk, told the way icenter's services read it.

Asterisk reports channels (call legs), not calls. The translator follows the legs of each
call it cares about and says what happened to the call:

- a customer's call is *offered* when the dialplan puts it in icenter's waiting room
  (`UserEvent(IcenterQueue)`, see deploy/asterisk/) or when it joins an app_queue queue used
  as the waiting room (`QueueCallerJoin`); its call id is the customer channel's Linkedid;
- calls icenter originates (click-to-dial) carry a Uniqueid icenter chose (`icenter-…`);
- every other channel (internal calls between phones, trunks nobody routed to icenter)
  is ignored.

The translator keeps per-call state in memory and never raises on odd input: events it
cannot place are ignored, duplicates are dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

from telephony.cti.asterisk.protocol import Frame
from telephony.cti.base import CallEvent, CallEventKind

logger = logging.getLogger(__name__)

# Dialplan contexts and user events the adapter and deploy/asterisk/extensions.conf share.
CONTEXT_DELIVER = "icenter-deliver"
CONTEXT_HOLD = "icenter-hold"
CONTEXT_HELD_AGENT = "icenter-held-agent"
CONTEXT_CONSULT = "icenter-consult"
CONTEXT_TRANSFER = "icenter-transfer"
CONTEXT_OUTBOUND = "icenter-outbound"
CONTEXT_HANGUP = "icenter-hangup"
ORIGINATE_PREFIX = "icenter-"

# Why a ringing phone did not take the call, by Dial()'s DIALSTATUS.
NOT_ANSWERED_REASONS = {
    "NOANSWER": "no answer",
    "BUSY": "busy",
    "CHANUNAVAIL": "unavailable",
    "CONGESTION": "congestion",
    "DONTCALL": "rejected",
    "TORTURE": "rejected",
    "INVALIDARGS": "invalid extension",
}
CAUSE_CALL_REJECTED = "21"

_CHANNEL_NAME = re.compile(r"^[^/]+/(?P<resource>.+?)(?:-[0-9a-fA-F]{6,})?(?:;[12])?$")


def extension_of(channel: str) -> str:
    """`PJSIP/2001-0000000b` → `2001`; `Local/2001@icenter-deliver-00000003;1` → `2001`."""
    match = _CHANNEL_NAME.match(channel or "")
    if match is None:
        return ""
    return match.group("resource").split("@", 1)[0]


def _number(value: str) -> str:
    return "" if value in {"", "<unknown>", "unknown"} else value


@dataclass
class _Consult:
    consult_id: str
    call_id: str
    agent_leg: str
    target: str
    target_leg: str = ""
    answered: bool = False
    ended: bool = False


@dataclass
class _Call:
    call_id: str
    direction: str  # "inbound" or "outbound"
    customer: str = ""  # Uniqueid of the customer's leg
    agent_leg: str = ""  # Uniqueid of the agent leg the customer talks to
    agent: str = ""
    ringing: dict[str, str] = field(default_factory=dict)  # ringing leg → extension
    rejected: set[str] = field(default_factory=set)
    not_answered_reported: str = ""
    answered: bool = False
    held: bool = False
    dial_status: str = ""
    hangup_by: str = ""
    last: tuple[str, str, str] = ("", "", "")


class Translator:
    """Turns a stream of AMI frames into CallEvents; one instance per bridge process."""

    def __init__(
        self,
        *,
        is_queue_number: Callable[[str], bool] = lambda number: False,
        originate_prefix: str = ORIGINATE_PREFIX,
    ) -> None:
        self.is_queue_number = is_queue_number
        self.originate_prefix = originate_prefix
        self.calls: dict[str, _Call] = {}
        self.owner: dict[str, str] = {}  # Uniqueid of a leg → call id
        self.consults: dict[str, _Consult] = {}  # Uniqueid of a consult leg → consult
        self.bridges: dict[str, set[str]] = {}
        self.out: list[CallEvent] = []

    # -- entry point -----------------------------------------------------------------------

    def translate(self, frame: Frame) -> list[CallEvent]:
        """The CallEvents one AMI event means (usually none or one)."""
        name = frame.event
        if name == "UserEvent":
            handler = self._USER_EVENTS.get(frame.get("UserEvent"))
        else:
            handler = self._EVENTS.get(name)
        if handler is None:
            return []
        self.out = []
        try:
            handler(self, frame)
        except (KeyError, ValueError) as exc:
            logger.warning("could not translate AMI %s event: %s", name, exc)
        return self.out

    def live_call_ids(self) -> list[str]:
        return list(self.calls)

    def reconcile(self, *, live_uniqueids: set[str]) -> list[CallEvent]:
        """After a reconnect: end the calls whose legs Asterisk no longer has."""
        self.out = []
        for call in list(self.calls.values()):
            root = call.customer or call.agent_leg or call.call_id
            if root in live_uniqueids or call.call_id in live_uniqueids:
                continue
            self._emit(
                call,
                "ended",
                reason="the call ended while the CTI bridge was disconnected",
                at=timezone.now(),
            )
            self._forget(call)
        for leg, consult in list(self.consults.items()):
            if leg not in live_uniqueids and consult.target_leg not in live_uniqueids:
                self._end_consult(consult, "the call ended while the CTI bridge was disconnected")
        self.bridges.clear()
        return self.out

    # -- helpers ---------------------------------------------------------------------------

    def _at(self, frame: Frame) -> datetime:
        stamp = frame.get("Timestamp")
        if stamp:
            try:
                return datetime.fromtimestamp(float(stamp), tz=UTC)
            except (ValueError, OverflowError):
                pass
        return timezone.now()

    def _call_of(self, frame: Frame, prefix: str = "") -> _Call | None:
        uniqueid = frame.get(f"{prefix}Uniqueid")
        call_id = self.owner.get(uniqueid) or frame.get(f"{prefix}Linkedid")
        return self.calls.get(call_id) if call_id else None

    def _emit(
        self,
        call: _Call,
        kind: CallEventKind,
        *,
        at: datetime,
        agent: str = "",
        queue: str = "",
        reason: str = "",
        ani: str = "",
        dnis: str = "",
    ) -> None:
        key = (kind, agent, queue)
        if key == call.last and kind != "offered":
            return  # the same news twice in a row (e.g. Hold and our own hold event)
        call.last = key
        self.out.append(
            CallEvent(
                kind=kind,
                call_id=call.call_id,
                ani=ani,
                dnis=dnis,
                queue=queue,
                agent=agent,
                reason=reason,
                at=at,
            )
        )

    def _emit_consult(
        self, consult: _Consult, kind: CallEventKind, *, at: datetime, reason: str = ""
    ) -> None:
        self.out.append(
            CallEvent(
                kind=kind,
                call_id=consult.consult_id,
                agent=consult.target,
                reason=reason,
                at=at,
            )
        )

    def _end_consult(self, consult: _Consult, reason: str, at: datetime | None = None) -> None:
        if not consult.ended:
            consult.ended = True
            self._emit_consult(consult, "ended", at=at or timezone.now(), reason=reason)
        self.consults.pop(consult.agent_leg, None)
        self.consults.pop(consult.target_leg, None)

    def _forget(self, call: _Call) -> None:
        self.calls.pop(call.call_id, None)
        for leg in [leg for leg, owner in self.owner.items() if owner == call.call_id]:
            del self.owner[leg]

    def _transfer_target(self, call: _Call, target: str, at: datetime) -> None:
        call.held = False
        call.agent_leg = ""
        call.answered = True
        if self.is_queue_number(target):
            self._emit(call, "transferred", queue=target, reason="blind transfer", at=at)
        else:
            self._emit(call, "transferred", agent=target, reason="blind transfer", at=at)

    # -- offered ---------------------------------------------------------------------------

    def _offered(self, frame: Frame, *, queue: str, dnis: str) -> None:
        call_id = frame.get("Linkedid") or frame.get("Uniqueid")
        if not call_id:
            raise ValueError("event without Linkedid")
        if call_id in self.calls:
            return  # back in the waiting room after a transfer to a queue: not a new call
        call = _Call(call_id=call_id, direction="inbound", customer=frame.get("Uniqueid"))
        self.calls[call_id] = call
        self.owner[call.customer] = call_id
        self._emit(
            call,
            "offered",
            ani=_number(frame.get("CallerIDNum")),
            dnis=dnis,
            queue=queue,
            at=self._at(frame),
        )

    def _on_user_queue(self, frame: Frame) -> None:
        self._offered(
            frame,
            queue=frame.get("Queue"),
            dnis=frame.get("Dnis") or frame.get("Exten"),
        )

    def _on_queue_caller_join(self, frame: Frame) -> None:
        self._offered(frame, queue=frame.get("Queue"), dnis=frame.get("Exten"))

    # -- ringing, answered, not answered ---------------------------------------------------

    def _on_dial_begin(self, frame: Frame) -> None:
        caller, callee = frame.get("Uniqueid"), frame.get("DestUniqueid")
        at = self._at(frame)
        consult = self.consults.get(caller)
        if consult is not None:
            consult.target_leg = callee
            self.consults[callee] = consult
            self._emit_consult(consult, "ringing", at=at)
            return
        call = self._call_of(frame)
        if call is None:
            if caller.startswith(self.originate_prefix):
                # Click-to-dial: the agent's phone answered and now dials the customer.
                call = _Call(
                    call_id=caller,
                    direction="outbound",
                    agent_leg=caller,
                    agent=extension_of(frame.get("Channel")),
                    customer=callee,
                )
                self.calls[caller] = call
                self.owner[caller] = caller
                self.owner[callee] = caller
            return
        if call.direction == "outbound":
            if caller == call.agent_leg:
                call.customer = callee
                self.owner[callee] = call.call_id
            return
        if caller != call.customer:
            return
        extension = extension_of(frame.get("DestChannel")) or frame.get("DestExten")
        call.ringing[callee] = extension
        self.owner[callee] = call.call_id
        self._emit(call, "ringing", agent=extension, at=at)

    def _on_dial_end(self, frame: Frame) -> None:
        caller, callee = frame.get("Uniqueid"), frame.get("DestUniqueid")
        status = frame.get("DialStatus").upper()
        at = self._at(frame)
        consult = self.consults.get(caller)
        if consult is not None:
            if status == "ANSWER":
                consult.answered = True
                self._emit_consult(consult, "answered", at=at)
            else:
                self._end_consult(consult, NOT_ANSWERED_REASONS.get(status, status.lower()), at)
            return
        call = self._call_of(frame)
        if call is None:
            return
        if call.direction == "outbound":
            if status == "ANSWER":
                call.answered = True
                self._emit(call, "answered", agent=call.agent, at=at)
            else:
                call.dial_status = status
            return
        if caller != call.customer:
            return
        extension = call.ringing.pop(callee, "") or extension_of(frame.get("DestChannel"))
        if status == "ANSWER":
            call.answered = True
            call.held = False
            call.agent_leg = callee
            call.agent = extension
            self._emit(call, "answered", agent=extension, at=at)
        elif status == "CANCEL" or not status:
            return  # the caller hung up while it rang: their Hangup ends the call
        else:
            reason = (
                "rejected"
                if callee in call.rejected
                else NOT_ANSWERED_REASONS.get(status, status.lower())
            )
            call.not_answered_reported = extension
            self.owner.pop(callee, None)
            self._emit(call, "not_answered", agent=extension, reason=reason, at=at)

    def _on_user_not_answered(self, frame: Frame) -> None:
        # The dialplan reports every failed ring, also when no phone channel could be
        # created (unregistered phone): then there was no DialBegin/DialEnd.
        call = self._call_of(frame)
        if call is None or call.direction != "inbound":
            return
        extension = frame.get("Agent")
        status = frame.get("Status").upper()
        if call.not_answered_reported == extension:
            call.not_answered_reported = ""
            return
        if status in {"", "ANSWER", "CANCEL"}:
            return
        reason = NOT_ANSWERED_REASONS.get(status, status.lower())
        self._emit(call, "not_answered", agent=extension, reason=reason, at=self._at(frame))

    def _on_hangup_request(self, frame: Frame) -> None:
        uniqueid = frame.get("Uniqueid")
        call = self._call_of(frame)
        if call is None:
            return
        if frame.get("Cause") == CAUSE_CALL_REJECTED and uniqueid in call.ringing:
            call.rejected.add(uniqueid)
            return
        if call.hangup_by:
            return
        if uniqueid == call.customer:
            call.hangup_by = "customer"
        elif uniqueid == call.agent_leg:
            call.hangup_by = "agent"

    # -- hold ------------------------------------------------------------------------------

    def _on_hold(self, frame: Frame) -> None:
        # The agent's phone put the customer on hold (a customer's own hold is not ours).
        call = self._call_of(frame)
        if call is not None and frame.get("Uniqueid") == call.agent_leg:
            self._held(call, frame)

    def _on_unhold(self, frame: Frame) -> None:
        call = self._call_of(frame)
        if call is not None and call.held and frame.get("Uniqueid") == call.agent_leg:
            call.held = False
            self._emit(call, "retrieved", at=self._at(frame))

    def _on_user_hold(self, frame: Frame) -> None:
        # The customer entered icenter-hold (hold or a consultation started from icenter).
        call = self._call_of(frame)
        if call is not None and frame.get("Uniqueid") == call.customer:
            self._held(call, frame)

    def _held(self, call: _Call, frame: Frame) -> None:
        if call.answered and not call.held:
            call.held = True
            self._emit(call, "held", at=self._at(frame))

    # -- bridges: retrieve after hold, completion of a consultation -------------------------

    def _on_bridge_enter(self, frame: Frame) -> None:
        bridge, uniqueid = frame.get("BridgeUniqueid"), frame.get("Uniqueid")
        members = self.bridges.setdefault(bridge, set())
        members.add(uniqueid)
        for call_id in {self.owner.get(member, "") for member in members}:
            call = self.calls.get(call_id)
            if call is None or not call.held or call.customer not in members:
                continue
            others = members - {call.customer}
            if not others:
                continue
            at = self._at(frame)
            consult = next(
                (self.consults[o] for o in others if o in self.consults),
                None,
            )
            if consult is not None and consult.call_id == call.call_id:
                # The customer now talks to the consulted party: the transfer is complete.
                call.held = False
                call.agent_leg = consult.target_leg
                call.agent = consult.target
                self.owner[consult.target_leg] = call.call_id
                self._emit(call, "transferred", agent=consult.target, reason="consultation", at=at)
                self._end_consult(consult, "transferred", at)
            elif call.agent_leg in others:
                call.held = False
                self._emit(call, "retrieved", at=at)

    def _on_bridge_leave(self, frame: Frame) -> None:
        members = self.bridges.get(frame.get("BridgeUniqueid"))
        if members is not None:
            members.discard(frame.get("Uniqueid"))
            if not members:
                self.bridges.pop(frame.get("BridgeUniqueid"), None)

    # -- transfers -------------------------------------------------------------------------

    def _on_blind_transfer(self, frame: Frame) -> None:
        if frame.get("Result").lower() != "success":
            return
        call = self._call_of(frame, "Transferee")
        if call is not None:
            self._transfer_target(call, frame.get("Extension"), self._at(frame))

    def _on_user_transfer(self, frame: Frame) -> None:
        call = self._call_of(frame)
        if call is not None:
            self._transfer_target(call, frame.get("Target"), self._at(frame))

    def _on_attended_transfer(self, frame: Frame) -> None:
        if frame.get("Result").lower() != "success":
            return
        call = self._call_of(frame, "Transferee")
        if call is None:
            return
        target_leg = frame.get("TransferTargetUniqueid")
        target = extension_of(frame.get("TransferTargetChannel"))
        at = self._at(frame)
        call.held = False
        call.agent_leg = target_leg
        call.agent = target
        if target_leg:
            self.owner[target_leg] = call.call_id
        self._emit(call, "transferred", agent=target, reason="attended transfer", at=at)
        consult = self.consults.get(target_leg)
        if consult is not None:
            self._end_consult(consult, "transferred", at)

    def _on_user_consult(self, frame: Frame) -> None:
        consult_id = frame.get("ConsultId")
        call = self._call_of(frame)
        if not consult_id or call is None:
            return
        leg = frame.get("Uniqueid")
        self.consults[leg] = _Consult(
            consult_id=consult_id, call_id=call.call_id, agent_leg=leg, target=frame.get("Target")
        )

    def _on_user_consult_ended(self, frame: Frame) -> None:
        consult = self.consults.get(frame.get("Uniqueid"))
        if consult is not None and not consult.answered:
            status = frame.get("Status").upper()
            self._end_consult(
                consult, NOT_ANSWERED_REASONS.get(status, status.lower()), self._at(frame)
            )

    # -- the end ---------------------------------------------------------------------------

    def _on_hangup(self, frame: Frame) -> None:
        uniqueid = frame.get("Uniqueid")
        at = self._at(frame)
        consult = self.consults.get(uniqueid)
        if consult is not None:
            self._end_consult(consult, "hung up", at)
        call = self._call_of(frame)
        if call is None:
            return
        is_end = uniqueid == call.customer or (
            call.direction == "outbound" and uniqueid == call.call_id
        )
        if not is_end:
            call.ringing.pop(uniqueid, None)
            return
        self._emit(call, "ended", reason=self._end_reason(call, frame), at=at)
        self._forget(call)

    def _end_reason(self, call: _Call, frame: Frame) -> str:
        if call.direction == "outbound" and not call.answered and call.dial_status:
            status = call.dial_status
            return NOT_ANSWERED_REASONS.get(status, status.lower())
        if call.hangup_by == "customer":
            return "caller hung up" if call.direction == "inbound" else "customer hung up"
        if call.hangup_by == "agent":
            return "agent hung up"
        return (frame.get("Cause-txt") or "hung up").lower()

    _EVENTS: dict[str, Callable[[Translator, Frame], None]] = {
        "QueueCallerJoin": _on_queue_caller_join,
        "DialBegin": _on_dial_begin,
        "DialEnd": _on_dial_end,
        "HangupRequest": _on_hangup_request,
        "SoftHangupRequest": _on_hangup_request,
        "Hold": _on_hold,
        "Unhold": _on_unhold,
        "BridgeEnter": _on_bridge_enter,
        "BridgeLeave": _on_bridge_leave,
        "BlindTransfer": _on_blind_transfer,
        "AttendedTransfer": _on_attended_transfer,
        "Hangup": _on_hangup,
    }
    _USER_EVENTS: dict[str, Callable[[Translator, Frame], None]] = {
        "IcenterQueue": _on_user_queue,
        "IcenterNotAnswered": _on_user_not_answered,
        "IcenterHold": _on_user_hold,
        "IcenterTransfer": _on_user_transfer,
        "IcenterConsult": _on_user_consult,
        "IcenterConsultEnded": _on_user_consult_ended,
    }
