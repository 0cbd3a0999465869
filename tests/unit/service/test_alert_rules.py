"""Alert rules: authored and validated in the admin, evaluated on every desk event, pushed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts import services
from accounts.alerts import DeskFacts, alert_rules_evaluate
from accounts.models import AlertAction, AlertCondition, AlertRule
from icenter.desk.rendering import render_panels
from icenter.desk.selectors import desk_state_for_agent
from telephony.models import Agent
from tests.factories import AccountFactory, CustomerGroupFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def rule(name="Regel", *, conditions, actions, match="all", active=True):
    created = AlertRule.objects.create(name=name, match=match, is_active=active)
    for condition in conditions:
        AlertCondition.objects.create(rule=created, **condition)
    for action in actions:
        AlertAction.objects.create(rule=created, **action)
    return created


def texts(facts):
    return [a.text for hit in alert_rules_evaluate(facts=facts) for a in hit.alerts]


def test_no_rules_cost_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert alert_rules_evaluate(facts=DeskFacts()) == []


def test_a_vip_rule_fires_only_for_vips_and_fills_in_the_name():
    rule(
        conditions=[{"kind": "vip"}],
        actions=[{"kind": "alert", "text": "{account.name} ist VIP", "severity": "warning"}],
    )
    vip = AccountFactory(name="Müller GmbH", is_vip=True)
    assert texts(DeskFacts(account=vip)) == ["Müller GmbH ist VIP"]
    assert texts(DeskFacts(account=AccountFactory())) == []


def test_all_and_any_and_not(agent):
    group = CustomerGroupFactory(code="gewerbe", name="Gewerbe")
    account = AccountFactory(customer_group=group)
    conditions = [
        {"kind": "customer_group", "value": "gewerbe"},
        {"kind": "dialled_number", "value": "0800"},
    ]
    rule("beide", conditions=conditions, actions=[{"kind": "alert", "text": "beide"}])
    rule("eins", conditions=conditions, match="any", actions=[{"kind": "alert", "text": "eins"}])
    rule(
        "nicht",
        conditions=[{"kind": "vip", "negate": True}],
        actions=[{"kind": "alert", "text": "kein VIP"}],
    )
    assert texts(DeskFacts(account=account, dialled_number="+49 800 123")) == ["eins", "kein VIP"]
    assert texts(DeskFacts(account=account, dialled_number="0800 123")) == [
        "beide",
        "eins",
        "kein VIP",
    ]


def test_open_complaints_sla_outages_queues_and_unknown_callers(agent):
    account = AccountFactory()
    complaint = services.ticket_create(
        account=account, subject="Beschwerde", type="complaint", created_by=agent.user
    )
    complaint.resolution_due_at = timezone.now() - dt.timedelta(minutes=1)
    for kind, extra in [
        ("open_complaint", {}),
        ("sla_due", {}),
        ("outage", {}),
        ("queue", {"value": "Störung"}),
        ("unknown_caller", {}),
    ]:
        rule(kind, conditions=[{"kind": kind, **extra}], actions=[{"kind": "alert", "text": kind}])
    facts = DeskFacts(account=account, open_tickets=[complaint], outages=["x"], queue="störung")
    assert texts(facts) == ["open_complaint", "outage", "queue", "sla_due"]
    assert texts(DeskFacts(is_unknown_caller=True)) == ["unknown_caller"]


def test_counting_contacts_in_the_last_days():
    account = AccountFactory()
    now = timezone.now()
    for hours in (1, 30, 24 * 10):
        InteractionFactory(account=account, started_at=now - dt.timedelta(hours=hours))
    rule(
        "oft",
        conditions=[{"kind": "contacts", "count": 2, "days": 2}],
        actions=[{"kind": "alert", "text": "2 in 2"}],
    )
    rule(
        "sehr oft",
        conditions=[{"kind": "contacts", "count": 3, "days": 2}],
        actions=[{"kind": "alert", "text": "3 in 2"}],
    )
    assert texts(DeskFacts(account=account, now=now)) == ["2 in 2"]


def test_inactive_rules_do_not_fire():
    rule(
        conditions=[{"kind": "unknown_caller"}],
        actions=[{"kind": "alert", "text": "x"}],
        active=False,
    )
    assert texts(DeskFacts(is_unknown_caller=True)) == []


def test_the_desk_shows_rule_alerts_and_renders_navigation_for_the_live_contact(agent):
    account = AccountFactory(name="Müller GmbH", is_vip=True)
    hit = rule(
        conditions=[{"kind": "account_identified"}],
        actions=[
            {"kind": "alert", "text": "Bitte Historie prüfen", "severity": "danger"},
            {"kind": "navigate", "view": "history"},
        ],
    )
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    state = desk_state_for_agent(agent_id=agent.pk)
    assert ("danger", "Bitte Historie prüfen") in [(a.severity, a.text) for a in state.alerts]
    html = render_panels(agent_id=agent.pk, panels=("alerts",), language="en")
    assert "Bitte Historie prüfen" in html
    assert f'data-guidance="nav-{hit.pk}-{interaction.pk}"' in html
    assert "view=history" in html


def test_the_rule_is_evaluated_again_on_every_push(agent, capture_events):
    """A ticket change pushes "ticket.updated"; the alerts panel it renders re-runs the rules."""
    account = AccountFactory()
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    rule(
        conditions=[{"kind": "open_complaint"}],
        actions=[{"kind": "alert", "text": "Offene Beschwerde!"}],
    )
    assert "Offene Beschwerde!" not in render_panels(
        agent_id=agent.pk, panels=("alerts",), language="en"
    )
    services.ticket_create(
        account=account,
        subject="Beschwerde",
        type="complaint",
        created_by=agent.user,
        assigned_agent=agent.user,
    )
    assert [e.kind for e in capture_events] == ["ticket.updated"]
    assert "Offene Beschwerde!" in render_panels(
        agent_id=agent.pk, panels=("alerts",), language="en"
    )


# -- the admin ---------------------------------------------------------------------------------


def inline(prefix, rows):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{key}": value for key, value in row.items()})
    return data


def post_rule(client, conditions, actions):
    return client.post(
        "/admin/accounts/alertrule/add/",
        {
            "name": "Regel",
            "match": "all",
            "order": "100",
            "is_active": "on",
            **inline("conditions", conditions),
            **inline("actions", actions),
        },
    )


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


def test_a_manager_saves_a_valid_rule(manager_client):
    response = post_rule(
        manager_client,
        [{"kind": "contacts", "count": "3", "days": "7"}],
        [{"kind": "alert", "text": "Ruft oft an: {account.name}", "severity": "warning"}],
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = AlertRule.objects.get()
    assert saved.conditions.get().days == 7


@pytest.mark.parametrize(
    ("conditions", "actions", "message"),
    [
        (
            [],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "A rule needs at least one condition.",
        ),
        ([{"kind": "vip"}], [], "A rule needs at least one action."),
        (
            [{"kind": "queue", "value": ""}],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "This condition needs a value.",
        ),
        (
            [{"kind": "queue", "value": "Gibtsnicht"}],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "There is no queue named",
        ),
        (
            [{"kind": "customer_group", "value": "xx"}],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "no customer group with the code",
        ),
        (
            [{"kind": "dialled_number", "value": "abc"}],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "only digits",
        ),
        (
            [{"kind": "vip", "value": "ja"}],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "takes no value",
        ),
        (
            [{"kind": "contacts", "count": "3", "days": "999"}],
            [{"kind": "alert", "text": "x", "severity": "info"}],
            "1 to 365",
        ),
        (
            [{"kind": "vip"}],
            [{"kind": "alert", "text": "", "severity": "info"}],
            "An alert needs a text.",
        ),
        (
            [{"kind": "vip"}],
            [{"kind": "alert", "text": "{account.iban}", "severity": "info"}],
            "is not a known placeholder",
        ),
        ([{"kind": "vip"}], [{"kind": "navigate", "severity": "info"}], "Choose the view to open."),
        (
            [{"kind": "vip"}],
            [{"kind": "script", "script_code": "gibtsnicht", "severity": "info"}],
            "no published script",
        ),
    ],
)
def test_invalid_rules_are_refused_at_save_with_a_clear_message(
    manager_client, conditions, actions, message
):
    html = post_rule(manager_client, conditions, actions).content.decode()
    assert message in html
    assert not AlertRule.objects.exists()


def test_the_start_a_script_action_opens_the_script_for_the_live_contact(
    client, agent, manager_client
):
    from scripting.demo import SURVEY_CODE, demo_scripts_seed
    from scripting.models import ScriptRun

    demo_scripts_seed()
    response = post_rule(
        manager_client,
        [{"kind": "account_identified"}],
        [{"kind": "script", "script_code": SURVEY_CODE, "severity": "info"}],
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    hit = AlertRule.objects.get()
    account = AccountFactory()
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    html = render_panels(agent_id=agent.pk, panels=("alerts",), language="en")
    assert f'data-guidance="script-{hit.pk}-{interaction.pk}"' in html
    client.force_login(agent.user)
    url = f"/desk/guidance/{hit.pk}/script/?interaction={interaction.pk}"
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 200
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 200  # a second time resumes
    run = ScriptRun.objects.get()
    assert (run.interaction, run.source, run.version.script.code) == (
        interaction,
        "alert",
        SURVEY_CODE,
    )


def test_nobody_starts_a_script_for_someone_elses_contact(client, agent, other_agent):
    hit = rule(conditions=[{"kind": "vip"}], actions=[{"kind": "script", "script_code": "x"}])
    foreign = InteractionFactory(agent=other_agent.user)
    client.force_login(agent.user)
    html = client.post(f"/desk/guidance/{hit.pk}/script/?interaction={foreign.pk}").content.decode()
    assert "has no script for your contact" in html


def test_a_rule_can_open_the_accounts_ticket_list(agent):
    account = AccountFactory()
    hit = rule(
        conditions=[{"kind": "account_identified"}],
        actions=[{"kind": "navigate", "view": "tickets"}],
    )
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    html = render_panels(agent_id=agent.pk, panels=("alerts",), language="en")
    assert f'data-guidance="nav-{hit.pk}-{interaction.pk}"' in html
    assert f"/desk/tickets/?scope=account&account={account.pk}" in html
