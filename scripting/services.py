"""Write paths of the scripting app: authoring scripts and running them with customers."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Contact, Interaction
from icenter.errors import DomainError, PermissionDenied
from scripting import actions
from scripting.flow import RunContext, answer_parse, next_key
from scripting.models import (
    Answer,
    Branch,
    RunAnswer,
    Script,
    ScriptRun,
    ScriptVersion,
    Step,
    StepAction,
)
from scripting.placeholders import step_needs
from scripting.selectors import (
    flow_for_version,
    offer_list_codes,
    run_answer_rows,
    run_answers,
    run_context,
    run_context_for_step,
)
from scripting.validation import Problem, flow_validate

logger = logging.getLogger(__name__)


class ScriptInvalid(DomainError):
    """A version failed validation; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        message = _("The script cannot be published: %(first)s") % {"first": problems[0].message}
        if len(problems) > 1:
            message += " " + _("(%(count)d problems in all)") % {"count": len(problems)}
        super().__init__(message, problems=[p.message for p in problems])
        self.problems = problems


# -- authoring ---------------------------------------------------------------------------------


def version_require_draft(version: ScriptVersion) -> None:
    """Refuse to change a published or retired version: runs rely on it as it is."""
    if version.status != ScriptVersion.Status.DRAFT:
        raise DomainError(
            _(
                "Version %(number)d is %(status)s and cannot change. "
                "Duplicate it to a new draft version to edit it."
            )
            % {"number": version.number, "status": version.get_status_display().lower()},
            version=version.pk,
        )


