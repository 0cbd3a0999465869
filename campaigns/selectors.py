"""Read paths of the call lists: what an agent's desk shows, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from campaigns.models import CallList, CallListEntry
from telephony.models import Agent


@dataclass
class CallListRow:
    call_list: CallList
    due: int
    waiting: int
    in_work: int
    done: int

    @property
    def total(self) -> int:
        return self.due + self.waiting + self.in_work + self.done


def call_list_list_for_agent(*, agent: Agent) -> list[CallListRow]:
    """The active lists of the agent's groups, with how many customers are left to call."""
    now = timezone.now()
    open_ = Q(entries__status=CallListEntry.Status.OPEN)
    due = Q(entries__not_before__isnull=True) | Q(entries__not_before__lte=now)
    lists = (
        CallList.objects.filter(
            is_active=True, campaign__is_active=True, agent_groups__members=agent
        )
        .distinct()
        .select_related("campaign")
        .annotate(
            n_due=Count("entries", filter=open_ & due, distinct=True),
            n_waiting=Count("entries", filter=open_ & ~due, distinct=True),
            n_in_work=Count(
                "entries", filter=Q(entries__status=CallListEntry.Status.IN_WORK), distinct=True
            ),
            n_done=Count(
                "entries",
                filter=Q(
                    entries__status__in=(CallListEntry.Status.DONE, CallListEntry.Status.FAILED)
                ),
                distinct=True,
            ),
        )
        .order_by("campaign__name", "name")
    )
    return [
        CallListRow(
            call_list=row,
            due=row.n_due,
            waiting=row.n_waiting,
            in_work=row.n_in_work,
            done=row.n_done,
        )
        for row in lists
    ]


def entry_in_work_for_agent(*, agent: Agent) -> CallListEntry | None:
    """The customer the agent is working on, with what the desk shows of them."""
    return (
        CallListEntry.objects.select_related(
            "call_list__campaign", "account", "contact", "script_run__version__script"
        )
        .filter(agent=agent, status=CallListEntry.Status.IN_WORK)
        .first()
    )


def entry_get_for_agent(*, agent: Agent, entry_id: int) -> CallListEntry | None:
    return CallListEntry.objects.filter(pk=entry_id, agent=agent).first()


def entry_account_id_for_agent(*, agent: Agent) -> int | None:
    """The account of the customer the agent works on, if any."""
    return (
        CallListEntry.objects.filter(agent=agent, status=CallListEntry.Status.IN_WORK)
        .values_list("account_id", flat=True)
        .first()
    )
