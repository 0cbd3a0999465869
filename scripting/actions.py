"""Outcome actions: what an end step does when the agent finishes a run.

A small registry from the action's name to a handler with two methods: `check`
(validation on publish, no database) and `run` (on finish, inside the finishing
transaction). Results of a run's actions are stored on the ScriptRun, so that other
apps (campaigns, reporting) can read dispositions, qualified leads and offers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from django.utils import timezone
from django.utils.translation import gettext as _

from icenter.errors import DomainError
from scripting.flow import DATE, Flow, FlowAction, FlowStep, RunContext
from scripting.placeholders import placeholder_problem, placeholders_in, render_text

if TYPE_CHECKING:
    from scripting.models import ScriptRun

AddProblem = Callable[[FlowStep | None, str, str], None]
TOP_N_MAX = 10


class ActionHandler(Protocol):
    def check(
        self,
        *,
        step: FlowStep,
        action: FlowAction,
        flow: Flow,
        offer_lists: set[str] | None,
        add: AddProblem,
    ) -> None: ...

    def run(
        self, *, run: ScriptRun, action: FlowAction, context: RunContext, flow: Flow
    ) -> dict[str, Any]: ...


def _where(step: FlowStep, action: FlowAction) -> dict[str, str]:
    return {"step": f"“{step.key}”", "action": action.kind}


class CreateTicket:
    """Open a ticket for the run's account; the parameter is its subject."""

    def check(
        self, *, step: FlowStep, action: FlowAction, flow: Flow, offer_lists: Any, add: AddProblem
    ) -> None:
        keys = {s.key for s in flow.steps if s.is_question}
        for namespace, name in placeholders_in(action.value):
            problem = placeholder_problem(namespace, name, answer_keys=keys)
            if problem:
                add(
                    step,
                    "action",
                    _("Step %(step)s, ticket subject: %(problem)s")
                    % {"step": f"“{step.key}”", "problem": problem},
                )

    def run(
        self, *, run: ScriptRun, action: FlowAction, context: RunContext, flow: Flow
    ) -> dict[str, Any]:
        from accounts import services as account_services

        if run.account is None:
            raise DomainError(_("No ticket was created: the run has no account."))
        subject = render_text(action.value, context).strip() or flow.name
        ticket = account_services.ticket_create(
            account=run.account,
            subject=subject[:200],
            created_by=run.agent,
            interaction=run.interaction,
            description=_summary(run, flow, context),
        )
        return {"ticket": ticket.pk, "text": _("Ticket %(ticket)s created.") % {"ticket": ticket}}


class SetDisposition:
    """Record the call's disposition code on the run (campaigns read it from there)."""

    def check(
        self, *, step: FlowStep, action: FlowAction, flow: Flow, offer_lists: Any, add: AddProblem
    ) -> None:
        if not action.value.strip():
            add(
                step,
                "action",
                _("Step %(step)s: the disposition action needs a disposition code.")
                % _where(step, action),
            )

    def run(
        self, *, run: ScriptRun, action: FlowAction, context: RunContext, flow: Flow
    ) -> dict[str, Any]:
        run.disposition = action.value.strip()[:60]
        return {
            "disposition": run.disposition,
            "text": _("Disposition: %(code)s") % {"code": run.disposition},
        }


CALLBACK_DAY_START, CALLBACK_DAY_END = time(9, 0), time(17, 0)
CALLBACK_WINDOW = timedelta(hours=2)


def _callback_window(action: FlowAction, context: RunContext) -> tuple[datetime, datetime]:
    """From a number of hours: a two-hour window then. From a date answer: 9 to 17 that day."""
    value = action.value.strip()
    now = timezone.now()
    if value.isdigit():
        start = now + timedelta(hours=int(value))
        return start, start + CALLBACK_WINDOW
    answered = context.answers.get(value)
    if not answered:
        raise DomainError(_("No callback was scheduled: the callback date was not answered."))
    day = datetime.fromisoformat(str(answered)).date()
    start = timezone.make_aware(datetime.combine(day, CALLBACK_DAY_START))
    end = timezone.make_aware(datetime.combine(day, CALLBACK_DAY_END))
    return max(start, now), end


def _callback_number(run: ScriptRun) -> str:
    """The number the customer called from, else the account's first phone number."""
    if run.interaction is not None and run.interaction.address:
        return run.interaction.address
    if run.account is not None:
        point = run.account.contact_points.filter(kind="phone").order_by("id").first()
        if point is not None:
            return point.normalized
    return ""