@transaction.atomic
def script_create(
    *, code: str, name: str, description: str = "", created_by: Any = None
) -> ScriptVersion:
    """Create a script with its first, empty draft version."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise DomainError(_("A script needs a code and a name."), field="code")
    if Script.objects.filter(code=code).exists():
        raise DomainError(
            _("A script with the code “%(code)s” exists already.") % {"code": code}, field="code"
        )
    script = Script.objects.create(code=code, name=name, description=description)
    return ScriptVersion.objects.create(script=script, number=1, created_by=created_by)


def _next_number(script: Script) -> int:
    # Locks the script row so that two managers duplicating at once get distinct numbers.
    Script.objects.select_for_update().filter(pk=script.pk).first()
    top = ScriptVersion.objects.filter(script=script).aggregate(top=Max("number"))["top"]
    return int(top or 0) + 1


@transaction.atomic
def script_version_duplicate(*, version: ScriptVersion, created_by: Any = None) -> ScriptVersion:
    """Copy a version (of any status) with all its steps into a new draft version.

    Locks the script row while numbering the new version.
    """
    draft = ScriptVersion.objects.create(
        script=version.script,
        number=_next_number(version.script),
        created_by=created_by,
        notes=_("Copy of version %(number)d") % {"number": version.number},
    )
    old_steps = list(Step.objects.filter(version=version).order_by("position", "id"))
    new_by_old: dict[int, Step] = {}
    for old in old_steps:
        new_by_old[old.pk] = Step.objects.create(
            version=draft,
            key=old.key,
            position=old.position,
            kind=old.kind,
            answer_type=old.answer_type,
            title=old.title,
            text=old.text,
            is_required=old.is_required,
            outcome=old.outcome,
            offer_list_id=old.offer_list_id,
            offer_count=old.offer_count,
        )

    def mapped(step_id: int | None) -> Step | None:
        return new_by_old.get(step_id) if step_id is not None else None

    for old in old_steps:
        new = new_by_old[old.pk]
        if old.next_step_id is not None:
            new.next_step = mapped(old.next_step_id)
            new.save(update_fields=["next_step"])
    Answer.objects.bulk_create(
        Answer(
            step=new_by_old[a.step_id],
            position=a.position,
            value=a.value,
            label=a.label,
            next_step=mapped(a.next_step_id),
        )
        for a in Answer.objects.filter(step__version=version)
    )
    Branch.objects.bulk_create(
        Branch(
            step=new_by_old[b.step_id],
            position=b.position,
            subject=b.subject,
            answer_key=b.answer_key,
            operator=b.operator,
            value=b.value,
            next_step=mapped(b.next_step_id),
        )
        for b in Branch.objects.filter(step__version=version)
        if mapped(b.next_step_id) is not None
    )
    StepAction.objects.bulk_create(
        StepAction(
            step=new_by_old[a.step_id],
            position=a.position,
            kind=a.kind,
            value=a.value,
            offer_list_id=a.offer_list_id,
            top_n=a.top_n,
        )
        for a in StepAction.objects.filter(step__version=version)
    )
    return draft


def script_version_validate(*, version: ScriptVersion) -> list[Problem]:
    """Every problem that keeps the version from being published."""
    return flow_validate(flow_for_version(version=version), offer_lists=offer_list_codes())


@transaction.atomic
def script_version_publish(*, version: ScriptVersion) -> ScriptVersion:
    """Publish a valid draft: agents run it from now on, the version published before retires.

    Locks the script row so that two publications cannot both be current.
    """
    Script.objects.select_for_update().filter(pk=version.script_id).first()
    version.refresh_from_db()
    version_require_draft(version)
    problems = script_version_validate(version=version)
    if problems:
        raise ScriptInvalid(problems)
    now = timezone.now()
    ScriptVersion.objects.filter(
        script_id=version.script_id, status=ScriptVersion.Status.PUBLISHED
    ).update(status=ScriptVersion.Status.RETIRED, retired_at=now)
    version.status = ScriptVersion.Status.PUBLISHED
    version.published_at = now
    version.save(update_fields=["status", "published_at"])
    return version


@transaction.atomic
def script_version_retire(*, version: ScriptVersion) -> ScriptVersion:
    """Stop offering a published version; runs already open may still finish on it."""
    if version.status != ScriptVersion.Status.PUBLISHED:
        raise DomainError(_("Only a published version can be retired."))
    version.status = ScriptVersion.Status.RETIRED
    version.retired_at = timezone.now()
    version.save(update_fields=["status", "retired_at"])
    return version


def step_references(step: Step, *, ignore: set[int] | None = None) -> list[str]:
    """Keys of the other steps that lead to this one (by next step, answer or condition)."""
    ignore = {step.pk, *(ignore or set())}
    sources = (
        Step.objects.filter(
            Q(next_step=step) | Q(answers__next_step=step) | Q(branches__next_step=step)
        )
        .exclude(pk__in=ignore)
        .values_list("key", flat=True)
        .distinct()
    )
    return sorted(sources)


def step_delete_refusal(step: Step, *, ignore: set[int] | None = None) -> str:
    """Why the step cannot be deleted, or "" when it can."""
    if step.version.status != ScriptVersion.Status.DRAFT:
        return _("Steps of a published or retired version cannot be deleted.")
    sources = step_references(step, ignore=ignore)
    if sources:
        return _(
            "Step “%(key)s” cannot be deleted: step %(sources)s leads to it. "
            "Change those steps first."
        ) % {"key": step.key, "sources": ", ".join(f"“{s}”" for s in sources)}
    return ""


@transaction.atomic
def step_delete(*, step: Step) -> None:
    """Delete a draft's step; refused while another step leads to it."""
    refusal = step_delete_refusal(step)
    if refusal:
        raise DomainError(refusal, step=step.key)
    # Its own answers and conditions may point at itself; they go with it.
    Answer.objects.filter(step=step).delete()
    Branch.objects.filter(step=step).delete()
    Step.objects.filter(pk=step.pk).update(next_step=None)
    step.delete()


# -- running -----------------------------------------------------------------------------------


