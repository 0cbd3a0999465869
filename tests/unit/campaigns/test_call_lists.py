"""Call lists: an agent takes the next customer with the campaign's script opened, calls,
and closes with a result; managers fill lists from CSV."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from campaigns import services
from campaigns.models import CallList, CallListEntry, Campaign
from icenter.errors import DomainError, PermissionDenied
from scripting.models import ScriptRun
from telephony.models import Agent, Call
from tests.factories import (
    AccountFactory,
    AgentFactory,
    CustomerGroupFactory,
    PhoneFactory,
    UserFactory,
)
from tests.unit.campaigns.conftest import add

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

# -- taking the next customer ------------------------------------------------------------------


def test_the_next_customer_comes_with_the_campaign_script_open(agent, call_list):
    later = add(call_list, "Later", priority=7)
    first = add(call_list, "Erste <GmbH>", priority=1)

    entry = services.call_list_entry_take(agent=agent, call_list=call_list)

    assert entry == first
    assert entry.status == CallListEntry.Status.IN_WORK and entry.agent == agent
    run = entry.script_run
    assert run.source == ScriptRun.Source.CALL_LIST
    assert run.campaign == {"code": "fibre-2026", "name": "Glasfaser 2026"}
    assert run.account == first.account and run.interaction is None
    later.refresh_from_db()
    assert later.status == CallListEntry.Status.OPEN


def test_taking_again_gives_back_the_customer_still_in_work(agent, call_list):
    add(call_list, "A")
    add(call_list, "B")
    first = services.call_list_entry_take(agent=agent, call_list=call_list)
    assert services.call_list_entry_take(agent=agent, call_list=call_list) == first
    assert CallListEntry.objects.filter(status=CallListEntry.Status.IN_WORK).count() == 1


def test_a_customer_of_another_list_must_be_closed_first(agent, call_list, team):
    add(call_list, "A")
    other = CallList.objects.create(campaign=call_list.campaign, name="Hamburg")
    other.agent_groups.add(team)
    add(other, "B")
    services.call_list_entry_take(agent=agent, call_list=call_list)
    with pytest.raises(DomainError, match="Close the customer of “Berlin” first"):
        services.call_list_entry_take(agent=agent, call_list=other)


def test_an_agent_outside_the_lists_groups_is_refused(other_agent, call_list):
    add(call_list, "A")
    with pytest.raises(PermissionDenied):
        services.call_list_entry_take(agent=other_agent, call_list=call_list)


def test_an_inactive_list_or_campaign_gives_nobody(agent, call_list):
    add(call_list, "A")
    call_list.campaign.is_active = False
    call_list.campaign.save()
    with pytest.raises(DomainError, match="not active"):
        services.call_list_entry_take(agent=agent, call_list=call_list)


def test_a_used_up_list_says_so(agent, call_list):
    with pytest.raises(DomainError, match="Nobody is left to call"):
        services.call_list_entry_take(agent=agent, call_list=call_list)


def test_customers_waiting_for_a_retry_are_not_due_yet(agent, call_list):
    add(call_list, "Waiting", not_before=timezone.now() + timedelta(minutes=30))
    with pytest.raises(DomainError, match="Nobody is left"):
        services.call_list_entry_take(agent=agent, call_list=call_list)


def test_customers_of_groups_the_agent_may_not_see_are_left_to_others(agent, call_list):
    hidden = CustomerGroupFactory(name="Key accounts")
    entry = add(call_list, "Secret")
    entry.account.customer_group = hidden
    entry.account.save()
    visible = add(call_list, "Public", priority=9)
    assert services.call_list_entry_take(agent=agent, call_list=call_list) == visible


def test_an_unpublished_campaign_script_is_named(agent, call_list):
    add(call_list, "A")
    call_list.campaign.script.versions.update(status="draft")
    with pytest.raises(DomainError, match="no published version"):
        services.call_list_entry_take(agent=agent, call_list=call_list)
    assert CallListEntry.objects.get().status == CallListEntry.Status.OPEN


def test_a_campaign_without_script_still_hands_out_customers(agent, call_list):
    add(call_list, "A")
    Campaign.objects.filter(pk=call_list.campaign_id).update(script=None)
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    assert entry.script_run is None and entry.status == CallListEntry.Status.IN_WORK


@pytest.mark.django_db(transaction=True)
def test_agents_taking_at_the_same_moment_never_get_the_same_customer(call_list, team):
    agents = []
    for n in range(6):
        agent = AgentFactory(
            user=UserFactory(username=f"racer{n}", roles=["agent"]), extension=f"30{n:02d}"
        )
        team.members.add(agent)
        agents.append(agent)
    for n in range(4):
        add(call_list, f"Kunde {n}")
    barrier = threading.Barrier(len(agents))
    taken: list[int] = []
    refused: list[str] = []

    def take(agent: Agent) -> None:
        try:
            barrier.wait()
            entry = services.call_list_entry_take(agent=agent, call_list=call_list)
            taken.append(entry.pk)
        except DomainError as exc:
            refused.append(exc.message)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=take, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken) == sorted(set(taken)) and len(taken) == 4
    assert len(refused) == 2 and all("Nobody is left" in m for m in refused)
    assert CallListEntry.objects.filter(status=CallListEntry.Status.IN_WORK).count() == 4


# -- calling and closing ---------------------------------------------------------------------


def test_dialling_calls_the_customer_and_joins_script_and_call(agent, call_list):
    add(call_list, "Kunde")
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)

    call = services.call_list_entry_dial(agent=agent, entry=entry)

    assert call.direction == Call.Direction.OUTBOUND
    assert call.dnis == entry.phone
    entry.refresh_from_db()
    assert entry.interaction == call.interaction
    assert call.interaction.account == entry.account
    entry.script_run.refresh_from_db()
    assert entry.script_run.interaction == call.interaction


def test_dialling_a_number_shared_by_two_accounts_keeps_the_list_customer(agent, call_list):
    entry = add(call_list, "Kunde")
    twin = AccountFactory(name="Zwilling")
    PhoneFactory(account=twin, value=entry.phone)
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    call = services.call_list_entry_dial(agent=agent, entry=entry)
    assert call.interaction.account == entry.account


def test_a_customer_not_reached_comes_back_after_the_pause_until_attempts_are_used(
    agent, call_list
):
    add(call_list, "Kunde")
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    entry = services.call_list_entry_close(agent=agent, entry=entry, result="no_answer")
    assert entry.status == CallListEntry.Status.OPEN and entry.attempts == 1
    assert entry.not_before > timezone.now() + timedelta(minutes=59)
    assert ScriptRun.objects.get().status == ScriptRun.Status.ABANDONED

    CallListEntry.objects.filter(pk=entry.pk).update(not_before=timezone.now())
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    assert ScriptRun.objects.filter(status=ScriptRun.Status.ACTIVE).count() == 1
    entry = services.call_list_entry_close(agent=agent, entry=entry, result="no_answer")
    assert entry.status == CallListEntry.Status.FAILED and entry.attempts == 2
    assert entry.closed_at is not None


def test_reached_closes_the_customer_and_keeps_the_finished_script(agent, call_list):
    add(call_list, "Kunde")
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    run = entry.script_run
    from scripting import services as script_services

    run = script_services.script_run_answer(
        run=run, user=agent.user, step_key="hello", answer="yes"
    )
    run = script_services.script_run_finish(run=run, user=agent.user)

    entry = services.call_list_entry_close(agent=agent, entry=entry, result="reached")

    assert entry.status == CallListEntry.Status.DONE and entry.result == "reached"
    run.refresh_from_db()
    assert run.status == ScriptRun.Status.FINISHED and run.outcome == "interested"


def test_wrong_number_gives_up_and_refused_is_done(agent, call_list):
    add(call_list, "A", priority=1)
    add(call_list, "B", priority=2)
    first = services.call_list_entry_take(agent=agent, call_list=call_list)
    first = services.call_list_entry_close(agent=agent, entry=first, result="wrong_number")
    second = services.call_list_entry_take(agent=agent, call_list=call_list)
    second = services.call_list_entry_close(agent=agent, entry=second, result="refused")
    assert (first.status, second.status) == ("failed", "done")


def test_putting_back_leaves_the_customer_untried_for_the_next_agent(
    agent, other_agent, call_list, team
):
    add(call_list, "Kunde")
    team.members.add(other_agent)
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    entry = services.call_list_entry_release(agent=agent, entry=entry)
    assert entry.status == CallListEntry.Status.OPEN and entry.attempts == 0
    assert services.call_list_entry_take(agent=other_agent, call_list=call_list) == entry


def test_only_the_agent_working_the_customer_may_call_or_close(agent, other_agent, call_list):
    add(call_list, "Kunde")
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    with pytest.raises(DomainError, match="no longer yours"):
        services.call_list_entry_close(agent=other_agent, entry=entry, result="reached")
    with pytest.raises(DomainError, match="no longer yours"):
        services.call_list_entry_dial(agent=other_agent, entry=entry)
    with pytest.raises(DomainError, match="how the call ended"):
        services.call_list_entry_close(agent=agent, entry=entry, result="bogus")
    entry.refresh_from_db()
    assert entry.status == CallListEntry.Status.IN_WORK


def test_customers_held_by_logged_out_agents_go_back_after_a_while(agent, call_list):
    add(call_list, "Kunde")
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.LOGGED_OUT)
    later = timezone.now() + timedelta(hours=3)
    assert services.call_list_entries_release_stale(older_than=timedelta(hours=4), now=later) == 0
    assert services.call_list_entries_release_stale(older_than=timedelta(hours=2), now=later) == 1
    entry.refresh_from_db()
    assert entry.status == CallListEntry.Status.OPEN and entry.agent is None


# -- filling a list from CSV -----------------------------------------------------------------


def test_a_csv_file_adds_customers_with_phone_priority_and_note(manager_user, call_list):
    a = AccountFactory(customer_number="100001")
    b = AccountFactory(customer_number="100002")
    PhoneFactory(account=b, value="+49 40 555123")
    text = (
        "customer_number;phone;priority;note\n"
        "100001;030 1234567;1;Interessiert an Glasfaser\n"
        "100002;;;\n"
    )
    result = services.call_list_entries_import(call_list=call_list, text=text, by=manager_user)
    assert (result.added, result.skipped) == (2, 0)
    first = CallListEntry.objects.get(account=a)
    assert (first.phone, first.priority, first.note) == (
        "+49301234567",
        1,
        "Interessiert an Glasfaser",
    )
    assert CallListEntry.objects.get(account=b).phone == "+4940555123"

    again = services.call_list_entries_import(call_list=call_list, text=text, by=manager_user)
    assert (again.added, again.skipped) == (0, 2)


def test_a_csv_file_with_a_bad_line_adds_nobody_and_names_every_bad_line(manager_user, call_list):
    AccountFactory(customer_number="100001")
    AccountFactory(customer_number="100003")  # no phone
    text = (
        "customer_number,phone,priority\n"
        "100001,030 1234567,1\n"
        "999999,,\n"
        "100001,not a number,\n"
        "100001,030 1234567,12\n"
        "100003,,\n"
    )
    with pytest.raises(services.ImportRefused) as refused:
        services.call_list_entries_import(call_list=call_list, text=text, by=manager_user)
    problems = [str(p) for p in refused.value.problems]
    assert problems == [
        "Line 3: no account has the number “999999”.",
        "Line 4: “not a number” is not a phone number.",
        "Line 5: the priority must be a number from 1 to 9.",
        "Line 6: account 100003 has no phone number; give one in “phone”.",
    ]
    assert not CallListEntry.objects.exists()


def test_a_csv_file_without_the_customer_number_column_is_refused(manager_user, call_list):
    with pytest.raises(DomainError, match="customer_number"):
        services.call_list_entries_import(call_list=call_list, text="name\nx\n", by=manager_user)
    with pytest.raises(DomainError, match="empty"):
        services.call_list_entries_import(call_list=call_list, text="  ", by=manager_user)


def test_the_periodic_task_puts_back_customers_of_agents_long_logged_out(
    agent, call_list, settings
):
    from campaigns.tasks import entries_release_stale
    from icenter.celery import app

    add(call_list, "Kunde")
    entry = services.call_list_entry_take(agent=agent, call_list=call_list)
    CallListEntry.objects.filter(pk=entry.pk).update(taken_at=timezone.now() - timedelta(hours=1))
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.LOGGED_OUT)
    schedule = settings.CELERY_BEAT_SCHEDULE["call-list-release-stale"]
    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks
    assert entries_release_stale() == 1
    assert CallListEntry.objects.get().status == CallListEntry.Status.OPEN


def test_the_demo_campaign_has_a_published_outbound_script_and_fills_once(manager_user):
    from accounts.models import CustomerGroup
    from campaigns.demo import SCRIPT_CODE, campaigns_demo_seed
    from scripting.demo import demo_scripts_seed

    demo_scripts_seed()  # the offer list the campaign's script offers from
    privat = CustomerGroup.objects.create(name="Privatkunden", code="privat")
    for n in range(2):
        PhoneFactory(account=AccountFactory(name=f"Privat {n}", customer_group=privat))
    assert campaigns_demo_seed(by=manager_user) == {"entries": 2}
    assert campaigns_demo_seed(by=manager_user) == {"entries": 0}
    campaign = Campaign.objects.get()
    assert campaign.script.code == SCRIPT_CODE
    assert campaign.script.versions.get().status == "published"
