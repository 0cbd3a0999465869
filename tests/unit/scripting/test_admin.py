# ruff: noqa: E501
"""Authoring in the admin: version page with problems and diagram, try it, import, results."""

from __future__ import annotations

import json

import pytest

from scripting import services
from scripting.demo import SURVEY
from scripting.models import Script, ScriptRun, ScriptVersion, Step
from tests.factories import AccountFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, manager_user):
    client.force_login(manager_user)
    return client


def url(version, suffix=""):
    return f"/admin/scripting/scriptversion/{version.pk}/" + (f"{suffix}/" if suffix else "change/")


def test_managers_open_every_scripting_admin_page(manager, demo_versions):
    survey = demo_versions["survey"]
    for page in [
        "/admin/scripting/script/",
        "/admin/scripting/script/add/",
        "/admin/scripting/script/import/",
        "/admin/scripting/scriptversion/",
        "/admin/scripting/offerlist/",
        "/admin/scripting/scriptrun/",
        url(survey),
        url(survey, "preview"),
        url(survey, "results"),
        f"/admin/scripting/step/{survey.steps.first().pk}/change/",
    ]:
        assert manager.get(page).status_code == 200, page


def test_a_new_script_gets_a_first_draft(manager, manager_user):
    response = manager.post(
        "/admin/scripting/script/add/", {"code": "neu", "name": "Neu", "description": "",
        "versions-TOTAL_FORMS": 0, "versions-INITIAL_FORMS": 0},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    version = ScriptVersion.objects.get(script__code="neu")
    assert (version.number, version.status, version.created_by) == (1, "draft", manager_user)


def test_the_version_page_shows_the_problems_and_highlights_them_in_the_diagram(
    manager, demo_versions
):
    draft = services.script_version_duplicate(version=demo_versions["survey"])
    Step.objects.filter(version=draft, key="recommend").update(next_step=None)
    html = manager.get(url(draft)).content.decode()
    assert 'id="script-problems"' in html
    assert "Step “recommend” (Weiterempfehlung) does not say where to go next." in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="flow-diagram"' in html
    assert 'class="node has-problem" data-step="recommend"' in html
    assert 'class="node" data-step="consent"' in html


def test_publishing_from_the_admin_refuses_an_invalid_draft_and_publishes_a_valid_one(
    manager, demo_versions
):
    survey = demo_versions["survey"]
    draft = services.script_version_duplicate(version=survey)
    Step.objects.create(version=draft, key="verwaist", kind="info", position=999)
    response = manager.post(url(draft, "publish"), follow=True)
    assert "cannot be reached from the first step" in response.content.decode()
    assert ScriptVersion.objects.get(pk=draft.pk).status == "draft"
    Step.objects.filter(version=draft, key="verwaist").delete()
    manager.post(url(draft, "publish"))
    assert ScriptVersion.objects.get(pk=draft.pk).status == "published"
    assert ScriptVersion.objects.get(pk=survey.pk).status == "retired"


def test_a_published_version_is_read_only_and_duplicates_to_a_new_draft(manager, demo_versions):
    survey = demo_versions["survey"]
    html = manager.get(url(survey)).content.decode()
    assert "cannot change" in html
    assert 'name="steps-0-text"' not in html
    response = manager.post(url(survey, "duplicate"))
    draft = ScriptVersion.objects.get(script=survey.script, number=2)
    assert response.status_code == 302 and response["Location"].endswith(url(draft))
    assert 'name="steps-0-text"' in manager.get(url(draft)).content.decode()


def test_deleting_a_branch_target_in_the_admin_is_refused_with_a_message(manager, demo_versions):
    draft = services.script_version_duplicate(version=demo_versions["survey"])
    step = Step.objects.get(version=draft, key="complaint")
    response = manager.post(
        f"/admin/scripting/step/{step.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert (
        "Step “complaint” cannot be deleted: step “overall” leads to it."
        in response.content.decode()
    )
    assert Step.objects.filter(pk=step.pk).exists()


def test_deleting_a_branch_target_from_the_version_inline_is_refused(manager, demo_versions):
    draft = services.script_version_duplicate(version=demo_versions["survey"])
    steps = list(Step.objects.filter(version=draft).order_by("position", "id"))
    data = {"notes": draft.notes, "steps-TOTAL_FORMS": len(steps), "steps-INITIAL_FORMS": len(steps),
            "steps-MIN_NUM_FORMS": 0, "steps-MAX_NUM_FORMS": 1000}  # fmt: skip
    for i, step in enumerate(steps):
        data.update({
            f"steps-{i}-id": step.pk, f"steps-{i}-version": draft.pk, f"steps-{i}-position": step.position,
            f"steps-{i}-key": step.key, f"steps-{i}-kind": step.kind, f"steps-{i}-answer_type": step.answer_type,
            f"steps-{i}-title": step.title, f"steps-{i}-text": step.text, f"steps-{i}-is_required": "on" if step.is_required else "",
            f"steps-{i}-next_step": step.next_step_id or "", f"steps-{i}-outcome": step.outcome,
        })  # fmt: skip
        if step.key == "complaint":
            data[f"steps-{i}-DELETE"] = "on"
    response = manager.post(url(draft), data)
    assert response.status_code == 200
    # The admin names the answer that still leads to the step.
    assert (
        "Deleting step complaint would require deleting the following protected related "
        "objects: answer Unzufrieden" in response.content.decode()
    )
    assert Step.objects.filter(version=draft, key="complaint").exists()


def test_try_it_runs_the_draft_with_a_real_account_and_stores_nothing(manager, demo_versions):
    AccountFactory(customer_number="4711", name="Käthe <Kunde>")
    survey = demo_versions["survey"]
    page = manager.post(url(survey, "preview"), {"account": "4711"}).content.decode()
    assert "Käthe &lt;Kunde&gt;" in page
    state = json.dumps({"path": ["consent"], "answers": {}, "texts": {}})
    page = manager.post(
        url(survey, "preview"), {"state": state, "do": "next", "answer": "yes"}
    ).content.decode()
    assert 'data-step="overall"' in page
    page = manager.post(url(survey, "preview"), {"state": state, "do": "next"}).content.decode()
    assert "This question needs an answer." in page
    page = manager.post(
        url(survey, "preview"), {"state": "{broken", "do": "next", "answer": "no"}
    ).content.decode()
    assert 'data-step="end_declined"' in page
    assert ScriptRun.objects.count() == 0


def test_import_in_the_admin_names_line_and_field_and_stores_nothing(manager):
    bad = json.dumps(
        {**SURVEY, "steps": [*SURVEY["steps"], {"key": "x", "kind": "end", "next": "nirgends"}]},
        indent=2,
    )
    html = manager.post("/admin/scripting/script/import/", {"text": bad}).content.decode()
    assert 'id="import-problems"' in html
    assert "steps[10].next: no step has the key “nirgends”." in html
    assert Script.objects.count() == 0
    response = manager.post("/admin/scripting/script/import/", {"text": json.dumps(SURVEY)})
    assert response.status_code == 302
    assert ScriptVersion.objects.get().status == "draft"


def test_export_downloads_the_json(manager, demo_versions):
    response = manager.get(url(demo_versions["survey"], "export"))
    assert response["Content-Disposition"] == 'attachment; filename="kundenzufriedenheit-v1.json"'
    assert json.loads(response.content)["script"]["code"] == "kundenzufriedenheit"


def test_results_show_distributions_and_the_csv_has_one_row_per_finished_run(
    manager, demo_versions, agent
):
    survey = demo_versions["survey"]
    for overall in ("zufrieden", "zufrieden", "sehr_zufrieden"):
        interaction = InteractionFactory(agent=agent.user, outcome="")
        run = services.script_run_start(
            script_version=survey, agent_user=agent.user, interaction=interaction
        )
        for value in ("yes", overall, "=1+2", ["chat"], ""):
            run = services.script_run_answer(
                run=run,
                user=agent.user,
                step_key=run.current_key,
                answer=value if value != "=1+2" else "8",
            )
        services.script_run_finish(run=run, user=agent.user)
    html = manager.get(url(survey, "results")).content.decode()
    assert "3 runs: 3 finished" in html
    assert 'data-chart="overall"' in html
    assert "67 %" in html and "33 %" in html
    csv_text = manager.get(url(survey, "results.csv")).content.decode("utf-8-sig")
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith(
        "run,started,finished,agent,account,outcome,disposition,consent,overall"
    )
    assert len(rows) == 4


def test_agents_have_no_scripting_admin(client, agent, demo_versions):
    client.force_login(agent.user)
    assert client.get(url(demo_versions["survey"], "preview")).status_code == 302
