"""What Kamailio's routing question costs the database, and that the answers stay the same."""

import json
from datetime import time

import pytest
from django.db import connection
from django.utils import timezone

from telephony.models import (
    Agent,
    Call,
    CallEventRecord,
    OpeningHours,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db
TOKEN = "test-kamailio-token-0123456789"
ROUTE = "/cti/kamailio/route/"


@pytest.fixture(autouse=True)
def cti_token(settings):
    settings.ICENTER_CTI_TOKEN = TOKEN
    settings.ICENTER_CTI_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def hotline():
    """The hotline 7000, open all day today."""
    queue = QueueFactory(number="7000", busy_announcement="Bitte warten Sie.")
    OpeningHours.objects.create(
        queue=queue, weekday=timezone.localtime().weekday(), opens=time(0), closes=time(23, 59)
    )
    return queue


def ask(client, call_id="k1", dnis="7000"):
    response = client.post(
        ROUTE,
        json.dumps({"call_id": call_id, "ani": "030 1234567", "dnis": dnis}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        REMOTE_ADDR="127.0.0.1",
    )
    assert response.status_code == 200
    return response.json()


def statements(*, postgresql, elsewhere):
    """PostgreSQL writes a decision's rows (and the event record) in one statement each."""
    return postgresql if connection.vendor == "postgresql" else elsewhere


def test_the_first_question_for_a_queue_call_costs_a_dozen_statements(
    client, agent, hotline, django_assert_max_num_queries
):
    # Look for the call; savepoint; the agents among caller, dialled number and named extension;
    # the caller's account; the interaction; the queue with its opening hours; the call; the work
    # item; pick the agent; write item + call + interaction + agent + history; the event record
    # with the webhook subscriptions; release. (Was 21: the call, its work item and agent were
    # read again, the subscriptions and the opening hours had queries of their own, and the
    # dialled number was looked up as an extension twice.)
    with django_assert_max_num_queries(statements(postgresql=12, elsewhere=17)):
        answer = ask(client)
    assert (answer["action"], answer["extension"]) == ("ring", "2001")
    assert Call.objects.get(call_id="k1").status == Call.Status.RINGING


def test_the_first_question_for_a_call_that_must_wait_costs_a_dozen_statements(
    client, agent, hotline, django_assert_max_num_queries
):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    # As above, without the writes of an offer, and with the caller's position in the queue.
    with django_assert_max_num_queries(statements(postgresql=12, elsewhere=13)):
        answer = ask(client)
    assert (answer["action"], answer["position"], answer["announcement"]) == (
        "wait",
        1,
        "Bitte warten Sie.",
    )


def test_a_direct_call_to_an_extension_costs_no_more(client, agent, django_assert_max_num_queries):
    with django_assert_max_num_queries(statements(postgresql=11, elsewhere=16)):
        answer = ask(client, dnis="2001")
    assert (answer["action"], answer["extension"]) == ("ring", "2001")


def test_asking_again_reads_the_call_with_its_agent_and_work_item_at_once(
    client, agent, other_agent, hotline, django_assert_max_num_queries
):
    ask(client)
    with django_assert_max_num_queries(1):
        again = ask(client)
    assert (again["action"], again["extension"]) == ("ring", "2001")
    Agent.objects.update(state=Agent.State.NOT_READY)
    ask(client, call_id="k2")
    with django_assert_max_num_queries(2):  # the call with its item and queue; the position
        waiting = ask(client, call_id="k2")
    assert (waiting["action"], waiting["position"]) == ("wait", 1)
    assert CallEventRecord.objects.filter(call_id="k2").count() == 1


def test_a_closed_queue_still_answers_closed(client, agent):
    queue = QueueFactory(number="7000", closed_announcement="Wir sind ab 8 Uhr da.")
    other_day = (timezone.localtime().weekday() + 1) % 7
    OpeningHours.objects.create(queue=queue, weekday=other_day, opens=time(8), closes=time(18))
    answer = ask(client)
    assert (answer["action"], answer["announcement"]) == ("closed", "Wir sind ab 8 Uhr da.")
    assert Call.objects.get(call_id="k1").status == Call.Status.ENDED
    again = ask(client)
    assert again["action"] == "closed"


def test_the_event_record_and_the_webhook_deliveries_are_written_with_the_route(
    client, agent, hotline
):
    wanted = WebhookSubscription.objects.create(
        name="CRM", url="http://127.0.0.1:9/hook", secret="s", event_kinds=["offered"]
    )
    WebhookSubscription.objects.create(
        name="Reports", url="http://127.0.0.1:9/all", secret="s", event_kinds=[]
    )
    WebhookSubscription.objects.create(
        name="Ends only", url="http://127.0.0.1:9/end", secret="s", event_kinds=["ended"]
    )
    WebhookSubscription.objects.create(
        name="Paused", url="http://127.0.0.1:9/off", secret="s", is_active=False
    )
    ask(client)
    record = CallEventRecord.objects.get(call_id="k1")
    assert (record.kind, record.result) == ("offered", CallEventRecord.Result.APPLIED)
    assert record.payload["dnis"] == "7000"
    deliveries = WebhookDelivery.objects.order_by("subscription__name")
    assert [d.subscription.name for d in deliveries] == ["CRM", "Reports"]
    assert deliveries[0].payload["data"]["call"]["agent_extension"] == "2001"
    # A subscription saved meanwhile (in any process) gets the very next event: no stale cache.
    wanted.event_kinds = ["offered", "answered"]
    wanted.save()
    ask(client, call_id="k2")
    assert WebhookDelivery.objects.filter(subscription=wanted).count() == 2
