"""Read paths of the scripting app: flows, published versions, runs and results."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from accounts.models import Account, Contact
from icenter.errors import NotFound
from scripting.flow import (
    CHOICE_TYPES,
    Flow,
    FlowAction,
    FlowAnswer,
    FlowBranch,
    FlowStep,
    RunContext,
)
from scripting.models import (
    Answer,
    Branch,
    Offer,
    OfferList,
    RunAnswer,
    Script,
    ScriptRun,
    ScriptVersion,
    Step,
    StepAction,
)

# Published versions never change, so their flows can be kept (per process, by id).
_PUBLISHED_FLOWS: dict[int, Flow] = {}
_PUBLISHED_FLOWS_MAX = 256


def flow_for_version(*, version: ScriptVersion) -> Flow:
    """The version's steps with answers, conditions and actions, in five queries (or none)."""
    cached = _PUBLISHED_FLOWS.get(version.pk)
    if cached is not None:
        return cached
    steps = list(
        Step.objects.filter(version=version)
        .select_related("offer_list")
        .prefetch_related(
            Prefetch("answers", queryset=Answer.objects.order_by("position", "id")),
            Prefetch("branches", queryset=Branch.objects.order_by("position", "id")),
            Prefetch(
                "actions",
                queryset=StepAction.objects.select_related("offer_list").order_by("position", "id"),
            ),
        )
        .order_by("position", "id")
    )
    keys = {step.pk: step.key for step in steps}

    def key_of(step_id: int | None) -> str | None:
        if step_id is None:
            return None
        # A target in another version is as good as missing: validation says so.
        return keys.get(step_id, f"#{step_id}")

    flow = Flow(
        name=version.script.name,
        version_id=version.pk,
        steps=[
            FlowStep(
                id=step.pk,
                key=step.key,
                kind=step.kind,
                title=step.title,
                text=step.text,
                answer_type=step.answer_type,
                is_required=step.is_required,
                next_key=key_of(step.next_step_id),
                outcome=step.outcome,
                offer_list=step.offer_list.code if step.offer_list else "",
                offer_count=step.offer_count,
                answers=[
                    FlowAnswer(value=a.value, label=a.label, next_key=key_of(a.next_step_id))
                    for a in step.answers.all()
                ],
                branches=[
                    FlowBranch(
                        subject=b.subject,
                        operator=b.operator,
                        answer_key=b.answer_key,
                        value=b.value,
                        next_key=key_of(b.next_step_id) or "",
                    )
                    for b in step.branches.all()
                ],
                actions=[
                    FlowAction(
                        kind=a.kind,
                        value=a.value,
                        offer_list=a.offer_list.code if a.offer_list else "",
                        top_n=a.top_n,
                    )
                    for a in step.actions.all()
                ],
            )
            for step in steps
        ],
    )
    if version.status != ScriptVersion.Status.DRAFT:
        if len(_PUBLISHED_FLOWS) >= _PUBLISHED_FLOWS_MAX:
            _PUBLISHED_FLOWS.clear()
        _PUBLISHED_FLOWS[version.pk] = flow
    return flow


def offer_list_codes() -> set[str]:
    return set(OfferList.objects.values_list("code", flat=True))


def script_version_published_get(
    *, script: Script | None = None, code: str = ""
) -> ScriptVersion | None:
    """The version of a script agents run now (by script or by its code), or None."""
    versions = ScriptVersion.objects.filter(status=ScriptVersion.Status.PUBLISHED).select_related(
        "script"
    )
    if script is not None:
        return versions.filter(script=script).first()
    if code:
        return versions.filter(script__code=code).first()
    return None


def script_version_list_published() -> list[ScriptVersion]:
    """Every script agents can open by hand, by name."""
    return list(
        ScriptVersion.objects.filter(status=ScriptVersion.Status.PUBLISHED)
        .select_related("script")
        .order_by("script__name")
    )


def offer_list_top(*, code: str, account: dict[str, Any], limit: int) -> list[Offer]:
    """The best-ranked active offers of a list that fit the customer (group, VIP)."""
    offers = Offer.objects.filter(offer_list__code=code, is_active=True)
    group = account.get("customer_group_code") or ""
    offers = offers.filter(Q(customer_group__isnull=True) | Q(customer_group__code=group))
    if not account.get("is_vip"):
        offers = offers.filter(vip_only=False)
    return list(offers.order_by("rank", "id")[:limit])


def account_context(account: Account | None) -> dict[str, Any]:
    if account is None:
        return {}
    group = account.customer_group
    city = ""
    addresses = getattr(account, "_prefetched_objects_cache", {}).get("addresses")
    if addresses is not None and addresses:
        city = addresses[0].city
    return {
        "name": account.name,
        "customer_number": account.customer_number,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "is_vip": account.is_vip,
        "customer_group": group.name if group else "",
        "customer_group_code": group.code if group else "",
        "city": city,
    }


