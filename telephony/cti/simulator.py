"""The embedded PBX simulator: the default adapter for `make run`, demos, tests and benchmarks.

It has no telephone lines; every command it receives is answered at once with
the CallEvent a real PBX would send, handed straight to the telephony services.
"""

from __future__ import annotations

import uuid

from telephony.cti.base import CallEvent, CtiAdapter


def _emit(event: CallEvent) -> None:
    from telephony import services

    services.call_event_handle(event=event)


class SimulatorAdapter(CtiAdapter):
    name = "simulator"

    def place_inbound_call(self, *, ani: str, dnis: str, agent: str = "") -> str:
        """A customer dials `dnis`; returns the simulated call id."""
        call_id = f"sim-{uuid.uuid4().hex}"
        _emit(CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis, agent=agent))
        return call_id

    def customer_hangs_up(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="ended", call_id=call_id, reason="caller hung up"))

    def originate(self, *, extension: str, number: str) -> str:
        """Outbound calls are created by the telephony service; the simulator only names them."""
        return f"sim-{uuid.uuid4().hex}"

    def answer(self, *, call_id: str, extension: str) -> None:
        _emit(CallEvent(kind="answered", call_id=call_id, agent=extension))

    def hangup(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="ended", call_id=call_id, reason="agent hung up"))

    def hold(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="held", call_id=call_id))

    def retrieve(self, *, call_id: str) -> None:
        _emit(CallEvent(kind="retrieved", call_id=call_id))

    def set_agent_state(self, *, extension: str, state: str) -> None:
        """The simulator keeps no per-extension state."""
