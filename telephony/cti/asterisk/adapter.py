"""Call control on Asterisk over AMI: each command is one short manager session.

Which leg is which is read from Asterisk itself (`CoreShowChannels`) at the moment of the
command, so the adapter keeps no state and any process may send commands. The dialplan
contexts it redirects calls into are documented in deploy/asterisk/README.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from telephony.cti.asterisk.client import (
    AmiConnection,
    AmiSettings,
    Fields,
    check_success,
)
from telephony.cti.asterisk.protocol import Frame
from telephony.cti.asterisk.translate import (
    CAUSE_CALL_REJECTED,
    CONTEXT_CONSULT,
    CONTEXT_DELIVER,
    CONTEXT_HANGUP,
    CONTEXT_HELD_AGENT,
    CONTEXT_HOLD,
    CONTEXT_OUTBOUND,
    CONTEXT_TRANSFER,
    ORIGINATE_PREFIX,
)
from telephony.cti.base import CtiAdapter, CtiError

# What may be dialled or named as an extension: digits, letters, + * # and a few
# separators; never anything that could leave the dialplan (no / , ; @ or line breaks).
_DIALABLE = re.compile(r"^[A-Za-z0-9+*#_.-]{1,40}$")
_CALL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,150}$")


def _dialable(value: str, what: str) -> str:
    value = (value or "").strip()
    if not _DIALABLE.match(value):
        raise CtiError(f"{what} {value!r} cannot be dialled on Asterisk")
    return value


def _call_id(value: str) -> str:
    if not _CALL_ID.match(value or ""):
        raise CtiError(f"{value!r} is not an Asterisk call id")
    return value


@dataclass(frozen=True)
class Leg:
    """One channel of a call as CoreShowChannels lists it."""

    channel: str
    uniqueid: str
    linkedid: str
    bridge_id: str
    context: str
    state: str

    @classmethod
    def from_frame(cls, frame: Frame) -> Leg:
        return cls(
            channel=frame.get("Channel"),
            uniqueid=frame.get("Uniqueid"),
            linkedid=frame.get("Linkedid"),
            bridge_id=frame.get("BridgeId"),
            context=frame.get("Context"),
            state=frame.get("ChannelStateDesc"),
        )


def ami_settings() -> AmiSettings:
    return AmiSettings(
        host=settings.ICENTER_ASTERISK_HOST,
        port=settings.ICENTER_ASTERISK_PORT,
        username=settings.ICENTER_ASTERISK_USER,
        secret=settings.ICENTER_ASTERISK_SECRET,
    )


class AsteriskAdapter(CtiAdapter):
    name = "asterisk"
    technology = "PJSIP"

    def __init__(self, ami: AmiSettings | None = None) -> None:
        self._ami = ami

    # -- sessions --------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[AmiConnection]:
        connection = AmiConnection(self._ami or ami_settings())
        connection.connect()
        try:
            connection.login(events="off")
            yield connection
        finally:
            connection.logoff()

    def _action(self, connection: AmiConnection, action: str, fields: Fields) -> Frame:
        return check_success(connection.request(action, list(fields)), action)

    def legs(self, connection: AmiConnection, call_id: str) -> list[Leg]:
        """The live channels of a call (its Linkedid, or the channel with that Uniqueid)."""
        response, items = connection.request_list("CoreShowChannels")
        check_success(response, "CoreShowChannels")
        legs = [Leg.from_frame(item) for item in items if item.event == "CoreShowChannel"]
        return [leg for leg in legs if call_id in (leg.linkedid, leg.uniqueid)]

    def _customer_and_agent(self, legs: list[Leg], call_id: str) -> tuple[Leg, Leg | None]:
        """The customer's leg and the agent leg connected to (or holding) it."""
        if call_id.startswith(ORIGINATE_PREFIX):
            agent = next((leg for leg in legs if leg.uniqueid == call_id), None)
            customer = next((leg for leg in legs if leg.uniqueid != call_id), None)
        else:
            customer = next((leg for leg in legs if leg.uniqueid == call_id), None)
            agent = None
        if customer is None:
            raise CtiError("Asterisk has no such call (it may have ended)")
        if agent is None:
            others = [leg for leg in legs if leg.uniqueid != customer.uniqueid]
            agent = next(
                (
                    leg
                    for leg in others
                    if customer.bridge_id and leg.bridge_id == customer.bridge_id
                ),
                None,
            ) or next(
                (leg for leg in others if leg.context in {CONTEXT_HELD_AGENT, CONTEXT_CONSULT}),
                None,
            )
        return customer, agent

    def _redirect(
        self,
        connection: AmiConnection,
        leg: Leg,
        context: str,
        exten: str,
        extra: tuple[Leg, str, str] | None = None,
    ) -> None:
        fields = [
            ("Channel", leg.channel),
            ("Context", context),
            ("Exten", exten),
            ("Priority", "1"),
        ]
        if extra is not None:
            extra_leg, extra_context, extra_exten = extra
            fields += [
                ("ExtraChannel", extra_leg.channel),
                ("ExtraContext", extra_context),
                ("ExtraExten", extra_exten),
                ("ExtraPriority", "1"),
            ]
        self._action(connection, "Redirect", fields)

    # -- the contract ----------------------------------------------------------------------

    def originate(self, *, extension: str, number: str) -> str:
        extension = _dialable(extension, "extension")
        number = _dialable(number, "number")
        call_id = f"{ORIGINATE_PREFIX}{uuid.uuid4().hex}"
        with self.session() as connection:
            self._action(
                connection,
                "Originate",
                [
                    ("Channel", f"{self.technology}/{extension}"),
                    ("Context", CONTEXT_OUTBOUND),
                    ("Exten", number),
                    ("Priority", "1"),
                    ("CallerID", f'"{number}" <{number}>'),
                    ("Timeout", "30000"),
                    ("Async", "true"),
                    ("ChannelId", call_id),
                    ("Variable", f"ICENTER_AGENT={extension}"),
                ],
            )
        return call_id

    def deliver(self, *, call_id: str, extension: str) -> None:
        extension = _dialable(extension, "extension")
        with self.session() as connection:
            customer, _agent = self._customer_and_agent(
                self.legs(connection, _call_id(call_id)), call_id
            )
            self._redirect(connection, customer, CONTEXT_DELIVER, extension)

    def answer(self, *, call_id: str, extension: str) -> None:
        # Asterisk cannot lift a handset; phones that accept the "talk" event answer on it.
        extension = _dialable(extension, "extension")
        _call_id(call_id)
        with self.session() as connection:
            self._action(
                connection, "PJSIPNotify", [("Endpoint", extension), ("Variable", "Event=talk")]
            )

    def hangup(self, *, call_id: str) -> None:
        with self.session() as connection:
            legs = self.legs(connection, _call_id(call_id))
            if not legs:
                raise CtiError("Asterisk has no such call (it may have ended)")
            # The customer's leg first: that ends the call as the customer hears it.
            legs.sort(key=lambda leg: leg.uniqueid != call_id)
            for leg in legs:
                response = connection.request("Hangup", [("Channel", leg.channel)])
                if response.response.lower() != "success" and leg is legs[0]:
                    check_success(response, "Hangup")

    def hold(self, *, call_id: str) -> None:
        with self.session() as connection:
            customer, agent = self._customer_and_agent(
                self.legs(connection, _call_id(call_id)), call_id
            )
            if agent is None or not customer.bridge_id:
                raise CtiError("the call is not connected to an agent; nothing to hold")
            self._redirect(
                connection, customer, CONTEXT_HOLD, "s", extra=(agent, CONTEXT_HELD_AGENT, "s")
            )

    def retrieve(self, *, call_id: str) -> None:
        with self.session() as connection:
            customer, agent = self._customer_and_agent(
                self.legs(connection, _call_id(call_id)), call_id
            )
            if agent is None or customer.context != CONTEXT_HOLD:
                raise CtiError("the call is not on hold")
            self._bridge(connection, customer, agent)

    def _bridge(self, connection: AmiConnection, first: Leg, second: Leg) -> None:
        self._action(
            connection,
            "Bridge",
            [("Channel1", first.channel), ("Channel2", second.channel), ("Tone", "no")],
        )

    def reject(self, *, call_id: str, extension: str) -> None:
        extension = _dialable(extension, "extension")
        prefix = f"{self.technology}/{extension}-"
        with self.session() as connection:
            ringing = [
                leg
                for leg in self.legs(connection, _call_id(call_id))
                if leg.channel.startswith(prefix) and leg.state != "Up"
            ]
            if not ringing:
                raise CtiError(f"extension {extension} is not ringing for this call")
            for leg in ringing:
                self._action(
                    connection,
                    "Hangup",
                    [("Channel", leg.channel), ("Cause", CAUSE_CALL_REJECTED)],
                )

    def transfer_blind(self, *, call_id: str, target: str) -> None:
        target = _dialable(target, "transfer target")
        with self.session() as connection:
            customer, agent = self._customer_and_agent(
                self.legs(connection, _call_id(call_id)), call_id
            )
            # The customer goes to the target; the agent's leg is hung up by the dialplan.
            extra = (agent, CONTEXT_HANGUP, "s") if agent is not None else None
            self._redirect(connection, customer, CONTEXT_TRANSFER, target, extra=extra)

    def consult_start(self, *, call_id: str, extension: str, target: str) -> str:
        extension = _dialable(extension, "extension")
        target = _dialable(target, "consultation target")
        consult_id = f"{ORIGINATE_PREFIX}consult-{uuid.uuid4().hex}"
        with self.session() as connection:
            customer, agent = self._customer_and_agent(
                self.legs(connection, _call_id(call_id)), call_id
            )
            if agent is None:
                raise CtiError("the call is not connected to an agent; nothing to consult")
            self._action(
                connection,
                "Setvar",
                [
                    ("Channel", agent.channel),
                    ("Variable", "ICENTER_CONSULT_ID"),
                    ("Value", consult_id),
                ],
            )
            if customer.context == CONTEXT_HOLD:
                self._redirect(connection, agent, CONTEXT_CONSULT, target)
            else:
                self._redirect(
                    connection, customer, CONTEXT_HOLD, "s", extra=(agent, CONTEXT_CONSULT, target)
                )
        return consult_id

    def _consult_legs(self, connection: AmiConnection, call_id: str) -> tuple[Leg, Leg, Leg | None]:
        legs = self.legs(connection, _call_id(call_id))
        customer, agent = self._customer_and_agent(legs, call_id)
        if agent is None or agent.context != CONTEXT_CONSULT:
            raise CtiError("there is no consultation for this call")
        target = next(
            (
                leg
                for leg in legs
                if leg.uniqueid not in {customer.uniqueid, agent.uniqueid}
                and ((agent.bridge_id and leg.bridge_id == agent.bridge_id) or not leg.bridge_id)
            ),
            None,
        )
        return customer, agent, target

    def consult_complete(self, *, call_id: str, consult_call_id: str) -> None:
        _call_id(consult_call_id)
        with self.session() as connection:
            customer, agent, target = self._consult_legs(connection, call_id)
            if target is None or target.state != "Up" or not target.bridge_id:
                raise CtiError("the consulted party has not answered yet")
            self._bridge(connection, customer, target)
            self._action(connection, "Hangup", [("Channel", agent.channel)])

    def consult_cancel(self, *, call_id: str, consult_call_id: str) -> None:
        _call_id(consult_call_id)
        with self.session() as connection:
            customer, agent, target = self._consult_legs(connection, call_id)
            if target is not None:
                connection.request("Hangup", [("Channel", target.channel)])
            self._bridge(connection, customer, agent)

    def set_agent_state(self, *, extension: str, state: str) -> None:
        # Kept in AstDB so the dialplan can, e.g., send direct calls of absent agents to
        # voicemail: ${DB(icenter-agent/2001)}.
        extension = _dialable(extension, "extension")
        if not re.fullmatch(r"[a-z_]{1,20}", state):
            raise CtiError(f"unknown agent state {state!r}")
        with self.session() as connection:
            self._action(
                connection,
                "DBPut",
                [("Family", "icenter-agent"), ("Key", extension), ("Val", state)],
            )
