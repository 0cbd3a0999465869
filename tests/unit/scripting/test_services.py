# ruff: noqa: E501
"""Authoring and running scripts through the services."""

from __future__ import annotations

import pytest

from icenter.errors import DomainError, PermissionDenied
from scripting import services
from scripting.demo import SURVEY_CODE, demo_scripts_seed
from scripting.models import RunAnswer, ScriptRun, ScriptVersion, Step
from scripting.selectors import offer_list_top, script_version_published_get
from tests.factories import AccountFactory, CustomerGroupFactory, InteractionFactory
from tests.unit.scripting.conftest import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(demo_versions):
    return demo_versions["survey"]


@pytest.fixture
def interaction(agent):
    account = AccountFactory(name="Müller GmbH", is_vip=False)
    return InteractionFactory(account=account, agent=agent.user, outcome="")


def start(version, agent, interaction=None, **kwargs):
    return services.script_run_start(
        script_version=version, agent_user=agent.user, interaction=interaction, **kwargs
    )


def answer(run, agent, value=None):
    return services.script_run_answer(
        run=run, user=agent.user, step_key=run.current_key, answer=value
    )


def test_the_published_version_is_found_by_script_or_code(survey):
    assert script_version_published_get(code=SURVEY_CODE) == survey
    assert script_version_published_get(script=survey.script) == survey
    assert script_version_published_get(code="nope") is None


def test_a_run_starts_at_the_first_step_linked_to_the_interaction_and_its_account(
    survey, agent, interaction
):
    run = start(survey, agent, interaction)
    assert run.path == ["consent"]
    assert run.interaction == interaction
    assert run.account == interaction.account
    assert run.version == survey
    assert run.source == "manual"


def test_starting_again_for_the_same_contact_resumes_the_open_run(survey, agent, interaction):
    run = start(survey, agent, interaction)
    run = answer(run, agent, "yes")
    again = start(survey, agent, interaction, source="queue")
    assert again.pk == run.pk
    assert again.path == ["consent", "overall"]


def test_only_published_versions_run_and_only_for_the_contacts_own_agent(
    survey, agent, other_agent, interaction
):
    draft = services.script_version_duplicate(version=survey)
    with pytest.raises(DomainError, match="Only a published script"):
        start(draft, agent, interaction)
    with pytest.raises(PermissionDenied):
        start(survey, other_agent, interaction)


def test_the_survey_branches_on_answers_and_on_an_earlier_answer_then_finishes(
    survey, agent, interaction
):
    run = start(survey, agent, interaction)
    for value in ("yes", "unzufrieden", "Lange Wartezeit", "2030-01-15", "3", ["telefon", "chat"]):
        run = answer(run, agent, value)
    assert run.path == [
        "consent", "overall", "complaint", "callback_date", "recommend", "channels", "email",
    ]  # fmt: skip
    run = answer(run, agent, "")  # optional email left empty
    # The condition on the earlier complaint answer leads to the complaint ending.
    assert run.current_key == "end_complaint"
    answers = {
        a.step.key: a.value for a in RunAnswer.objects.filter(run=run).select_related("step")
    }
    assert answers["channels"] == ["telefon", "chat"]
    assert answers["recommend"] == "3"
    assert "email" not in answers


def test_the_happy_path_ends_without_the_complaint_steps(survey, agent, interaction):
    run = start(survey, agent, interaction)
    for value in ("yes", "sehr_zufrieden", "10", ["email"], "kunde@example.de"):
        run = answer(run, agent, value)
    assert run.path == ["consent", "overall", "recommend", "channels", "email", "end_done"]
    run = services.script_run_finish(run=run, user=agent.user)
    assert run.status == ScriptRun.Status.FINISHED
    assert run.outcome == "completed"
    assert run.disposition == "survey_completed"
    assert run.finished_at is not None


def test_a_required_answer_is_enforced_and_nothing_moves(survey, agent, interaction):
    run = start(survey, agent, interaction)
    with pytest.raises(DomainError, match="needs an answer"):
        answer(run, agent, "")
    run.refresh_from_db()
    assert run.path == ["consent"]


