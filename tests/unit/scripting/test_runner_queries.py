"""What the runner reads and writes per step: cached published flows, fixed query counts."""

from __future__ import annotations

import pytest

from scripting.interchange import script_import
from scripting.models import RunAnswer, Script, ScriptRun, Step
from scripting.selectors import flow_for_version
from tests.factories import AccountFactory, AddressFactory, InteractionFactory
from tests.unit.scripting.conftest import publish, script_doc

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}

STEPS = [
    {
        "key": "greeting",
        "kind": "question",
        "title": "Begrüßung",
        "text": "Guten Tag {account.name} aus {account.city}!",
        "answer_type": "yes_no",
        "answers": [
            {"value": "yes", "label": "Ja", "next": "budget"},
            {"value": "no", "label": "Nein", "next": "done"},
        ],
    },
    {
        "key": "budget",
        "kind": "question",
        "title": "Budget",
        "text": "Wie hoch ist das Budget?",
        "answer_type": "number",
        "next": "done",
    },
    {"key": "done", "kind": "end", "outcome": "ok", "text": "Danke, {answers.budget} notiert."},
]


@pytest.fixture
def run(desk_client, agent):
    version = publish(STEPS, code="queries")
    account = AccountFactory(name="Schulz KG")
    AddressFactory(account=account, city="Leipzig")
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    response = desk_client.post(
        "/desk/scripts/start/",
        {"version": version.pk, "interaction": interaction.pk, "account": account.pk},
        **HTMX,
    )
    assert response.status_code == 200
    return ScriptRun.objects.get()


def answer(desk_client, run, step, value):
    return desk_client.post(
        f"/desk/scripts/runs/{run.pk}/answer/", {"step": step, "answer": value}, **HTMX
    ).content.decode()


def test_a_published_versions_flow_is_read_from_the_database_once(
    django_assert_num_queries,
):
    version = publish(STEPS, code="cached")
    first = flow_for_version(version=version)
    with django_assert_num_queries(0):
        again = flow_for_version(version=version)
    assert again is first
    assert [step.key for step in again.steps] == ["greeting", "budget", "done"]


def test_a_drafts_flow_shows_every_edit_at_once():
    version, problems = script_import(text=script_doc(STEPS, code="draft"))
    assert problems == []
    assert flow_for_version(version=version).get("budget").text == "Wie hoch ist das Budget?"
    Step.objects.filter(version=version, key="budget").update(text="Und das Budget?")
    assert flow_for_version(version=version).get("budget").text == "Und das Budget?"


def test_the_account_and_its_city_fill_the_placeholders_of_the_first_step(desk_client, run):
    html = desk_client.get(f"/desk/scripts/runs/{run.pk}/", **HTMX).content.decode()
    assert (
        'Guten Tag <span class="ph">Schulz KG</span> aus <span class="ph">Leipzig</span>!' in html
    )


def test_a_renamed_script_shows_its_new_name_in_open_runs(desk_client, run):
    Script.objects.filter(code="queries").update(name="Neuer Name")
    assert "Neuer Name" in desk_client.get(f"/desk/scripts/runs/{run.pk}/", **HTMX).content.decode()


def test_changing_an_answer_keeps_one_row_per_step(desk_client, run):
    answer(desk_client, run, "greeting", "yes")
    answer(desk_client, run, "budget", "100")
    desk_client.post(f"/desk/scripts/runs/{run.pk}/back/", {"step": "done"}, **HTMX)
    html = answer(desk_client, run, "budget", "250")
    assert 'Danke, <span class="ph">250</span> notiert.' in html
    assert list(RunAnswer.objects.filter(run=run).values_list("step__key", "value")) == [
        ("greeting", "yes"),
        ("budget", "250"),
    ]


# Every desk request reads the session, the user, the user's roles and the agent (4 queries).


def test_showing_a_step_takes_a_fixed_number_of_queries(
    desk_client, run, django_assert_max_num_queries
):
    answer(desk_client, run, "greeting", "yes")
    # The run with its version and script, and the run's answers; the flow is cached.
    with django_assert_max_num_queries(4 + 2):
        html = desk_client.get(f"/desk/scripts/runs/{run.pk}/", **HTMX).content.decode()
    assert 'data-step="budget"' in html


def test_showing_a_step_with_account_placeholders_reads_the_account_once_more(
    desk_client, run, django_assert_max_num_queries
):
    # The account with its customer group, and its addresses for {account.city}.
    with django_assert_max_num_queries(4 + 2 + 2):
        html = desk_client.get(f"/desk/scripts/runs/{run.pk}/", **HTMX).content.decode()
    assert "Leipzig" in html


def test_saving_an_answer_takes_a_fixed_number_of_queries(
    desk_client, run, django_assert_max_num_queries
):
    answer(desk_client, run, "greeting", "yes")
    # The run; then in one transaction (2 statements) the locked run row, the answers,
    # one insert-or-update of the answer and one update of the run; the next step is
    # shown from what the save read.
    with django_assert_max_num_queries(4 + 1 + 2 + 4):
        html = answer(desk_client, run, "budget", "100")
    assert 'data-step="done"' in html
    assert RunAnswer.objects.filter(run=run).count() == 2


def test_going_back_takes_a_fixed_number_of_queries(
    desk_client, run, django_assert_max_num_queries
):
    answer(desk_client, run, "greeting", "yes")
    # The run; the lock and the update in one transaction; the answers, and the account
    # with its addresses for the first step's placeholders.
    with django_assert_max_num_queries(4 + 1 + 2 + 2 + 1 + 2):
        html = desk_client.post(
            f"/desk/scripts/runs/{run.pk}/back/", {"step": "budget"}, **HTMX
        ).content.decode()
    assert 'data-step="greeting"' in html
    assert 'value="yes" checked' in html
