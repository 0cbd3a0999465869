import pytest
from django.urls import reverse

from accounts.models import Account, Interaction
from telephony import services
from telephony.cti.base import CallEvent
from telephony.models import Agent, Call, NotReadyReason, WorkItem
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, PhoneFactory

pytestmark = pytest.mark.django_db
DESK = "/desk/"


def offer(call_id="c1", ani="+49 30 1234567", dnis="7000"):
    return services.call_event_handle(
        event=CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis)
    )


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(DESK)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_users_without_the_agent_role_get_no_desk(client, outsider_user, manager_user):
    for user in (outsider_user, manager_user):
        client.force_login(user)
        assert client.get(DESK).status_code == 403
        assert client.post(reverse("desk:agent_state"), {"state": "ready"}).status_code == 403


def test_an_agent_profile_without_the_agent_role_gets_no_desk(client, agent):
    agent.user.groups.clear()
    client.force_login(agent.user)
    response = client.get(DESK)
    assert response.status_code == 403
    assert response.templates[0].name == "desk/forbidden.html"
    assert client.post(reverse("desk:agent_state"), {"state": "ready"}).status_code == 403


def test_an_agent_without_a_profile_is_told_so(client, agent):
    user = agent.user
    agent.delete()
    client.force_login(user)
    response = client.get(DESK)
    assert response.status_code == 403
    assert response.templates[0].name == "desk/no_agent.html"


def test_home_sends_agents_to_the_desk_and_managers_to_the_admin(client, agent, manager_user):
    client.force_login(agent.user)
    assert client.get("/")["Location"] == DESK
    client.force_login(manager_user)
    assert client.get("/")["Location"] == "/admin/"


def test_opening_the_desk_logs_a_logged_out_agent_in_as_not_ready(desk_client, agent):
    agent.state = Agent.State.LOGGED_OUT
    agent.save()
    response = desk_client.get(DESK)
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY
    assert b'ws-connect="/ws/desk/"' in response.content


def test_the_desk_shows_the_identified_caller_with_contacts_and_history(desk_client, agent):
    company = AccountFactory(
        name="Müller GmbH", kind="organisation", customer_number="100234", is_vip=True
    )
    PhoneFactory(account=company, value="030 1234567")
    ContactFactory(account=company, first_name="Käthe", last_name="Schröder")
    InteractionFactory(account=company, subject="Router blinkt rot")
    offer()
    html = desk_client.get(DESK).content.decode()
    assert "Müller GmbH" in html
    assert "100234" in html
    assert "Käthe Schröder" in html
    assert "Router blinkt rot" in html
    assert "VIP customer" in html
    assert 'data-call-status="ringing"' in html


