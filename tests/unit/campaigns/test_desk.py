"""The desk's call lists: the list overview, the next customer with the script, dial, close."""

from __future__ import annotations

import pytest

from campaigns.models import CallList, CallListEntry
from scripting.models import ScriptRun
from telephony.models import Call
from tests.factories import AccountFactory, PhoneFactory
from tests.unit.campaigns.conftest import add

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def take(desk_client, call_list):
    return desk_client.post("/desk/calllists/take/", {"call_list": call_list.pk}, **HTMX)


def test_the_nav_has_the_call_lists_view(desk_client):
    assert "?view=calllists" in desk_client.get("/desk/").content.decode()


def test_an_agent_without_lists_sees_a_clear_empty_state(desk_client):
    html = desk_client.get("/desk/?view=calllists", **HTMX).content.decode()
    assert 'data-view="calllists"' in html
    assert "No call list is assigned to your agent groups." in html


def test_the_overview_shows_the_lists_with_what_is_left_to_call(desk_client, call_list):
    add(call_list, "A")
    add(call_list, "B")
    closed = add(call_list, "C")
    CallListEntry.objects.filter(pk=closed.pk).update(status="done")
    html = desk_client.get("/desk/?view=calllists", **HTMX).content.decode()
    assert f'data-call-list="{call_list.pk}"' in html
    assert "Glasfaser 2026" in html and "Berlin" in html
    assert '<td class="num">2</td>' in html
    assert "1 / 3" in html


def test_lists_of_other_groups_and_inactive_lists_are_not_shown(desk_client, team):
    from campaigns.models import Campaign

    campaign = Campaign.objects.create(code="x", name="X")
    CallList.objects.create(campaign=campaign, name="Not ours")
    inactive = CallList.objects.create(campaign=campaign, name="Paused", is_active=False)
    inactive.agent_groups.add(team)
    html = desk_client.get("/desk/?view=calllists", **HTMX).content.decode()
    assert "Not ours" not in html and "Paused" not in html


def test_next_customer_opens_the_customer_and_the_campaign_script(desk_client, call_list):
    entry = add(call_list, "Müller <GmbH>")
    html = take(desk_client, call_list).content.decode()
    assert f'data-entry="{entry.pk}"' in html
    assert f'data-account="{entry.account_id}"' in html
    assert 'id="script-runner"' in html and 'data-step="hello"' in html
    # placeholders filled from account and campaign, HTML escaped
    assert 'Guten Tag, <span class="ph">Müller &lt;GmbH&gt;</span>!' in html
    assert 'Sie sind Kunde bei <span class="ph">fibre-2026</span>.' in html
    assert '<h3><span class="ph">Glasfaser 2026</span></h3>' in html
    assert "<GmbH>" not in html
    assert ScriptRun.objects.get().source == "call_list"


def test_the_header_names_the_customer_being_worked(desk_client, call_list):
    entry = add(call_list, "Kunde Header")
    take(desk_client, call_list)
    html = desk_client.get("/desk/?view=calllists").content.decode()
    assert f'data-account-id="{entry.account_id}"' in html
    htmx_answer = take(desk_client, call_list).content.decode()
    assert 'id="account-header"' in htmx_answer and "Kunde Header" in htmx_answer


def test_a_reload_resumes_the_customer_and_the_script_step(desk_client, call_list):
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    run = ScriptRun.objects.get()
    desk_client.post(
        f"/desk/scripts/runs/{run.pk}/answer/", {"step": "hello", "answer": "yes"}, **HTMX
    )
    html = desk_client.get("/desk/?view=calllists").content.decode()
    assert f'data-entry="{entry.pk}"' in html and 'data-step="thanks"' in html


def test_an_empty_list_says_so_on_the_desk(desk_client, call_list):
    html = take(desk_client, call_list).content.decode()
    assert "Nobody is left to call on this list right now." in html


def test_a_list_of_other_groups_is_refused(desk_client, other_agent, call_list):
    add(call_list, "Kunde")
    desk_client.force_login(other_agent.user)
    html = take(desk_client, call_list).content.decode()
    assert "This call list is not assigned to your agent groups." in html
    assert not CallListEntry.objects.filter(status="in_work").exists()


