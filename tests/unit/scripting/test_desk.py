"""The script runner in the desk's workspace: start, answer, back, required, resume."""

from __future__ import annotations

import pytest

from scripting.models import RunAnswer, ScriptRun
from tests.factories import AccountFactory, InteractionFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def contact(agent):
    account = AccountFactory(name="Müller <GmbH>")
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    agent.current_interaction = interaction
    agent.save()
    return interaction


def start(desk_client, version, contact):
    return desk_client.post(
        "/desk/scripts/start/",
        {"version": version.pk, "interaction": contact.pk, "account": contact.account_id},
        **HTMX,
    )


def post(desk_client, run, what, data=None):
    return desk_client.post(f"/desk/scripts/runs/{run.pk}/{what}/", data or {}, **HTMX)


def test_the_script_view_lists_the_published_scripts(desk_client, demo_versions, contact):
    html = desk_client.get("/desk/?view=script", **HTMX).content.decode()
    assert 'id="script-runner"' in html
    assert 'data-script="kundenzufriedenheit"' in html
    assert 'data-script="zusatzangebot"' in html


def test_the_nav_has_the_script_view(desk_client, demo_versions):
    assert "?view=script" in desk_client.get("/desk/").content.decode()


def test_starting_shows_the_first_step_with_placeholders_filled_and_escaped(
    desk_client, demo_versions, contact
):
    html = start(desk_client, demo_versions["survey"], contact).content.decode()
    assert 'data-step="consent"' in html
    assert "Müller &lt;GmbH&gt;" in html
    assert "<GmbH>" not in html
    assert 'name="answer" value="yes"' in html
    run = ScriptRun.objects.get()
    assert run.interaction == contact


def test_answers_are_saved_at_every_step_and_a_reload_resumes_there(
    desk_client, demo_versions, contact
):
    start(desk_client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    post(desk_client, run, "answer", {"step": "consent", "answer": "yes"})
    html = post(
        desk_client, run, "answer", {"step": "overall", "answer": "zufrieden"}
    ).content.decode()
    assert 'data-step="recommend"' in html
    assert RunAnswer.objects.filter(run=run).count() == 2
    # Reload (a new page load of the workspace): the run resumes where the agent was.
    html = desk_client.get("/desk/?view=script").content.decode()
    assert 'data-step="recommend"' in html
    assert 'data-done="2"' in html


def test_a_required_answer_is_enforced_with_a_message(desk_client, demo_versions, contact):
    start(desk_client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    html = post(desk_client, run, "answer", {"step": "consent"}).content.decode()
    assert "This question needs an answer." in html
    assert 'data-step="consent"' in html


def test_a_bad_answer_is_refused_and_kept_in_the_field(desk_client, demo_versions, contact):
    start(desk_client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    post(desk_client, run, "answer", {"step": "consent", "answer": "yes"})
    post(desk_client, run, "answer", {"step": "overall", "answer": "zufrieden"})
    html = post(
        desk_client, run, "answer", {"step": "recommend", "answer": "viel"}
    ).content.decode()
    assert "“viel” is not a number." in html
    assert 'value="viel"' in html


def test_back_shows_the_earlier_answer_again(desk_client, demo_versions, contact):
    start(desk_client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    post(desk_client, run, "answer", {"step": "consent", "answer": "yes"})
    post(desk_client, run, "answer", {"step": "overall", "answer": "unzufrieden"})
    html = post(desk_client, run, "back", {"step": "complaint"}).content.decode()
    assert 'data-step="overall"' in html
    assert 'value="unzufrieden" checked' in html


def test_finishing_shows_the_outcome_and_the_actions(desk_client, demo_versions, contact):
    start(desk_client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    post(desk_client, run, "answer", {"step": "consent", "answer": "no"})
    html = post(desk_client, run, "finish").content.decode()
    assert 'id="script-summary"' in html
    assert "declined" in html
    assert "Disposition: survey_declined" in html


def test_another_agents_run_is_not_found(client, other_agent, agent, demo_versions, contact):
    client.force_login(agent.user)
    start(client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    client.force_login(other_agent.user)
    html = post(client, run, "answer", {"step": "consent", "answer": "yes"}).content.decode()
    assert "That script run does not exist." in html
    assert RunAnswer.objects.count() == 0


def test_outsiders_get_no_runner(client, outsider_user, demo_versions):
    client.force_login(outsider_user)
    assert client.get("/desk/scripts/", **HTMX).status_code == 403


def test_rendering_a_step_takes_a_fixed_number_of_queries(
    desk_client, demo_versions, contact, django_assert_max_num_queries
):
    start(desk_client, demo_versions["survey"], contact)
    run = ScriptRun.objects.get()
    for value in ("yes", "zufrieden"):
        post(
            desk_client,
            run,
            "answer",
            {"step": run.__class__.objects.get().current_key, "answer": value},
        )
    with django_assert_max_num_queries(12):
        desk_client.get(f"/desk/scripts/runs/{run.pk}/", **HTMX)


def test_without_a_contact_the_script_view_resumes_only_the_open_accounts_run(
    desk_client, demo_versions
):
    """An agent opened a customer by hand: a run they left open for nobody (or for another
    customer) is not shown as this customer's; their own run for this customer is."""
    meier, schulz = AccountFactory(name="Meier"), AccountFactory(name="Schulz")
    survey = demo_versions["survey"]
    desk_client.post("/desk/scripts/start/", {"version": survey.pk}, **HTMX)
    desk_client.post("/desk/scripts/start/", {"version": survey.pk, "account": schulz.pk}, **HTMX)
    html = desk_client.get(f"/desk/?view=script&account={meier.pk}", **HTMX).content.decode()
    assert 'class="start-script"' in html and 'class="script-run"' not in html
    desk_client.post("/desk/scripts/start/", {"version": survey.pk, "account": meier.pk}, **HTMX)
    html = desk_client.get(f"/desk/?view=script&account={meier.pk}", **HTMX).content.decode()
    assert 'class="script-run"' in html and "Meier" in html
    html = desk_client.get("/desk/?view=script", **HTMX).content.decode()
    assert 'class="script-run"' in html and "Meier" not in html
    assert ScriptRun.objects.filter(status=ScriptRun.Status.ACTIVE).count() == 3