def test_back_keeps_the_answers_and_a_changed_answer_takes_the_other_branch(
    survey, agent, interaction
):
    run = start(survey, agent, interaction)
    run = answer(run, agent, "yes")
    run = answer(run, agent, "unzufrieden")
    run = services.script_run_back(run=run, user=agent.user, step_key="complaint")
    assert run.current_key == "overall"
    kept = RunAnswer.objects.get(run=run, step__key="overall")
    assert kept.value == "unzufrieden"
    run = answer(run, agent, "zufrieden")
    assert run.path == ["consent", "overall", "recommend"]


def test_an_answer_for_a_step_the_run_has_left_is_refused(survey, agent, interaction):
    run = start(survey, agent, interaction)
    answer(run, agent, "yes")
    with pytest.raises(DomainError, match="no longer the current one"):
        services.script_run_answer(run=run, user=agent.user, step_key="consent", answer="no")


def test_another_agent_cannot_answer_a_run(survey, agent, other_agent, interaction):
    run = start(survey, agent, interaction)
    with pytest.raises(PermissionDenied):
        answer(run, other_agent, "yes")


def test_finishing_drops_answers_off_the_way_taken(survey, agent, interaction):
    run = start(survey, agent, interaction)
    run = answer(run, agent, "yes")
    run = answer(run, agent, "unzufrieden")
    run = answer(run, agent, "Zu teuer")
    run = services.script_run_back(run=run, user=agent.user)
    run = services.script_run_back(run=run, user=agent.user)
    for value in ("sehr_zufrieden", "9", ["chat"], ""):
        run = answer(run, agent, value)
    assert run.current_key == "end_done"
    services.script_run_finish(run=run, user=agent.user)
    keys = set(RunAnswer.objects.filter(run=run).values_list("step__key", flat=True))
    assert keys == {"consent", "overall", "recommend", "channels"}


def test_a_run_can_only_finish_on_an_end_step_and_only_once(survey, agent, interaction):
    run = start(survey, agent, interaction)
    with pytest.raises(DomainError, match="not at its end"):
        services.script_run_finish(run=run, user=agent.user)
    run = answer(run, agent, "no")
    services.script_run_finish(run=run, user=agent.user)
    with pytest.raises(DomainError, match="already closed"):
        services.script_run_finish(run=run, user=agent.user)


def test_an_abandoned_run_keeps_its_answers(survey, agent, interaction):
    run = answer(start(survey, agent, interaction), agent, "yes")
    run = services.script_run_abandon(run=run, user=agent.user)
    assert run.status == ScriptRun.Status.ABANDONED
    assert RunAnswer.objects.filter(run=run).count() == 1


def test_a_published_version_is_frozen_and_edits_go_to_a_new_draft(survey, agent, interaction):
    with pytest.raises(DomainError, match="cannot change"):
        services.version_require_draft(survey)
    run = start(survey, agent, interaction)
    draft = services.script_version_duplicate(version=survey)
    assert draft.number == 2 and draft.status == ScriptVersion.Status.DRAFT
    assert draft.steps.count() == survey.steps.count()
    copied = Step.objects.get(version=draft, key="consent")
    assert {a.next_step.version_id for a in copied.answers.all()} == {draft.pk}
    Step.objects.filter(version=draft, key="overall").update(text="Neue Frage")
    services.script_version_publish(version=draft)
    survey.refresh_from_db()
    assert survey.status == ScriptVersion.Status.RETIRED
    # The run continues on the version it started with.
    run = answer(run, agent, "yes")
    assert run.version_id == survey.pk
    assert Step.objects.get(version=survey, key="overall").text != "Neue Frage"
    services.script_run_answer(run=run, user=agent.user, step_key="overall", answer="zufrieden")


def test_publishing_an_invalid_draft_is_refused_with_every_problem(survey):
    draft = services.script_version_duplicate(version=survey)
    Step.objects.filter(version=draft, key="recommend").update(next_step=None)
    with pytest.raises(services.ScriptInvalid) as error:
        services.script_version_publish(version=draft)
    assert (
        "Step “recommend” (Weiterempfehlung) does not say where to go next" in error.value.message
    )
    draft.refresh_from_db()
    assert draft.status == ScriptVersion.Status.DRAFT


def test_deleting_a_step_that_another_step_leads_to_is_refused(survey):
    draft = services.script_version_duplicate(version=survey)
    target = Step.objects.get(version=draft, key="complaint")
    with pytest.raises(DomainError) as error:
        services.step_delete(step=target)
    assert error.value.message == (
        "Step “complaint” cannot be deleted: step “overall” leads to it. Change those steps first."
    )
    assert Step.objects.filter(pk=target.pk).exists()
    lonely = Step.objects.create(version=draft, key="lonely", kind="info", position=999)
    services.step_delete(step=lonely)
    assert not Step.objects.filter(pk=lonely.pk).exists()


