"""Write paths for telephony: agent states, the universal queue and calls.

One package, three rooms: `agents` (states, reason codes, wrap-up), `work_items` (the universal
queue and its ACD timers), `calls` (PBX events, the routing hop, call control). Callers import
from here.
"""

from telephony.services.agents import (
    SYSTEM_REASONS,
    agent_force_state,
    agent_login,
    agent_logout,
    agent_set_state,
    agent_wrap_up_expire,
    reason_label,
)
from telephony.services.calls import (
    RouteDecision,
    call_accept,
    call_consult_cancel,
    call_consult_complete,
    call_consult_start,
    call_event_handle,
    call_hangup,
    call_hold,
    call_originate,
    call_reject,
    call_retrieve,
    call_ring_timeout,
    call_route,
    call_transfer_blind,
)
from telephony.services.work_items import (
    acd_tick,
    callback_schedule,
    work_item_accept,
    work_item_create,
    work_item_finish,
    work_item_reject,
    work_item_set_wrap_up_code,
)

__all__ = [
    "SYSTEM_REASONS",
    "RouteDecision",
    "acd_tick",
    "agent_force_state",
    "agent_login",
    "agent_logout",
    "agent_set_state",
    "agent_wrap_up_expire",
    "call_accept",
    "call_consult_cancel",
    "call_consult_complete",
    "call_consult_start",
    "call_event_handle",
    "call_hangup",
    "call_hold",
    "call_originate",
    "call_reject",
    "call_retrieve",
    "call_ring_timeout",
    "call_route",
    "call_transfer_blind",
    "callback_schedule",
    "reason_label",
    "work_item_accept",
    "work_item_create",
    "work_item_finish",
    "work_item_reject",
    "work_item_set_wrap_up_code",
]