def test_the_pop_runs_the_same_number_of_queries_whatever_the_history_size(
    desk_client, agent, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from icenter.desk.rendering import render_panels

    company = AccountFactory(kind="organisation")
    PhoneFactory(account=company, value="030 1234567")
    ContactFactory.create_batch(2, account=company)
    InteractionFactory.create_batch(2, account=company)
    offer(call_id="small")
    with CaptureQueriesContext(connection) as small:
        render_panels(
            agent_id=agent.pk,
            panels=("comm_info", "toolbar", "header", "alerts", "workspace", "notepad"),
            language="en",
        )
    Call.objects.filter(call_id="small").update(status="ended")
    WorkItem.objects.filter(call__call_id="small").update(status="done")
    Agent.objects.filter(pk=agent.pk).update(state="ready")
    ContactFactory.create_batch(20, account=company)
    InteractionFactory.create_batch(300, account=company)
    offer(call_id="large")
    with CaptureQueriesContext(connection) as large:
        html = render_panels(
            agent_id=agent.pk,
            panels=("comm_info", "toolbar", "header", "alerts", "workspace", "notepad"),
            language="en",
        )
    assert 'data-call-id="large"' in html
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 22


def test_accept_hold_and_hang_up_from_the_toolbar(desk_client, agent):
    call = offer(dnis="2001")
    for action in ("accept", "hold", "retrieve", "hangup"):
        response = desk_client.post(reverse("desk:call_action", args=[call.pk, action]))
        assert response.status_code == 200
    call.refresh_from_db()
    agent.refresh_from_db()
    assert call.status == Call.Status.ENDED
    assert agent.state == Agent.State.WRAP_UP


def test_a_refused_action_shows_a_clear_message(desk_client, agent):
    call = offer(dnis="2001")
    response = desk_client.post(reverse("desk:call_action", args=[call.pk, "hangup"]))
    assert b"Only a call in progress can be hung up." in response.content


def test_ready_and_not_ready_with_a_reason_code_the_manager_defined(desk_client, agent):
    NotReadyReason.objects.update_or_create(code="lunch", defaults={"label": "Mittag"})
    response = desk_client.post(reverse("desk:agent_state"), {"state": "not_ready"})
    assert b"Choose a reason for being not ready." in response.content
    desk_client.post(reverse("desk:agent_state"), {"state": "not_ready", "reason": "lunch"})
    agent.refresh_from_db()
    assert (agent.state, agent.state_reason) == ("not_ready", "lunch")
    assert "Mittag" in desk_client.get(DESK).content.decode()
    desk_client.post(reverse("desk:agent_state"), {"state": "ready"})
    agent.refresh_from_db()
    assert agent.state == "ready"
    response = desk_client.post(reverse("desk:agent_state"), {"state": "talking"})
    assert b"Choose ready or not ready." in response.content


def test_the_notepad_autosaves_into_the_interaction_and_survives_a_reload(desk_client, agent):
    call = offer()
    response = desk_client.post(
        reverse("desk:notepad_save"),
        {"interaction": call.interaction_id, "notes": "Kunde meldet: Router blinkt rot"},
    )
    assert b"Saved at" in response.content
    interaction = Interaction.objects.get(pk=call.interaction_id)
    assert interaction.notes == "Kunde meldet: Router blinkt rot"
    assert "Kunde meldet: Router blinkt rot" in desk_client.get(DESK).content.decode()


def test_notes_stay_with_the_interaction_after_the_call(desk_client, agent):
    call = offer()
    desk_client.post(
        reverse("desk:notepad_save"), {"interaction": call.interaction_id, "notes": "erste Notiz"}
    )
    services.call_event_handle(event=CallEvent(kind="ended", call_id="c1"))
    services.agent_set_state(agent=agent, state="ready")
    offer(call_id="c2")
    assert Interaction.objects.get(pk=call.interaction_id).notes == "erste Notiz"


def test_an_agent_cannot_write_into_another_agents_notes(client, agent, other_agent):
    call = offer(dnis="2001")
    client.force_login(other_agent.user)
    response = client.post(
        reverse("desk:notepad_save"), {"interaction": call.interaction_id, "notes": "overwrite"}
    )
    assert b"not yours" in response.content
    assert Interaction.objects.get(pk=call.interaction_id).notes == ""


def test_several_matches_let_the_agent_pick_the_caller(desk_client, agent):
    first = PhoneFactory(value="089 5555000").account
    second = PhoneFactory(value="089 5555000").account
    call = offer(ani="089 5555000")
    html = desk_client.get(DESK).content.decode()
    assert "Who is calling?" in html and first.name in html and second.name in html
    desk_client.post(
        reverse("desk:identify"), {"interaction": call.interaction_id, "account": second.pk}
    )
    assert Interaction.objects.get(pk=call.interaction_id).account == second


def test_an_unknown_caller_gets_a_search_and_a_prefilled_create_form(desk_client, agent):
    call = offer(ani="040 9876543")
    html = desk_client.get(DESK).content.decode()
    assert "Unknown caller" in html
    assert 'value="+49409876543"' in html
    response = desk_client.post(
        reverse("desk:account_create"),
        {
            "interaction": call.interaction_id,
            "kind": "person",
            "first_name": "Sören",
            "last_name": "Böhm",
            "phone": "+49409876543",
            "street": "Hauptstraße 1",
            "postcode": "20095",
            "city": "Hamburg",
        },
    )
    assert b"created" in response.content
    account = Account.objects.get(name="Sören Böhm")
    assert Interaction.objects.get(pk=call.interaction_id).account == account
    assert account.contact_points.get().normalized == "+49409876543"


def test_creating_an_account_with_a_bad_number_keeps_nothing(desk_client, agent):
    call = offer(ani="040 9876543")
    response = desk_client.post(
        reverse("desk:account_create"),
        {"interaction": call.interaction_id, "last_name": "Böhm", "phone": "12"},
    )
    assert b"not a valid phone number" in response.content
    assert not Account.objects.exists()


def test_the_account_search_finds_by_name_number_and_phone(desk_client):
    account = AccountFactory(name="Bäckerei Köhler GmbH", customer_number="100300")
    PhoneFactory(account=account, value="030 5556667")
    for query in ("Köhler", "100300", "030 5556667"):
        html = desk_client.get(
            DESK, {"view": "search", "q": query}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "Bäckerei Köhler GmbH" in html, query
    html = desk_client.get(
        DESK, {"view": "search", "q": "<script>alert(1)</script>"}
    ).content.decode()
    assert "<script>alert(1)</script>" not in html


def test_the_history_is_paginated(desk_client):
    account = AccountFactory()
    InteractionFactory.create_batch(45, account=account)
    html = desk_client.get(
        DESK, {"view": "history", "account": account.pk, "page": 3}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Page 3 of 3" in html
    assert html.count("<tr>") == 1 + 5


def test_demo_users_can_simulate_a_call_to_themselves(desk_client, agent, settings):
    settings.ICENTER_DEMO_TOOLS = True
    desk_client.post(reverse("desk:simulate_call"), {"ani": "+49 30 1234567"})
    call = Call.objects.get()
    assert call.agent == agent and call.status == "ringing"
    desk_client.post(reverse("desk:simulate_call"), {"hangup": "1"})
    call.refresh_from_db()
    assert call.status == "ended"


def test_the_simulate_control_is_off_outside_demo_mode(desk_client, settings):
    settings.ICENTER_DEMO_TOOLS = False
    assert (
        desk_client.post(reverse("desk:simulate_call"), {"ani": "+49 30 1234567"}).status_code
        == 404
    )
    assert not Call.objects.exists()


def test_desk_and_admin_pages_name_the_vendored_icon(desk_client, client, manager_user):
    icon = 'rel="icon" href="/static/img/icenter.svg"'
    assert icon in desk_client.get("/desk/").content.decode()
    client.force_login(manager_user)
    assert icon in client.get("/admin/").content.decode()