def test_outcome_actions_store_disposition_lead_and_top_n_offers(agent):
    group = CustomerGroupFactory(code="gewerbe", name="Geschäftskunden")
    version = demo_scripts_seed()[1]
    account = AccountFactory(customer_group=group, is_vip=False)
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    run = start(version, agent, interaction)
    run = answer(run, agent)  # greet → business (customer group condition)
    assert run.current_key == "business"
    run = answer(run, agent)
    run = answer(run, agent, "ja")
    run = answer(run, agent, "25")
    assert run.current_key == "end_offer"
    run = services.script_run_finish(run=run, user=agent.user)
    assert run.lead_qualified is True
    assert run.disposition == "sale_interest"
    assert run.outcome == "qualified"
    # Top 3 for a non-VIP business customer: not the VIP-only product.
    names = [o["name"] for o in run.offers]
    assert names == ["Glasfaser 1000", "Business-Festnetz", "Mobilfunk-Option 20 GB"]


def test_top_n_offers_fit_the_customer_group_and_vip_status(agent):
    CustomerGroupFactory(code="gewerbe", name="Geschäftskunden")
    demo_scripts_seed()
    private = {"customer_group_code": "privat", "is_vip": False}
    vip = {"customer_group_code": "privat", "is_vip": True}
    assert [o.name for o in offer_list_top(code="zusatzprodukte", account=private, limit=3)] == [
        "Glasfaser 1000", "Mobilfunk-Option 20 GB", "TV-Paket",
    ]  # fmt: skip
    assert [o.name for o in offer_list_top(code="zusatzprodukte", account=vip, limit=2)] == [
        "Premium-Support", "Glasfaser 1000",
    ]  # fmt: skip


def test_a_low_budget_takes_the_condition_branch(demo_versions, agent, interaction):
    run = start(demo_versions["cross_sell"], agent, interaction)
    for value in (None, "ja", "5"):
        run = answer(run, agent, value)
    assert run.current_key == "end_later"


def test_a_ticket_action_without_an_account_is_recorded_and_the_run_still_finishes(agent):
    version = publish(
        [
            {"key": "a", "kind": "info", "text": "Hallo", "next": "z"},
            {"key": "z", "kind": "end", "outcome": "done", "actions": [{"type": "create_ticket", "value": "Test"}]},
        ]
    )  # fmt: skip
    run = start(version, agent)
    run = answer(run, agent)
    run = services.script_run_finish(run=run, user=agent.user)
    assert run.status == ScriptRun.Status.FINISHED
    assert run.action_results == [
        {
            "action": "create_ticket",
            "error": True,
            "text": "No ticket was created: the run has no account.",
        }
    ]


def test_the_complaint_ending_opens_a_ticket_and_schedules_a_callback_by_the_agent(survey, agent):
    from accounts.models import Ticket
    from telephony.models import WorkItem

    account = AccountFactory(name="Müller GmbH")
    interaction = InteractionFactory(
        account=account, agent=agent.user, outcome="", address="+49301234567"
    )
    from datetime import timedelta

    from django.utils import timezone

    day = (timezone.localdate() + timedelta(days=10)).isoformat()
    run = start(survey, agent, interaction)
    for value in ("yes", "unzufrieden", "Rechnung falsch", day, "2", ["email"], ""):
        run = answer(run, agent, value)
    run = services.script_run_finish(run=run, user=agent.user)
    results = {r["action"]: r for r in run.action_results}
    assert "error" not in results["create_ticket"], results
    ticket = Ticket.objects.get(pk=results["create_ticket"]["ticket"])
    assert ticket.subject == "Beschwerde aus Zufriedenheitsumfrage: Rechnung falsch"
    assert ticket.account == account and ticket.interaction == interaction
    assert "error" not in results["schedule_callback"], results
    callback = WorkItem.objects.get(pk=results["schedule_callback"]["callback"])
    assert callback.channel == "callback"
    assert timezone.localtime(callback.not_before).date().isoformat() == day
    assert run.disposition == "survey_complaint"