class ScheduleCallback:
    """Schedule a callback by the run's agent: at the date a question asked for, or in n hours."""

    def check(
        self,
        *,
        step: FlowStep,
        action: FlowAction,
        flow: Flow,
        offer_lists: Any,
        add: AddProblem,
    ) -> None:
        value = action.value.strip()
        if value.isdigit():
            return
        target = flow.get(value)
        if target is None or target.answer_type != DATE:
            add(
                step,
                "action",
                _(
                    "Step %(step)s: the callback action needs the key of a date question "
                    "or a number of hours."
                )
                % _where(step, action),
            )

    def run(
        self, *, run: ScriptRun, action: FlowAction, context: RunContext, flow: Flow
    ) -> dict[str, Any]:
        from accounts import services as account_services
        from telephony.models import Agent

        if run.account is None or run.agent is None:
            raise DomainError(_("No callback was scheduled: the run has no account."))
        number = _callback_number(run)
        if not number:
            raise DomainError(_("No callback was scheduled: the customer has no phone number."))
        start, end = _callback_window(action, context)
        item = account_services.callback_request(
            account=run.account,
            number=number,
            reason=flow.name or _("Callback from a script"),
            window_start=start,
            window_end=end,
            created_by=run.agent,
            agent=Agent.objects.filter(user=run.agent).first(),
        )
        return {
            "callback": item.pk,
            "due_at": start.isoformat(),
            "text": _("Callback scheduled for %(due)s.")
            % {"due": timezone.localtime(start).strftime("%Y-%m-%d %H:%M")},
        }


class MarkLeadQualified:
    """Mark the run's lead qualified ("no" marks it not qualified)."""

    def check(
        self, *, step: FlowStep, action: FlowAction, flow: Flow, offer_lists: Any, add: AddProblem
    ) -> None:
        if action.value.strip().lower() not in ("", "yes", "no"):
            add(
                step,
                "action",
                _("Step %(step)s: the lead action takes “yes”, “no” or nothing.")
                % _where(step, action),
            )

    def run(
        self, *, run: ScriptRun, action: FlowAction, context: RunContext, flow: Flow
    ) -> dict[str, Any]:
        run.lead_qualified = action.value.strip().lower() != "no"
        text = _("Lead qualified.") if run.lead_qualified else _("Lead not qualified.")
        return {"lead_qualified": run.lead_qualified, "text": text}


class OfferProducts:
    """Offer the customer the top n products of an offer list that fit them."""

    def check(
        self,
        *,
        step: FlowStep,
        action: FlowAction,
        flow: Flow,
        offer_lists: set[str] | None,
        add: AddProblem,
    ) -> None:
        if not action.offer_list or (
            offer_lists is not None and action.offer_list not in offer_lists
        ):
            add(
                step,
                "action",
                _("Step %(step)s: the offer action needs an existing offer list.")
                % _where(step, action),
            )
        if not 1 <= action.top_n <= TOP_N_MAX:
            add(
                step,
                "action",
                _("Step %(step)s: offer between 1 and %(max)d products.")
                % {**_where(step, action), "max": TOP_N_MAX},
            )

    def run(
        self, *, run: ScriptRun, action: FlowAction, context: RunContext, flow: Flow
    ) -> dict[str, Any]:
        from scripting.selectors import offer_list_top

        offers = offer_list_top(code=action.offer_list, account=context.account, limit=action.top_n)
        run.offers = [
            *run.offers,
            *({"id": o.pk, "name": o.name, "pitch": o.pitch} for o in offers),
        ]
        names = ", ".join(o.name for o in offers) or _("none fit this customer")
        return {
            "offers": [o.pk for o in offers],
            "text": _("Offered: %(names)s") % {"names": names},
        }


REGISTRY: dict[str, ActionHandler] = {
    "create_ticket": CreateTicket(),
    "set_disposition": SetDisposition(),
    "schedule_callback": ScheduleCallback(),
    "mark_lead_qualified": MarkLeadQualified(),
    "offer_products": OfferProducts(),
}


def _summary(run: ScriptRun, flow: Flow, context: RunContext) -> str:
    """The questions and answers of the run, as plain text for a ticket."""
    lines = [_("Script: %(name)s") % {"name": flow.name}]
    for key in run.path:
        step = flow.get(key)
        if step is not None and step.is_question and key in context.answer_texts:
            lines.append(f"{step.title or step.key}: {context.answer_texts[key]}")
    return "\n".join(lines)