def test_dialling_from_the_card_starts_the_call_and_leaves_the_workspace(desk_client, call_list):
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    response = desk_client.post(f"/desk/calllists/entries/{entry.pk}/dial/", **HTMX)
    html = response.content.decode()
    call = Call.objects.get()
    assert call.dnis == entry.phone
    assert 'id="toolbar"' in html
    assert 'id="workspace"' not in html


def test_closing_shows_the_overview_again_with_a_confirmation(desk_client, call_list):
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    html = desk_client.post(
        f"/desk/calllists/entries/{entry.pk}/close/", {"result": "reached"}, **HTMX
    ).content.decode()
    assert "Saved: Reached." in html
    assert f'data-call-list="{call_list.pk}"' in html
    entry.refresh_from_db()
    assert entry.status == "done"


def test_putting_back_and_bad_results_are_answered_clearly(desk_client, call_list):
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    bad = desk_client.post(
        f"/desk/calllists/entries/{entry.pk}/close/", {"result": "nonsense"}, **HTMX
    ).content.decode()
    assert "Choose how the call ended." in bad
    back = desk_client.post(
        f"/desk/calllists/entries/{entry.pk}/close/", {"result": "release"}, **HTMX
    ).content.decode()
    assert "The customer is back on the list for the next agent." in back
    entry.refresh_from_db()
    assert entry.status == "open"


def test_another_agents_customer_cannot_be_dialled_or_closed(
    desk_client, other_agent, call_list, team
):
    team.members.add(other_agent)
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    desk_client.force_login(other_agent.user)
    html = desk_client.post(
        f"/desk/calllists/entries/{entry.pk}/close/", {"result": "reached"}, **HTMX
    ).content.decode()
    assert "This customer is no longer yours to work on." in html
    desk_client.post(f"/desk/calllists/entries/{entry.pk}/dial/", **HTMX)
    assert not Call.objects.exists()
    entry.refresh_from_db()
    assert entry.status == "in_work"


def test_call_list_views_need_the_agent_role_and_post(client, outsider_user, call_list):
    assert client.post("/desk/calllists/take/", {"call_list": call_list.pk}).status_code == 302
    client.force_login(outsider_user)
    assert client.post("/desk/calllists/take/", {"call_list": call_list.pk}).status_code == 403


def test_taking_needs_post(desk_client, call_list):
    assert desk_client.get("/desk/calllists/take/").status_code == 405


def test_the_call_lists_view_reads_a_fixed_number_of_queries(
    desk_client, call_list, django_assert_max_num_queries
):
    for n in range(30):
        account = AccountFactory(name=f"K{n}")
        CallListEntry.objects.create(
            call_list=call_list, account=account, phone=PhoneFactory(account=account).normalized
        )
    with django_assert_max_num_queries(12):
        desk_client.get("/desk/?view=calllists", **HTMX)


def test_the_push_after_dialling_leaves_the_workspace_on_the_call_list(
    desk_client, call_list, capture_events
):
    from icenter.desk.rendering import PANELS_BY_KIND

    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    desk_client.post(f"/desk/calllists/entries/{entry.pk}/dial/", **HTMX)
    kinds = [event.kind for event in capture_events]
    assert "call.dialled" in kinds and "call.offered" not in kinds
    assert "workspace" not in PANELS_BY_KIND["call.dialled"]
    assert "toolbar" in PANELS_BY_KIND["call.dialled"]


def test_an_outbound_call_is_not_flagged_for_the_agents_extension(desk_client, call_list):
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    desk_client.post(f"/desk/calllists/entries/{entry.pk}/dial/", **HTMX)
    html = desk_client.get("/desk/?view=calllists").content.decode()
    assert "is not a valid phone number" not in html


def test_call_info_names_the_dialled_customer_once_for_an_outbound_call(desk_client, call_list):
    entry = add(call_list, "Kunde")
    take(desk_client, call_list)
    html = desk_client.post(f"/desk/calllists/entries/{entry.pk}/dial/", **HTMX).content.decode()
    assert "Calling" in html and "Caller" not in html and "Dialled" not in html
