"""Callbacks, SMS and email to customers: validated, routed, and logged in the history."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Interaction, MessageTemplate
from icenter.errors import DomainError
from telephony.models import AgentGroup, WorkItem
from tests.factories import AccountFactory, PhoneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(
        name="Müller GmbH", customer_number="100234", notes="intern: zahlt spät"
    )
    PhoneFactory(account=account, value="0171 2345678")
    return account


def window(hours_from_now=2, length=1):
    start = timezone.now() + dt.timedelta(hours=hours_from_now)
    return start, start + dt.timedelta(hours=length)


def test_a_callback_waits_in_the_universal_queue_until_its_window(account, agent):
    start, end = window()
    item = services.callback_request(
        account=account,
        number="0171 2345678",
        reason="Router-Rückfrage",
        window_start=start,
        window_end=end,
        created_by=agent.user,
        agent=agent,
    )
    assert (item.channel, item.status, item.number) == ("callback", "queued", "+491712345678")
    assert (item.not_before, item.not_after, item.preferred_agent) == (start, end, agent)
    assert item.agent is None  # not offered before it is due


def test_a_due_callback_is_offered_to_its_agent(account, agent):
    from telephony.services import acd_tick

    start, end = window()
    item = services.callback_request(
        account=account,
        number="0171 2345678",
        reason="Rückfrage",
        window_start=start,
        window_end=end,
        created_by=agent.user,
        agent=agent,
    )
    acd_tick(now=start + dt.timedelta(seconds=5))
    item.refresh_from_db()
    assert item.status == WorkItem.Status.OFFERED
    assert item.agent == agent


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"number": "12"}, "not a valid phone number"),
        ({"reason": " "}, "Say why"),
        ({"window_start": -3}, "in the past"),
        ({"window_end": -1}, "ends before it starts"),
        ({"window_end": 13}, "at most 12 hours"),
        ({"window_start": 24 * 100}, "at most 90 days ahead"),
        ({"agent": None}, "Choose who calls back"),
    ],
)
def test_bad_callback_requests_are_refused_and_nothing_is_queued(account, agent, change, message):
    start, end = window()
    data = {
        "account": account,
        "number": "0171 2345678",
        "reason": "Rückfrage",
        "window_start": start,
        "window_end": end,
        "created_by": agent.user,
        "agent": agent,
    }
    for key, value in change.items():
        if key == "window_start" and value is not None:
            data[key] = timezone.now() + dt.timedelta(hours=value)
            data["window_end"] = data[key] + dt.timedelta(hours=1)
        elif key == "window_end":
            data[key] = start + dt.timedelta(hours=value)
        else:
            data[key] = value
    with pytest.raises(DomainError, match=message):
        services.callback_request(**data)
    assert not WorkItem.objects.exists()


def test_a_callback_can_go_to_a_group(account, agent):
    team = AgentGroup.objects.create(name="Technik")
    start, end = window()
    item = services.callback_request(
        account=account,
        number="0171 2345678",
        reason="x",
        window_start=start,
        window_end=end,
        created_by=agent.user,
        group=team,
    )
    assert (item.agent_group, item.preferred_agent) == (team, None)


def test_templates_are_filled_with_the_accounts_data_as_plain_text(account, agent):
    template = MessageTemplate.objects.create(
        code="rueckruf",
        name="Rückruf",
        channel="email",
        subject="Ihr Anliegen, {account.name}",
        body="Guten Tag,\nKundennummer {account.customer_number}. {unknown.x} {account.notes}\n"
        "{agent.name}",
    )
    account.name = "Müller <b>GmbH</b>\x07"
    subject, text = services.message_preview(template=template, account=account, agent=agent.user)
    assert subject == "Ihr Anliegen, Müller <b>GmbH</b>"  # plain text; the email is text/plain
    assert "Kundennummer 100234." in text
    # Only listed fields can be read; anything else stays empty.
    assert "Kundennummer 100234.  \n" in text
    assert "zahlt" not in text
    assert text.endswith("Anna Schäfer")


def test_an_sms_goes_through_the_gateway_and_into_the_history(account, agent, settings, tmp_path):
    settings.ICENTER_SMS_BACKEND = "file"
    settings.ICENTER_SMS_FILE = str(tmp_path / "sms.jsonl")
    interaction = services.message_send_sms(
        to="0171 2345678", text="Techniker kommt morgen.", agent=agent.user, account=account
    )
    assert (interaction.channel, interaction.direction, interaction.outcome) == (
        "sms",
        "outbound",
        "completed",
    )
    assert (interaction.address, interaction.notes, interaction.account) == (
        "+491712345678",
        "Techniker kommt morgen.",
        account,
    )
    sent = json.loads((tmp_path / "sms.jsonl").read_text())
    assert (sent["to"], sent["text"]) == ("+491712345678", "Techniker kommt morgen.")


def test_a_refused_sms_leaves_no_history_and_says_why(account, agent, settings):
    settings.ICENTER_SMS_BACKEND = "http"
    settings.ICENTER_SMS_HTTP_URL = "http://127.0.0.1:9/sms"
    with pytest.raises(DomainError, match="cannot be reached"):
        services.message_send_sms(
            to="0171 2345678", text="Hallo", agent=agent.user, account=account
        )
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("to", "text", "message"),
    [
        ("abc", "Hallo", "not a valid phone number"),
        ("0171 2345678", " ", "Write a text"),
        ("0171 2345678", "x" * 641, "at most 640"),
    ],
)
def test_bad_sms_input_is_refused(account, agent, to, text, message):
    with pytest.raises(DomainError, match=message):
        services.message_send_sms(to=to, text=text, agent=agent.user, account=account)


def test_an_email_goes_through_djangos_backend_and_into_the_history(account, agent):
    interaction = services.message_send_email(
        to="kunde@example.de",
        subject="Ihr Termin\r\nBcc: evil@example.com",
        text="Morgen 9 Uhr.",
        agent=agent.user,
        account=account,
    )
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["kunde@example.de"]
    assert sent.subject == "Ihr Termin Bcc: evil@example.com"  # no header injection
    assert sent.extra_headers["X-Icenter-Interaction"] == str(interaction.pk)
    assert (interaction.channel, interaction.direction, interaction.subject) == (
        "email",
        "outbound",
        "Ihr Termin Bcc: evil@example.com",
    )


def test_bad_email_input_is_refused(account, agent):
    with pytest.raises(DomainError, match="not a valid email address"):
        services.message_send_email(to="kein", subject="x", text="y", agent=agent.user)
    with pytest.raises(DomainError, match="needs a subject"):
        services.message_send_email(to="a@example.de", subject=" ", text="y", agent=agent.user)
    assert not mail.outbox


# -- the desk ------------------------------------------------------------------------------


def test_the_desk_schedules_a_callback_for_the_agent(desk_client, account, agent):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = desk_client.post(
        reverse("accounts:callback_create"),
        {
            "account": account.pk,
            "number": "0171 2345678",
            "date": tomorrow,
            "from": "09:00",
            "until": "10:00",
            "reason": "Router",
            "assignee": "me",
        },
    )
    html = response.content.decode()
    assert "Callback scheduled for" in html
    item = WorkItem.objects.get()
    assert timezone.localtime(item.not_before).strftime("%H:%M") == "09:00"
    assert item.preferred_agent == agent
    panel = desk_client.get(reverse("accounts:reach_panel", args=[account.pk])).content.decode()
    assert "Router" in panel  # the account's card lists the scheduled callback


def test_the_desk_refuses_a_callback_for_someone_elses_group(desk_client, account):
    team = AgentGroup.objects.create(name="Fremd")
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = desk_client.post(
        reverse("accounts:callback_create"),
        {
            "account": account.pk,
            "number": "0171 2345678",
            "date": tomorrow,
            "from": "09:00",
            "until": "10:00",
            "reason": "x",
            "assignee": f"group:{team.pk}",
        },
    )
    assert "only give callbacks to your own groups" in response.content.decode()
    response = desk_client.post(
        reverse("accounts:callback_create"), {"account": account.pk, "date": "morgen"}
    )
    assert "Give the day and the time window" in response.content.decode()
    assert not WorkItem.objects.exists()


def test_the_desk_previews_a_template_and_sends_the_edited_text(
    desk_client, account, settings, tmp_path
):
    settings.ICENTER_SMS_BACKEND = "file"
    settings.ICENTER_SMS_FILE = str(tmp_path / "sms.jsonl")
    template = MessageTemplate.objects.create(
        code="t", name="Termin", channel="sms", body="Hallo {account.name}"
    )
    preview = desk_client.get(
        reverse("accounts:message_preview"),
        {"channel": "sms", "template": template.pk, "account": account.pk},
    )
    assert "Hallo Müller GmbH" in preview.content.decode()
    response = desk_client.post(
        reverse("accounts:message_send"),
        {
            "channel": "sms",
            "account": account.pk,
            "to": "0171 2345678",
            "template": template.pk,
            "text": "Hallo Müller GmbH, bis morgen",
        },
    )
    assert "SMS sent and logged in the history." in response.content.decode()
    assert Interaction.objects.get().notes == "Hallo Müller GmbH, bis morgen"


def test_the_account_view_offers_callback_sms_and_email(desk_client, account):
    html = desk_client.get(f"/desk/?account={account.pk}").content.decode()
    assert reverse("accounts:reach_panel", args=[account.pk]) in html  # loaded after the pop
    html = desk_client.get(
        reverse("accounts:reach_panel", args=[account.pk]), {"number": "+4930999"}
    ).content.decode()
    assert 'value="+4930999"' in html
    assert "Schedule a callback" in html
    assert "Send an SMS instead" in html and "Send an email instead" in html


def test_managers_cannot_save_templates_with_unknown_placeholders(client, manager_user):
    client.force_login(manager_user)
    response = client.post(
        "/admin/accounts/messagetemplate/add/",
        {
            "name": "X",
            "code": "x",
            "channel": "email",
            "subject": "",
            "body": "Hallo {account.password}",
            "is_active": "on",
        },
    )
    html = response.content.decode()
    assert "{account.password} is not a known placeholder." in html
    assert "An email template needs a subject." in html
    assert not MessageTemplate.objects.exists()
