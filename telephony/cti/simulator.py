"""The embedded PBX simulator: the default adapter for `make run`, demos, tests and benchmarks.

It has no telephone lines; every command it receives is answered with the CallEvents a real
PBX would send, handed straight to the telephony services. Its "phones" are the desks: an
agent's phone rings when the desk pops, and the simulated customer answers outbound calls
at once.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from telephony.cti.base import CallEvent, CtiAdapter


def _emit(event: CallEvent) -> None:
    from telephony import services

    services.call_event_handle(event=event)


def _new_id() -> str:
    return f"sim-{uuid.uuid4().hex}"


class SimulatorAdapter(CtiAdapter):
    name = "simulator"

    def place_inbound_call(self, *, ani: str, dnis: str, agent: str = "") -> str:
        """A customer dials `dnis`; returns the simulated call id."""
        call_id = _new_id()
        _emit(CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis, agent=agent))
        return call_id

    def customer_hangs_up(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="ended", call_id=call_id, reason="caller hung up"))

    def originate(self, *, extension: str, number: str) -> str:
        """The agent's desk is the phone; the simulated customer answers once the call exists."""
        call_id = _new_id()
        transaction.on_commit(
            lambda: _emit(CallEvent(kind="answered", call_id=call_id, agent=extension))
        )
        return call_id

    def deliver(self, *, call_id: str, extension: str) -> None:
        """The desk pop is the simulated phone ringing: nothing more to do."""

    def answer(self, *, call_id: str, extension: str) -> None:
        _emit(CallEvent(kind="answered", call_id=call_id, agent=extension))

    def reject(self, *, call_id: str, extension: str) -> None:
        _emit(CallEvent(kind="not_answered", call_id=call_id, agent=extension, reason="rejected"))

    def hangup(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="ended", call_id=call_id, reason="agent hung up"))

    def hold(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="held", call_id=call_id))

    def retrieve(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="retrieved", call_id=call_id))

    def transfer_blind(self, *, call_id: str, target: str) -> None:
        from telephony.models import Agent

        if Agent.objects.filter(extension=target).exists():
            _emit(CallEvent(kind="transferred", call_id=call_id, agent=target, reason="blind"))
        else:
            _emit(CallEvent(kind="transferred", call_id=call_id, queue=target, reason="blind"))

    def consult_start(self, *, call_id: str, extension: str, target: str) -> str:
        """Hold the customer; the consult call itself is recorded by the telephony service."""
        _emit(CallEvent(kind="held", call_id=call_id))
        return _new_id()

    def consult_complete(self, *, call_id: str, consult_call_id: str) -> None:
        from telephony.models import Call

        consult = Call.objects.select_related("agent").get(call_id=consult_call_id)
        target = consult.agent.extension if consult.agent else ""
        _emit(CallEvent(kind="transferred", call_id=call_id, agent=target, reason="consultative"))

    def consult_cancel(self, *, call_id: str, consult_call_id: str) -> None:
        _emit(CallEvent(kind="ended", call_id=consult_call_id, reason="consultation ended"))
        _emit(CallEvent(kind="retrieved", call_id=call_id))

    def set_agent_state(self, *, extension: str, state: str) -> None:
        """The simulator keeps no per-extension state."""
