"""Pushes go out after commit, in order, once per transaction; rolled-back work sends nothing."""

import pytest
from django.db import transaction

from icenter.desk import push

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingLayer:
    def __init__(self):
        self.sent = []

    async def group_send(self, group, message):
        self.sent.append((group, message["kind"], message["id"]))


@pytest.fixture
def layer(monkeypatch):
    recording = RecordingLayer()
    monkeypatch.setattr(push, "get_channel_layer", lambda: recording)
    return recording


def test_events_of_one_transaction_are_sent_after_commit_in_order(layer):
    with transaction.atomic():
        push.publish(kind="agent.state", id=1, groups=["agent.1", "supervisors"])
        transaction.on_commit(lambda: None)  # another callback in between
        push.publish(kind="call.offered", id=7, groups=["agent.1"])
        assert layer.sent == []
    assert layer.sent == [
        ("agent.1", "agent.state", 1),
        ("supervisors", "agent.state", 1),
        ("agent.1", "call.offered", 7),
    ]


def test_a_rolled_back_savepoint_drops_only_its_own_events(layer):
    with transaction.atomic():
        push.publish(kind="agent.state", id=1, groups=["agent.1"])
        try:
            with transaction.atomic():
                push.publish(kind="call.offered", id=7, groups=["agent.1"])
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        push.publish(kind="call.ended", id=7, groups=["agent.1"])
    assert layer.sent == [("agent.1", "agent.state", 1), ("agent.1", "call.ended", 7)]


def test_a_rolled_back_transaction_sends_nothing(layer):
    with pytest.raises(RuntimeError), transaction.atomic():
        push.publish(kind="agent.state", id=1, groups=["agent.1"])
        raise RuntimeError("refused")
    assert layer.sent == []
