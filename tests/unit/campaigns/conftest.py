"""Fixtures of the call-list tests: a published campaign script, a list the agent's team works."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import CallList, CallListEntry, Campaign
from telephony.models import Agent
from tests.factories import AccountFactory, AgentGroupFactory, PhoneFactory
from tests.unit.scripting.conftest import _fresh_flow_cache, publish  # noqa: F401

STEPS = [
    {
        "key": "hello",
        "kind": "question",
        "answer_type": "yes_no",
        "title": "{campaign.name}",
        "text": "Guten Tag, {account.name}! Sie sind Kunde bei {campaign.code}.",
        "answers": [
            {"value": "yes", "label": "Ja", "next": "thanks"},
            {"value": "no", "label": "Nein", "next": "bye"},
        ],
    },
    {"key": "thanks", "kind": "end", "outcome": "interested", "text": "Danke!"},
    {"key": "bye", "kind": "end", "outcome": "not_interested", "text": "Auf Wiederhören."},
]


@pytest.fixture
def team(agent: Agent) -> Any:
    group = AgentGroupFactory(name="Outbound")
    group.members.add(agent)
    return group


@pytest.fixture
def call_list(team: Any) -> CallList:
    version = publish(STEPS, code="fibre-offer", name="Glasfaser")
    campaign = Campaign.objects.create(
        code="fibre-2026", name="Glasfaser 2026", script=version.script
    )
    call_list = CallList.objects.create(
        campaign=campaign, name="Berlin", max_attempts=2, retry_minutes=60
    )
    call_list.agent_groups.add(team)
    return call_list


def add(call_list: CallList, name: str, *, priority: int = 5, **kwargs: Any) -> CallListEntry:
    account = AccountFactory(name=name)
    phone = PhoneFactory(account=account)
    return CallListEntry.objects.create(
        call_list=call_list,
        account=account,
        phone=phone.normalized,
        priority=priority,
        **kwargs,
    )