@transaction.atomic
def script_run_start(
    *,
    script_version: ScriptVersion,
    agent_user: Any,
    interaction: Interaction | None,
    account: Account | None = None,
    contact: Contact | None = None,
    campaign: dict[str, str] | None = None,
    source: str = ScriptRun.Source.MANUAL,
) -> ScriptRun:
    """Open a published script for an agent's contact; the run already open there resumes.

    The account and contact default to the interaction's. Queues, call lists and alert
    rules call this with their source; campaigns pass {"code", "name"}.
    """
    if script_version.status != ScriptVersion.Status.PUBLISHED:
        raise DomainError(_("Only a published script can be run."))
    if source not in ScriptRun.Source.values:
        raise DomainError(_("Unknown source “%(source)s”.") % {"source": source}, field="source")
    if interaction is not None and interaction.agent_id not in (None, agent_user.pk):
        raise PermissionDenied(_("This contact is handled by another agent."))
    open_runs = ScriptRun.objects.filter(
        version=script_version, agent=agent_user, status=ScriptRun.Status.ACTIVE
    )
    open_runs = (
        open_runs.filter(interaction=interaction)
        if interaction is not None
        else open_runs.filter(interaction__isnull=True, account=account)
    )
    existing = open_runs.order_by("-id").first()
    if existing is not None:
        return existing
    if interaction is not None:
        account = account or interaction.account
        contact = contact or interaction.contact
    if contact is not None and account is not None and contact.account_id != account.pk:
        raise DomainError(_("The contact belongs to another account."), field="contact")
    flow = flow_for_version(version=script_version)
    if flow.start is None:
        raise DomainError(_("This script has no steps."))
    campaign_data = {k: str(v)[:200] for k, v in (campaign or {}).items() if k in ("code", "name")}
    return ScriptRun.objects.create(
        version=script_version,
        agent=agent_user,
        interaction=interaction,
        account=account,
        contact=contact,
        campaign=campaign_data,
        source=source,
        path=[flow.start.key],
    )


def _require_open(run: ScriptRun, user: Any) -> None:
    if run.agent_id != user.pk:
        raise PermissionDenied(_("This script run belongs to another agent."))
    if run.status != ScriptRun.Status.ACTIVE:
        raise DomainError(_("This script run is already closed."))


def _require_current(run: ScriptRun, step_key: str) -> None:
    if step_key and step_key != run.current_key:
        # A second tab or a double click answered a step the run has left.
        raise DomainError(
            _("This step is no longer the current one; the script shows where you are now."),
            field="step",
        )


def _lock_run(run: ScriptRun) -> ScriptRun:
    """Lock the run's row and bring its status and path up to date on the run given."""
    run.status, run.path, run.agent_id = (
        ScriptRun.objects.select_for_update()
        .filter(pk=run.pk)
        .values_list("status", "path", "agent_id")
        .get()
    )
    return run


@transaction.atomic
def script_run_answer(
    *, run: ScriptRun, user: Any, step_key: str, answer: str | list[str] | None = None
) -> ScriptRun:
    """Store the answer to the current step and move to the step it leads to.

    Locks the run row: two submissions of the same step go one after the other and the
    second is refused as stale. The run given is updated in place and returned.
    """
    _lock_run(run)
    _require_open(run, user)
    _require_current(run, step_key)
    flow = flow_for_version(version=run.version)
    step = flow.get(run.current_key)
    if step is None:
        raise DomainError(_("This script run points at a step that does not exist."))
    if step.is_end:
        raise DomainError(_("This is the last step: finish the script."))
    parsed = answer_parse(step, answer)
    rows = run_answer_rows(run=run, fresh=True)  # read under the lock, kept up to date below
    if step.is_question:
        if parsed.value is None:
            RunAnswer.objects.filter(run_id=run.pk, step_id=step.id or 0).delete()
            rows.pop(step.id or 0, None)
        else:
            # One statement whether the agent answers for the first time or changes it.
            RunAnswer.objects.bulk_create(
                [
                    RunAnswer(
                        run_id=run.pk,
                        step_id=step.id or 0,
                        value=parsed.value,
                        display=parsed.display,
                    )
                ],
                update_conflicts=True,
                unique_fields=["run", "step"],
                update_fields=["value", "display", "answered_at"],
            )
            rows[step.id or 0] = (parsed.value, parsed.display)
    context = run_context_for_step(
        run=run,
        answers=run_answers(run=run, flow=flow),
        needs=step_needs(step, for_answer=True),
        agent=user,
    )
    target = next_key(step, context)
    if target is None or flow.get(target) is None:
        raise DomainError(_("The script does not say where to go from here."))
    run.path = [*run.path, target]
    run.save(update_fields=["path", "updated_at"])
    return run


