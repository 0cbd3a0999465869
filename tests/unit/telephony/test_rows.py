"""rows_save: the rows of one routing step written together, with what `save` would check."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from telephony.models import Agent, AgentStateChange, Call, WorkItem
from telephony.rows import rows_save

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["as the database allows", "row by row"])
def way(request, monkeypatch):
    if request.param == "row by row":
        monkeypatch.setattr(connection, "vendor", "other")
    return request.param


def test_updates_and_new_rows_are_stored_as_save_would_store_them(agent, other_agent, way):
    item = WorkItem.objects.create(channel=WorkItem.Channel.CALLBACK, number="+49301234567")
    when = timezone.now() - timedelta(minutes=3)
    item.status, item.agent, item.offered_at = WorkItem.Status.OFFERED, agent, when
    agent.state, agent.state_since, agent.wrap_up_until = Agent.State.RINGING, when, None
    other_agent.state_reason = "pause"
    rows_save(
        updates=[
            (item, ["status", "agent", "offered_at"]),
            (agent, ["state", "state_since", "wrap_up_until"]),
            (other_agent, ["state_reason"]),
        ],
        inserts=[
            AgentStateChange(agent=agent, state="ringing", previous_state="ready", at=when),
            AgentStateChange(agent=other_agent, state="ready", previous_state="not_ready"),
        ],
    )
    item.refresh_from_db()
    assert (item.status, item.agent, item.offered_at) == (WorkItem.Status.OFFERED, agent, when)
    agent.refresh_from_db()
    assert (agent.state, agent.state_since) == (Agent.State.RINGING, when)
    assert Agent.objects.get(pk=other_agent.pk).state_reason == "pause"
    assert sorted(AgentStateChange.objects.values_list("agent", "state", "previous_state")) == [
        (agent.pk, "ringing", "ready"),
        (other_agent.pk, "ready", "not_ready"),
    ]


def test_on_postgresql_they_take_one_statement(agent, django_assert_num_queries):
    if connection.vendor != "postgresql":
        pytest.skip("other databases write row by row")
    agent.state_reason = "lunch"
    with django_assert_num_queries(1):
        rows_save(
            updates=[(agent, ["state_reason"])],
            inserts=[AgentStateChange(agent=agent, state="not_ready", previous_state="ready")],
        )
    assert AgentStateChange.objects.filter(agent=agent).count() == 1


def test_a_row_that_is_gone_is_an_error_as_with_save(agent, way):
    gone = Call(pk=987654, status=Call.Status.ENDED)
    agent.state_reason = "lunch"
    with pytest.raises(DatabaseError):
        rows_save(updates=[(agent, ["state_reason"]), (gone, ["status"])])


def test_nothing_to_write_writes_nothing(agent, django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_save(updates=[(agent, [])], inserts=[])
