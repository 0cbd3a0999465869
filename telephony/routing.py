"""Which agent gets a call. The telephony issue grows this into full ACD with skills."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from accounts.models import Account
from telephony.models import Agent


def _ready_agents() -> QuerySet[Agent]:
    queryset = Agent.objects.filter(state=Agent.State.READY)
    if connection.features.has_select_for_update_skip_locked:
        # Two routing workers never pick the same agent: a locked row is skipped.
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def agent_pick_for_call(*, account: Account | None) -> Agent | None:
    """A VIP's assigned agent when ready, otherwise the longest-idle ready agent.

    Call inside a transaction: the chosen agent's row stays locked until commit.
    """
    ready = _ready_agents()
    if account is not None and account.is_vip and account.assigned_agent_id is not None:
        personal = ready.filter(user_id=account.assigned_agent_id).first()
        if personal is not None:
            return personal
    return ready.order_by("state_since", "id").first()