def _with_relations(run: ScriptRun) -> ScriptRun:
    return (
        ScriptRun.objects.select_related(
            "version",
            "version__script",
            "agent",
            "account",
            "account__customer_group",
            "contact",
        )
        .prefetch_related("account__addresses")
        .get(pk=run.pk)
    )


@transaction.atomic
def script_run_back(*, run: ScriptRun, user: Any, step_key: str = "") -> ScriptRun:
    """Go back one step; every answer stays and is shown again.

    Locks the run row; the run given is updated in place and returned.
    """
    _lock_run(run)
    _require_open(run, user)
    _require_current(run, step_key)
    if len(run.path) > 1:
        run.path = run.path[:-1]
        run.save(update_fields=["path", "updated_at"])
    return run


@transaction.atomic
def script_run_finish(*, run: ScriptRun, user: Any) -> ScriptRun:
    """Close the run on its end step, keep the answers of the way taken, run the actions.

    An action that cannot run (no account for a ticket) is recorded with its reason;
    the answers are kept either way.
    """
    run = ScriptRun.objects.select_for_update().select_related("version").get(pk=run.pk)
    _require_open(run, user)
    flow = flow_for_version(version=run.version)
    step = flow.get(run.current_key)
    if step is None or not step.is_end:
        raise DomainError(_("The script is not at its end yet."))
    on_path = [s.id for s in map(flow.get, run.path) if s is not None and s.id is not None]
    RunAnswer.objects.filter(run=run).exclude(step_id__in=on_path).delete()
    full = _with_relations(run)
    context: RunContext = run_context(run=full)
    results: list[dict[str, Any]] = []
    for action in step.actions:
        handler = actions.REGISTRY.get(action.kind)
        if handler is None:
            continue
        try:
            with transaction.atomic():
                result = handler.run(run=full, action=action, context=context, flow=flow)
        except DomainError as exc:
            logger.info("script run %s: action %s not run: %s", run.pk, action.kind, exc.message)
            result = {"error": True, "text": exc.message}
        results.append({"action": action.kind, **result})
    full.action_results = results
    full.outcome = step.outcome
    full.status = ScriptRun.Status.FINISHED
    full.finished_at = timezone.now()
    full.save(
        update_fields=[
            "action_results",
            "outcome",
            "status",
            "finished_at",
            "disposition",
            "lead_qualified",
            "offers",
            "updated_at",
        ]
    )
    return full


@transaction.atomic
def script_run_abandon(*, run: ScriptRun, user: Any) -> ScriptRun:
    """Close an unfinished run (the customer hung up); its answers stay for the record."""
    run = ScriptRun.objects.select_for_update().get(pk=run.pk)
    _require_open(run, user)
    run.status = ScriptRun.Status.ABANDONED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "updated_at"])
    return run


@transaction.atomic
def script_run_attach_interaction(
    *, run: ScriptRun, interaction: Interaction, user: Any
) -> ScriptRun:
    """A run opened before the call (a call list's preview) joins the call once it is dialled."""
    run = ScriptRun.objects.select_for_update().get(pk=run.pk)
    _require_open(run, user)
    if interaction.agent_id not in (None, user.pk):
        raise PermissionDenied(_("This contact is handled by another agent."))
    if run.interaction_id not in (None, interaction.pk):
        raise DomainError(_("This script already belongs to another contact."))
    run.interaction = interaction
    run.save(update_fields=["interaction", "updated_at"])
    return run
