"""Pushes go out after commit, in order, once per transaction; rolled-back work sends nothing.

A channel layer other than the in-memory one (channels-redis) gets its batches through one
background sender per process; `push.flush()` waits for it.
"""

import threading

import pytest
from django.db import transaction

from icenter.desk import push

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingLayer:
    def __init__(self, failing=()):
        self.sent = []
        self.failing = set(failing)
        self.threads = set()

    async def group_send(self, group, message):
        self.threads.add(threading.current_thread().name)
        if group in self.failing:
            raise ConnectionError("layer unreachable")
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
        assert push.flush()
        assert layer.sent == []
    assert push.flush()
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
    assert push.flush()
    assert layer.sent == [("agent.1", "agent.state", 1), ("agent.1", "call.ended", 7)]


def test_a_rolled_back_transaction_sends_nothing(layer):
    with pytest.raises(RuntimeError), transaction.atomic():
        push.publish(kind="agent.state", id=1, groups=["agent.1"])
        raise RuntimeError("refused")
    assert push.flush()
    assert layer.sent == []


def test_many_transactions_reach_the_layer_in_commit_order_from_one_sender_thread(
    layer, monkeypatch
):
    def no_thread_per_transaction(*args, **kwargs):
        raise AssertionError("async_to_sync starts a thread and an event loop per call")

    monkeypatch.setattr(push, "async_to_sync", no_thread_per_transaction)
    for n in range(50):
        with transaction.atomic():
            push.publish(kind="agent.state", id=n, groups=["agent.1"])
            push.publish(kind="call.offered", id=n, groups=["agent.1"])
    assert push.flush()
    expected = []
    for n in range(50):
        expected += [("agent.1", "agent.state", n), ("agent.1", "call.offered", n)]
    assert layer.sent == expected
    assert layer.threads == {"desk-push"}


def test_a_group_the_layer_cannot_reach_does_not_stop_the_other_pushes(monkeypatch, caplog):
    layer = RecordingLayer(failing={"supervisors"})
    monkeypatch.setattr(push, "get_channel_layer", lambda: layer)
    with transaction.atomic():
        push.publish(kind="agent.state", id=1, groups=["supervisors", "agent.1"])
    with transaction.atomic():
        push.publish(kind="call.offered", id=7, groups=["agent.1"])
    assert push.flush()
    assert layer.sent == [("agent.1", "agent.state", 1), ("agent.1", "call.offered", 7)]
    assert "could not push agent.state 1 to supervisors" in caplog.text


def test_a_sender_inherited_from_a_parent_process_is_replaced(layer, monkeypatch):
    with transaction.atomic():
        push.publish(kind="agent.state", id=1, groups=["agent.1"])
    assert push.flush()
    inherited = push._sender
    assert inherited is not None
    # As in a forked Celery worker: the object came along, its thread did not.
    monkeypatch.setattr(inherited, "_pid", -1)
    with transaction.atomic():
        push.publish(kind="agent.state", id=2, groups=["agent.1"])
    assert push.flush()
    assert push._sender is not inherited
    assert layer.sent == [("agent.1", "agent.state", 1), ("agent.1", "agent.state", 2)]


def test_the_in_memory_layer_is_sent_to_before_the_service_returns(settings):
    from asgiref.sync import async_to_sync
    from channels.layers import channel_layers, get_channel_layer

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    try:
        layer = get_channel_layer()
        async_to_sync(layer.group_add)("agent.1", "desk-socket")
        with transaction.atomic():
            push.publish(kind="call.offered", id=7, groups=["agent.1"])
        # No flush: the in-memory layer (tests, single-process development) is sent to at once.
        assert layer.channels["desk-socket"].qsize() == 1
    finally:
        channel_layers.backends = {}