def contact_context(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": contact.full_name,
        "position": contact.position,
    }


def run_context(*, run: ScriptRun, answers: list[RunAnswer] | None = None) -> RunContext:
    """What the run's placeholders and conditions see: the answers on the way taken."""
    if answers is None:
        answers = list(run.answers.select_related("step"))
    # Answers of steps the run left by going back and choosing another way do not count.
    on_path = set(run.path)
    answers = [a for a in answers if a.step.key in on_path]
    agent = run.agent
    return RunContext(
        account=account_context(run.account),
        contact=contact_context(run.contact),
        campaign=dict(run.campaign or {}),
        agent=_agent_context(agent),
        answers={a.step.key: a.value for a in answers},
        answer_texts={a.step.key: a.display for a in answers},
    )


def _agent_context(agent: Any) -> dict[str, Any]:
    if agent is None:
        return {}
    return {"name": agent.get_full_name() or agent.get_username(), "first_name": agent.first_name}


def run_answer_rows(*, run: ScriptRun, fresh: bool = False) -> dict[int, tuple[Any, str]]:
    """Every answer of the run by step id: (value, text); one query per run object.

    The rows are kept on the run object, so that saving an answer (which updates them,
    see script_run_answer) and showing the next step read them once; `fresh` reads again.
    """
    rows: dict[int, tuple[Any, str]] | None = getattr(run, "_answer_rows", None)
    if rows is None or fresh:
        answers = RunAnswer.objects.filter(run_id=run.pk)
        rows = {
            step_id: (value, display)
            for step_id, value, display in answers.values_list("step_id", "value", "display")
        }
        run._answer_rows = rows  # type: ignore[attr-defined]
    return rows


def run_answers(*, run: ScriptRun, flow: Flow) -> dict[str, tuple[Any, str]]:
    """The run's answers on the way taken, by step key: (value, text)."""
    on_path = set(run.path)
    answers: dict[str, tuple[Any, str]] = {}
    for step_id, answer in run_answer_rows(run=run).items():
        step = flow.get_by_id(step_id)
        # Answers of steps the run left by going back and choosing another way do not count.
        if step is not None and step.key in on_path:
            answers[step.key] = answer
    return answers


def run_context_for_step(
    *,
    run: ScriptRun,
    answers: dict[str, tuple[Any, str]],
    needs: frozenset[str] = frozenset(),
    agent: Any = None,
) -> RunContext:
    """What one step of a run sees; reads the account (with its city) and the contact only
    when the step needs them (see placeholders.step_needs), one query each.

    `agent` is the user working the run (the run's agent), so that it is not read again.
    """
    account: Account | None = None
    if "account" in needs or "city" in needs:
        account = _account_for_context(run, with_city="city" in needs)
    contact: Contact | None = None
    if "contact" in needs and run.contact_id is not None:
        contact = run.contact
    if agent is None or agent.pk != run.agent_id:
        agent = run.agent
    return RunContext(
        account=account_context(account),
        contact=contact_context(contact),
        campaign=dict(run.campaign or {}),
        agent=_agent_context(agent),
        answers={key: value for key, (value, _text) in answers.items()},
        answer_texts={key: text for key, (_value, text) in answers.items()},
    )


def _account_for_context(run: ScriptRun, *, with_city: bool) -> Account | None:
    if run.account_id is None:
        return None
    accounts = Account.objects.select_related("customer_group")
    if with_city:
        accounts = accounts.prefetch_related("addresses")
    return accounts.filter(pk=run.account_id).first()


def _runs() -> QuerySet[ScriptRun]:
    return ScriptRun.objects.select_related(
        "version", "version__script", "agent", "account", "account__customer_group", "contact"
    )


def run_get_for_agent(*, run_id: int, user: Any, for_update: bool = False) -> ScriptRun:
    """The agent's own run with its version, or NotFound (another agent's run is not visible).

    One query; the account and contact are read by run_context_for_step when a step shows
    them.
    """
    runs = ScriptRun.objects.select_related("version", "version__script")
    if for_update:
        runs = runs.select_for_update(of=("self",))
    try:
        return runs.get(pk=run_id, agent=user)
    except ScriptRun.DoesNotExist:
        raise NotFound("Script run not found.") from None


