"""The telephony toolbar and comm-info: reject, transfer, consult, dial, wrap-up, queues."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from telephony import services
from telephony.cti.base import CallEvent
from telephony.models import Agent, Call, WorkItem
from tests.factories import AccountFactory, PhoneFactory, QueueFactory

pytestmark = pytest.mark.django_db
DESK = "/desk/"


def offer(call_id="c1", ani="+49 30 1234567", dnis="7000"):
    return services.call_event_handle(
        event=CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis)
    )


def refreshed(obj):
    obj.refresh_from_db()
    return obj


def test_a_ringing_call_can_be_rejected_from_the_toolbar(desk_client, agent, other_agent):
    Agent.objects.filter(pk=agent.pk).update(state_since=timezone.now() - timedelta(hours=1))
    call = offer()
    page = desk_client.get(DESK).content.decode()
    assert reverse("desk:call_action", args=[call.pk, "reject"]) in page
    desk_client.post(reverse("desk:call_action", args=[call.pk, "reject"]))
    assert refreshed(call).agent == other_agent
    assert refreshed(agent).state == Agent.State.NOT_READY


def test_the_agent_transfers_to_a_colleague_from_the_toolbar(desk_client, agent, other_agent):
    Agent.objects.filter(pk=agent.pk).update(state_since=timezone.now() - timedelta(hours=1))
    call = offer()
    desk_client.post(reverse("desk:call_action", args=[call.pk, "accept"]))
    page = desk_client.get(DESK).content.decode()
    assert f'value="agent:{other_agent.pk}"' in page
    response = desk_client.post(
        reverse("desk:transfer", args=[call.pk]),
        {"target": f"agent:{other_agent.pk}", "mode": "blind"},
    )
    assert response.status_code == 200
    assert refreshed(call).agent == other_agent


def test_a_consultation_shows_complete_and_end_buttons(desk_client, agent, other_agent):
    Agent.objects.filter(pk=agent.pk).update(state_since=timezone.now() - timedelta(hours=1))
    call = offer()
    desk_client.post(reverse("desk:call_action", args=[call.pk, "accept"]))
    desk_client.post(
        reverse("desk:transfer", args=[call.pk]),
        {"target": f"agent:{other_agent.pk}", "mode": "consult"},
    )
    page = desk_client.get(DESK).content.decode()
    assert "Complete transfer" in page and "End consultation" in page
    desk_client.post(reverse("desk:call_action", args=[call.pk, "consult-cancel"]))
    assert refreshed(call).status == Call.Status.TALKING


def test_a_transfer_without_a_target_or_to_a_queue_by_consult_is_refused(desk_client, agent):
    call = offer()
    desk_client.post(reverse("desk:call_action", args=[call.pk, "accept"]))
    response = desk_client.post(reverse("desk:transfer", args=[call.pk]), {"target": ""})
    assert "Choose a colleague or a queue" in response.content.decode()
    queue = QueueFactory(number="7005")
    response = desk_client.post(
        reverse("desk:transfer", args=[call.pk]), {"target": f"queue:{queue.pk}", "mode": "consult"}
    )
    assert "needs a colleague" in response.content.decode()


def test_every_phone_number_on_the_account_card_can_be_dialled(
    desk_client, agent, django_capture_on_commit_callbacks
):
    account = AccountFactory(name="Müller GmbH")
    PhoneFactory(account=account, value="+49 30 1234567")
    page = desk_client.get(DESK, {"account": account.pk}).content.decode()
    assert reverse("desk:dial") in page and 'value="+49301234567"' in page
    with django_capture_on_commit_callbacks(execute=True):
        desk_client.post(reverse("desk:dial"), {"number": "+49301234567"})
    call = Call.objects.get()
    assert call.direction == Call.Direction.OUTBOUND
    assert call.interaction.account == account


def test_dialling_nonsense_is_refused_clearly(desk_client, agent):
    response = desk_client.post(reverse("desk:dial"), {"number": "hello"})
    assert "is not a phone number" in response.content.decode()
    assert not Call.objects.exists()


def test_an_offered_callback_shows_call_now_and_reject(desk_client, agent):
    item = services.callback_schedule(
        number="030 1234567", reason="Tarif erklären", not_before=timezone.now(), agent=agent
    )
    assert refreshed(item).status == WorkItem.Status.OFFERED
    page = desk_client.get(DESK).content.decode()
    assert "Call now" in page and "Tarif erklären" in page
    desk_client.post(reverse("desk:work_item_reject", args=[item.pk]))
    assert refreshed(item).status == WorkItem.Status.QUEUED


def test_during_wrap_up_the_agent_sees_a_countdown_and_saves_a_result(desk_client, agent):
    call = offer()
    desk_client.post(reverse("desk:call_action", args=[call.pk, "accept"]))
    desk_client.post(reverse("desk:call_action", args=[call.pk, "hangup"]))
    page = desk_client.get(DESK).content.decode()
    assert 'class="countdown"' in page
    item = WorkItem.objects.get(call=call)
    response = desk_client.post(reverse("desk:wrap_up_code", args=[item.pk]), {"code": "solved"})
    assert "Wrap-up code saved." in response.content.decode()
    assert refreshed(item).wrap_up_code.code == "solved"


def test_comm_info_shows_waiting_calls_of_the_agents_queues(desk_client, agent):
    QueueFactory(name="Hotline", number="7000")
    agent.state = Agent.State.NOT_READY
    agent.save()
    offer(call_id="a")
    offer(call_id="b")
    page = desk_client.get(DESK).content.decode()
    assert "Hotline" in page and "2 waiting" in page


def test_another_agents_work_item_cannot_be_touched(desk_client, agent, other_agent):
    item = services.callback_schedule(
        number="030 1234567", reason="x", not_before=timezone.now(), agent=other_agent
    )
    response = desk_client.post(reverse("desk:work_item_reject", args=[item.pk]))
    assert "no longer offered to you" in response.content.decode()
    response = desk_client.post(reverse("desk:dial"), {"work_item": item.pk})
    assert "Enter a number" in response.content.decode()
