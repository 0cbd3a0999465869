"""Colleagues on the same account or ticket are pushed to each other's desks at once: who
arrives, starts or stops editing, or leaves; never to a desk whose user may not see it."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Presence
from icenter.asgi import application
from icenter.desk import push
from icenter.errors import DomainError
from tests.factories import (
    AccountFactory,
    AgentFactory,
    CustomerGroupFactory,
    UserFactory,
    grant,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def third_agent(db):
    return AgentFactory(
        user=UserFactory(username="petra", first_name="Petra", last_name="Kühn", roles=["agent"]),
        extension="2003",
    )


def touch(user, kind, object_id, **kwargs):
    return services.presence_touch(user=user, kind=kind, object_id=object_id, **kwargs)


def leave(user, kind, object_id):
    return services.presence_leave(user=user, kind=kind, object_id=object_id)


# -- what counts as a change --------------------------------------------------------------------


def test_arriving_is_a_change_and_a_plain_heartbeat_is_not(agent):
    account = AccountFactory()
    assert touch(agent.user, "account", account.pk) is True
    assert touch(agent.user, "account", account.pk) is False
    assert Presence.objects.filter(user=agent.user, object_id=account.pk).count() == 1


def test_starting_and_stopping_to_edit_are_changes(agent):
    account = AccountFactory()
    ticket = services.ticket_create(account=account, subject="Router", created_by=agent.user)
    touch(agent.user, "ticket", ticket.pk)
    assert touch(agent.user, "ticket", ticket.pk, editing=True) is True
    assert touch(agent.user, "ticket", ticket.pk, editing=True) is False
    assert touch(agent.user, "ticket", ticket.pk, editing=False) is True


def test_coming_back_after_the_presence_expired_is_an_arrival(agent):
    account = AccountFactory()
    touch(agent.user, "account", account.pk)
    Presence.objects.filter(user=agent.user).update(
        seen_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert touch(agent.user, "account", account.pk) is True


def test_leaving_removes_the_presence_and_reports_whether_anyone_saw_it(agent):
    account = AccountFactory()
    assert leave(agent.user, "account", account.pk) is False  # was never there
    touch(agent.user, "account", account.pk)
    assert leave(agent.user, "account", account.pk) is True
    assert not Presence.objects.filter(user=agent.user).exists()
    # An expired presence is removed without a change anyone could see.
    touch(agent.user, "account", account.pk)
    Presence.objects.filter(user=agent.user).update(
        seen_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert leave(agent.user, "account", account.pk) is False
    assert not Presence.objects.filter(user=agent.user).exists()


def test_an_unknown_kind_is_refused_for_touch_and_leave(agent):
    with pytest.raises(DomainError):
        touch(agent.user, "invoice", 1)
    with pytest.raises(DomainError):
        leave(agent.user, "invoice", 1)


# -- who is told --------------------------------------------------------------------------------


def test_an_arrival_is_pushed_to_the_other_present_agents_only(
    agent, other_agent, third_agent, capture_events
):
    account = AccountFactory()
    elsewhere = AccountFactory()
    touch(agent.user, "account", account.pk)
    touch(third_agent.user, "account", elsewhere.pk)
    capture_events.clear()

    touch(other_agent.user, "account", account.pk)

    assert [(e.kind, e.id, e.groups) for e in capture_events] == [
        ("presence.account", account.pk, [push.agent_group(agent.pk)])
    ]


def test_the_first_on_an_object_and_plain_heartbeats_push_nothing(
    agent, other_agent, capture_events
):
    account = AccountFactory()
    touch(agent.user, "account", account.pk)
    assert capture_events == []
    touch(other_agent.user, "account", account.pk)
    capture_events.clear()
    touch(agent.user, "account", account.pk)
    touch(other_agent.user, "account", account.pk)
    assert capture_events == []


def test_editing_and_leaving_are_pushed_to_the_others_on_that_ticket(
    agent, other_agent, third_agent, capture_events
):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    for present in (agent, other_agent, third_agent):
        touch(present.user, "ticket", ticket.pk)
    capture_events.clear()

    touch(agent.user, "ticket", ticket.pk, editing=True)
    leave(other_agent.user, "ticket", ticket.pk)

    others_of_anna = sorted([push.agent_group(other_agent.pk), push.agent_group(third_agent.pk)])
    assert [(e.kind, e.id, sorted(e.groups)) for e in capture_events] == [
        ("presence.ticket", ticket.pk, others_of_anna),
        (
            "presence.ticket",
            ticket.pk,
            sorted([push.agent_group(agent.pk), push.agent_group(third_agent.pk)]),
        ),
    ]


def test_colleagues_without_an_agent_profile_or_with_an_expired_presence_get_nothing(
    agent, other_agent, supervisor_user, capture_events
):
    account = AccountFactory()
    touch(supervisor_user, "account", account.pk)  # no agent profile: no desk to push to
    touch(other_agent.user, "account", account.pk)
    Presence.objects.filter(user=other_agent.user).update(
        seen_at=timezone.now() - dt.timedelta(minutes=2)
    )
    capture_events.clear()

    touch(agent.user, "account", account.pk)

    assert capture_events == []


# -- the leave endpoint -------------------------------------------------------------------------


def test_leaving_by_beacon_needs_login_and_a_csrf_token(agent):
    account = AccountFactory()
    url = reverse("accounts:presence_leave", args=["account", account.pk])
    touch(agent.user, "account", account.pk)

    anonymous = Client(enforce_csrf_checks=True)
    response = anonymous.post(url)
    assert response.status_code in (302, 403)

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent.user)
    assert browser.post(url).status_code == 403  # no token
    assert Presence.objects.filter(user=agent.user).exists()

    browser.get(reverse("desk:desk"))
    token = browser.cookies["csrftoken"].value
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 204
    assert not Presence.objects.filter(user=agent.user).exists()


def test_leaving_an_object_the_user_may_not_see_is_not_found(client, agent):
    hidden = AccountFactory(customer_group=CustomerGroupFactory(code="vip", name="VIP"))
    client.force_login(agent.user)
    for kind, object_id in (("account", hidden.pk), ("invoice", 1), ("ticket", 999999)):
        url = reverse("accounts:presence_leave", args=[kind, object_id])
        assert client.post(url).status_code == 404
    visible = reverse("accounts:presence_leave", args=["account", AccountFactory().pk])
    assert client.get(visible).status_code == 405


def test_the_views_poll_more_slowly_and_say_where_to_leave(client, agent):
    account = AccountFactory()
    ticket = services.ticket_create(account=account, subject="Router", created_by=agent.user)
    client.force_login(agent.user)
    html = client.get(
        reverse("accounts:ticket_detail", args=[ticket.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="load, every 20s, presence-edit"' in html
    assert reverse("accounts:presence_leave", args=["ticket", ticket.pk]) in html


# -- the desk socket ----------------------------------------------------------------------------


@pytest.fixture
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def desk_of(user):
    key = await sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={key}".encode())],
    )
    connected, _code = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=5)  # the sync on connect
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_a_desk_on_the_account_shows_the_colleague_who_arrives_at_once(
    memory_layer, agent, other_agent
):
    account = await sync_to_async(AccountFactory)()
    await sync_to_async(touch)(agent.user, "account", account.pk)
    annas_desk = await desk_of(agent.user)
    joergs_desk = await desk_of(other_agent.user)

    await sync_to_async(touch)(other_agent.user, "account", account.pk)

    html = await annas_desk.receive_from(timeout=5)
    assert f'<div id="presence-account-{account.pk}" hx-swap-oob="innerHTML">' in html
    assert "Jörg Weiß also has this account open" in html
    assert await joergs_desk.receive_nothing(timeout=0.3)

    await sync_to_async(leave)(other_agent.user, "account", account.pk)
    html = await annas_desk.receive_from(timeout=5)
    assert html.strip() == f'<div id="presence-account-{account.pk}" hx-swap-oob="innerHTML"></div>'
    await annas_desk.disconnect()
    await joergs_desk.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_desk_gets_nothing_about_an_object_its_user_may_not_see(
    memory_layer, agent, other_agent
):
    group = await sync_to_async(CustomerGroupFactory)(code="vip", name="VIP")
    await sync_to_async(grant)(other_agent.user, group)
    hidden = await sync_to_async(AccountFactory)(customer_group=group)
    ticket = await sync_to_async(services.ticket_create)(
        account=hidden, subject="Geheim", created_by=other_agent.user
    )
    # Anna had them open once (or lost her access since): her desk must learn nothing more.
    for kind, object_id in (("account", hidden.pk), ("ticket", ticket.pk)):
        await sync_to_async(Presence.objects.create)(
            user=agent.user, kind=kind, object_id=object_id
        )
    annas_desk = await desk_of(agent.user)

    await sync_to_async(touch)(other_agent.user, "account", hidden.pk)
    await sync_to_async(touch)(other_agent.user, "ticket", ticket.pk)

    assert await annas_desk.receive_nothing(timeout=0.5)
    await annas_desk.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_pushed_presence_is_in_the_receivers_language(memory_layer, agent, other_agent):
    account = await sync_to_async(AccountFactory)()
    ticket = await sync_to_async(services.ticket_create)(
        account=account, subject="Router", created_by=agent.user
    )
    await sync_to_async(touch)(agent.user, "ticket", ticket.pk)
    key = await sync_to_async(session_cookie)(agent.user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/desk/",
        headers=[
            (b"origin", b"http://127.0.0.1"),
            (b"cookie", f"sessionid={key}; django_language=de".encode()),
        ],
    )
    connected, _code = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=5)

    await sync_to_async(touch)(other_agent.user, "ticket", ticket.pk, editing=True)

    html = await communicator.receive_from(timeout=5)
    assert f'id="presence-ticket-{ticket.pk}"' in html
    assert "Jörg Weiß bearbeitet dieses Ticket" in html
    await communicator.disconnect()