def run_active_for_desk(
    *, user: Any, interaction_id: int | None, account_id: int | None = None
) -> ScriptRun | None:
    """The run the agent has open for this contact; without a contact, their latest open run
    for the account they have open (or, with none open, without an account)."""
    runs = _runs().filter(agent=user, status=ScriptRun.Status.ACTIVE)
    if interaction_id is not None:
        runs = runs.filter(interaction_id=interaction_id)
    elif account_id is not None:
        runs = runs.filter(interaction__isnull=True, account_id=account_id)
    else:
        runs = runs.filter(interaction__isnull=True, account__isnull=True)
    return runs.order_by("-updated_at", "-id").first()


def run_list_for_interaction(*, interaction_id: int) -> list[ScriptRun]:
    return list(_runs().filter(interaction_id=interaction_id).order_by("-started_at"))


# -- results -----------------------------------------------------------------------------------


@dataclass
class AnswerCount:
    label: str
    count: int
    percent: int = 0


@dataclass
class QuestionResult:
    key: str
    title: str
    answer_type: str
    answered: int = 0
    counts: list[AnswerCount] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)


@dataclass
class VersionResults:
    version: ScriptVersion
    runs: int
    finished: int
    abandoned: int
    active: int
    outcomes: list[AnswerCount]
    questions: list[QuestionResult]


def _with_percent(counts: list[AnswerCount], total: int) -> list[AnswerCount]:
    for item in counts:
        item.percent = round(100 * item.count / total) if total else 0
    return counts


def version_results(*, version: ScriptVersion) -> VersionResults:
    """Answer distributions and outcomes of a version's runs, in a fixed number of queries."""
    flow = flow_for_version(version=version)
    status = dict(
        ScriptRun.objects.filter(version=version)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    finished = status.get(ScriptRun.Status.FINISHED, 0)
    outcome_rows = (
        ScriptRun.objects.filter(version=version, status=ScriptRun.Status.FINISHED)
        .values("outcome")
        .annotate(n=Count("id"))
        .order_by("-n", "outcome")
    )
    outcomes = _with_percent(
        [AnswerCount(row["outcome"] or "–", row["n"]) for row in outcome_rows], finished
    )
    by_step: dict[int, list[Any]] = {}
    for step_id, value in RunAnswer.objects.filter(
        run__version=version, run__status=ScriptRun.Status.FINISHED
    ).values_list("step_id", "value"):
        by_step.setdefault(step_id, []).append(value)
    questions = []
    for step in flow.steps:
        if not step.is_question:
            continue
        values = [v for v in by_step.get(step.id or 0, []) if v not in (None, "", [])]
        result = QuestionResult(step.key, step.title or step.key, step.answer_type, len(values))
        if step.answer_type in CHOICE_TYPES:
            counter: Counter[str] = Counter()
            for value in values:
                counter.update(value if isinstance(value, list) else [value])
            result.counts = _with_percent(
                [AnswerCount(a.label, counter.get(a.value, 0)) for a in step.choices()],
                len(values),
            )
        elif step.answer_type == "number":
            counter = Counter(str(v) for v in values)
            result.counts = _with_percent(
                [AnswerCount(label, n) for label, n in sorted(counter.items(), key=_numeric)],
                len(values),
            )
        else:
            result.samples = [str(v) for v in values[-10:]]
        questions.append(result)
    return VersionResults(
        version=version,
        runs=sum(status.values()),
        finished=finished,
        abandoned=status.get(ScriptRun.Status.ABANDONED, 0),
        active=status.get(ScriptRun.Status.ACTIVE, 0),
        outcomes=outcomes,
        questions=questions,
    )


def _numeric(item: tuple[str, int]) -> tuple[float, str]:
    try:
        return float(item[0]), item[0]
    except ValueError:
        return float("inf"), item[0]


def run_rows_for_export(*, version: ScriptVersion) -> tuple[list[str], list[list[str]]]:
    """Header and one row per finished run: who, when, outcome and each question's answer."""
    flow = flow_for_version(version=version)
    questions = [step for step in flow.steps if step.is_question]
    header = ["run", "started", "finished", "agent", "account", "outcome", "disposition"]
    header += [step.key for step in questions]
    runs = (
        ScriptRun.objects.filter(version=version, status=ScriptRun.Status.FINISHED)
        .select_related("agent", "account")
        .prefetch_related(Prefetch("answers", queryset=RunAnswer.objects.select_related("step")))
        .order_by("started_at", "id")
    )
    rows = []
    for run in runs:
        answers = {a.step.key: a.display for a in run.answers.all()}
        rows.append(
            [
                str(run.pk),
                run.started_at.isoformat(),
                run.finished_at.isoformat() if run.finished_at else "",
                run.agent.get_username() if run.agent else "",
                run.account.customer_number if run.account else "",
                run.outcome,
                run.disposition,
                *(answers.get(step.key, "") for step in questions),
            ]
        )
    return header, rows
