"""Desk views for customer service: tickets (list, detail, one-action create, workflow).

Each view renders into the desk's workspace: the whole desk page for a normal request,
the workspace partial for htmx. Actions answer with out-of-band swaps; a refused action
answers with the message only, so nothing the agent typed is lost.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import scheduling, selectors, services
from accounts.access import account_can_write, accounts_visible, scoped
from accounts.models import (
    Account,
    AccountMerge,
    AlertAction,
    AlertRule,
    Appointment,
    Interaction,
    MessageTemplate,
    Outage,
    Technician,
    Ticket,
    TicketAttachment,
    TicketCategory,
)
from icenter import roles
from icenter.desk import selectors as desk_selectors
from icenter.desk.rendering import desk_context
from icenter.desk.views import agent_required, render_workspace
from icenter.errors import DomainError
from telephony.models import Agent, AgentGroup

TICKET_PAGE_SIZE = 25
TICKET_SCOPES = ("mine", "team", "open", "account", "all")


def _user(request: HttpRequest) -> User:
    """The logged-in user (agent_required has checked the role)."""
    return cast(User, request.user)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _workspace(
    request: HttpRequest, agent: Agent, *, view: str, account_id: int | None = None, **extra: Any
) -> HttpResponse:
    """The desk with the given workspace view: full page, or the workspace for htmx."""
    return render_workspace(
        request, agent, view=view, account_id=account_id, extra=lambda _state: extra
    )


def _message(request: HttpRequest, message: str, *, level: str = "error") -> HttpResponse:
    return render(
        request,
        "accounts/partials/desk_message.html",
        {"message": message, "message_level": level},
    )


def _ticket_answer(
    request: HttpRequest, agent: Agent, ticket_id: int, *, message: str
) -> HttpResponse:
    """After an action: the ticket view again (out of band), the alerts and a message."""
    ticket = selectors.ticket_get(ticket_id=ticket_id, user=request.user)
    if ticket is None:
        raise Http404
    state = desk_selectors.desk_state_for_agent(
        agent_id=agent.pk, account_id=ticket.account_id, user=request.user
    )
    assert state is not None
    context = desk_context(
        state,
        view="ticket",
        oob=True,
        message=message,
        message_level="info",
        **_ticket_extra(ticket),
    )
    return render(request, "accounts/partials/ticket_answer.html", context)


def _ticket_extra(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "status_choices": [
            (value, Ticket.Status(value).label) for value in ticket.allowed_statuses()
        ],
        "staff": _assignable_users(),
        "agent_groups": list(AgentGroup.objects.order_by("name")),
        **_ticket_form_choices(),
    }


def _assignable_users() -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[roles.AGENT, roles.SUPERVISOR])
        .distinct()
        .order_by("first_name", "last_name", "username")[:200]
    )


def _ticket_form_choices() -> dict[str, Any]:
    return {
        "type_choices": Ticket.Type.choices,
        "priority_choices": Ticket.Priority.choices,
        "categories": list(
            TicketCategory.objects.filter(is_active=True)
            .select_related("parent", "parent__parent")
            .order_by("parent__name", "name")
        ),
    }


def _category(value: Any) -> TicketCategory | None:
    category_id = _int(value)
    if category_id is None:
        return None
    category = TicketCategory.objects.filter(pk=category_id).first()
    if category is None:
        raise DomainError(_("That category does not exist."), field="category")
    return category


@agent_required
@require_GET
def ticket_list(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The tickets the agent works on: mine, my groups', all open, the account's, or all."""
    scope = request.GET.get("scope", "mine")
    if scope not in TICKET_SCOPES:
        scope = "mine"
    account_id = _int(request.GET.get("account"))
    status = request.GET.get("status", "")
    if status not in Ticket.Status.values:
        status = ""
    query = request.GET.get("q", "")
    tickets = selectors.ticket_list(
        user=request.user,
        status=status,
        open_only=scope in ("mine", "team", "open") and not status,
        assigned_to=agent.user_id if scope == "mine" else None,
        group_of_agent=agent.pk if scope == "team" else None,
        account_id=account_id if scope == "account" else None,
        query=query,
    )
    page = Paginator(tickets, TICKET_PAGE_SIZE).get_page(request.GET.get("page"))
    return _workspace(
        request,
        agent,
        view="tickets",
        account_id=account_id,
        tickets_page=page,
        scope=scope,
        status=status,
        query=query,
        status_filter_choices=Ticket.Status.choices,
    )


@agent_required
@require_GET
def ticket_detail(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """One ticket: data, SLA, messages, files, audit trail and the workflow buttons."""
    ticket = selectors.ticket_get(ticket_id=ticket_pk, user=request.user)
    if ticket is None:
        raise Http404
    return _workspace(
        request, agent, view="ticket", account_id=ticket.account_id, **_ticket_extra(ticket)
    )


@agent_required
@require_POST
def ticket_create(request: HttpRequest, agent: Agent) -> HttpResponse:
    """One action: a ticket from the current contact (notepad → description), or for an
    account the agent has open when no contact is live."""
    data = request.POST
    try:
        category = _category(data.get("category"))
        outage_id = _int(data.get("outage"))
        outage = Outage.objects.filter(pk=outage_id).first() if outage_id else None
        interaction_id = _int(data.get("interaction"))
        subject = data.get("subject", "")
        ticket_type = data.get("type", Ticket.Type.INCIDENT)
        priority = data.get("priority", Ticket.Priority.NORMAL)
        if interaction_id is not None:
            interaction = Interaction.objects.filter(
                pk=interaction_id, agent=_user(request)
            ).first()
            if interaction is None:
                return _message(request, _("This contact is not yours."))
            ticket = services.ticket_create_from_interaction(
                interaction=interaction,
                created_by=_user(request),
                notes=data.get("notes"),
                subject=subject,
                type=ticket_type,
                priority=priority,
                category=category,
                outage=outage,
            )
        else:
            account_id = _int(data.get("account"))
            account = (
                accounts_visible(request.user).filter(pk=account_id).first() if account_id else None
            )
            if account is None:
                return _message(request, _("Open an account first; a ticket belongs to one."))
            ticket = services.ticket_create(
                account=account,
                subject=subject,
                description=data.get("description", ""),
                created_by=_user(request),
                type=ticket_type,
                priority=priority,
                category=category,
                outage=outage,
            )
    except DomainError as error:
        return _message(request, error.message)
    return _ticket_answer(
        request,
        agent,
        ticket.pk,
        message=_("Ticket %(number)s created.") % {"number": ticket.number},
    )


def _ticket_or_404(request: HttpRequest, ticket_pk: int) -> Ticket:
    """The ticket, if the user may see it (access per customer group)."""
    tickets = scoped(request.user, Ticket.objects.select_related("account"))
    ticket = tickets.filter(pk=ticket_pk).first()
    if ticket is None:
        raise Http404
    return ticket


@agent_required
@require_POST
def ticket_edit(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Save subject, type, priority, category and description (refused when stale)."""
    ticket = _ticket_or_404(request, ticket_pk)
    data = request.POST
    try:
        services.ticket_update(
            ticket=ticket,
            by=_user(request),
            expected_version=_int(data.get("version")),
            subject=data.get("subject", ""),
            description=data.get("description", ""),
            type=data.get("type", ""),
            priority=data.get("priority", ""),
            category=_category(data.get("category")),
        )
    except DomainError as error:
        return _message(request, error.message)
    return _ticket_answer(request, agent, ticket.pk, message=_("Ticket saved."))


@agent_required
@require_POST
def ticket_status(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Move the ticket along its workflow."""
    ticket = _ticket_or_404(request, ticket_pk)
    try:
        ticket = services.ticket_set_status(
            ticket=ticket,
            status=request.POST.get("status", ""),
            by=_user(request),
            expected_version=_int(request.POST.get("version")),
        )
    except DomainError as error:
        return _message(request, error.message)
    return _ticket_answer(
        request,
        agent,
        ticket.pk,
        message=_("Ticket %(number)s is now “%(status)s”.")
        % {"number": ticket.number, "status": ticket.get_status_display()},
    )


@agent_required
@require_POST
def ticket_assign(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Give the ticket to a colleague, take it, or leave it unassigned."""
    ticket = _ticket_or_404(request, ticket_pk)
    choice = request.POST.get("agent", "")
    changes: dict[str, Any] = {"agent": None}
    if choice == "me":
        changes["agent"] = request.user
    elif choice:
        assignee_id = _int(choice)
        assignee = get_user_model().objects.filter(pk=assignee_id).first() if assignee_id else None
        if assignee is None:
            return _message(request, _("That user does not exist."))
        changes["agent"] = assignee
    if "group" in request.POST:
        group_id = _int(request.POST["group"])
        changes["group"] = AgentGroup.objects.filter(pk=group_id).first() if group_id else None
        if group_id and changes["group"] is None:
            return _message(request, _("That agent group does not exist."))
    try:
        services.ticket_assign(
            ticket=ticket,
            by=_user(request),
            expected_version=_int(request.POST.get("version")),
            **changes,
        )
    except DomainError as error:
        return _message(request, error.message)
    return _ticket_answer(request, agent, ticket.pk, message=_("Assignment saved."))


@agent_required
@require_POST
def ticket_message(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Add an internal note or a message for the customer."""
    ticket = _ticket_or_404(request, ticket_pk)
    is_internal = request.POST.get("visibility", "internal") != "customer"
    try:
        services.ticket_message_add(
            ticket=ticket,
            author=_user(request),
            body=request.POST.get("body", ""),
            is_internal=is_internal,
            send_via="" if is_internal else request.POST.get("send_via", ""),
        )
    except DomainError as error:
        return _message(request, error.message)
    return _ticket_answer(
        request,
        agent,
        ticket.pk,
        message=_("Internal note added.") if is_internal else _("Message for the customer added."),
    )


@agent_required
@require_POST
def ticket_attachment_upload(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Attach a file (size, type and content checked by the service)."""
    ticket = _ticket_or_404(request, ticket_pk)
    upload = request.FILES.get("file")
    if upload is None:
        return _message(request, _("Choose a file first."))
    try:
        services.ticket_attachment_add(ticket=ticket, upload=upload, by=_user(request))
    except DomainError as error:
        return _message(request, error.message)
    return _ticket_answer(
        request, agent, ticket.pk, message=_("File %(name)s attached.") % {"name": upload.name}
    )


@agent_required
@require_GET
def ticket_attachment_download(
    request: HttpRequest, agent: Agent, attachment_pk: int
) -> HttpResponse:
    """A ticket's file, always as a download and never interpreted by the browser."""
    attachment = scoped(
        request.user, TicketAttachment.objects.filter(pk=attachment_pk), via="ticket__account__"
    ).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response  # type: ignore[return-value]


# -- callbacks, SMS and email ----------------------------------------------------------------


def _account_or_none(request: HttpRequest, value: Any) -> Account | None:
    """The account named in the request, if any; one the user may not see is not found."""
    account_id = _int(value)
    if not account_id:
        return None
    account = accounts_visible(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404
    return account


def _local_datetime(day: str, clock: str) -> datetime | None:
    try:
        moment = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock))
    except ValueError:
        return None
    return timezone.make_aware(moment)


@agent_required
@require_POST
def callback_create(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Schedule a callback in a time window, for this agent or one of their groups."""
    data = request.POST
    window_start = _local_datetime(data.get("date", ""), data.get("from", ""))
    window_end = _local_datetime(data.get("date", ""), data.get("until", ""))
    if window_start is None or window_end is None:
        return _message(request, _("Give the day and the time window of the callback."))
    assignee = data.get("assignee", "me")
    group = None
    if assignee.startswith("group:"):
        group = agent.groups.filter(pk=_int(assignee.removeprefix("group:")) or 0).first()
        if group is None:
            return _message(request, _("You can only give callbacks to your own groups."))
    account = _account_or_none(request, data.get("account"))
    try:
        item = services.callback_request(
            account=account,
            number=data.get("number", ""),
            reason=data.get("reason", ""),
            window_start=window_start,
            window_end=window_end,
            created_by=_user(request),
            agent=None if group is not None else agent,
            group=group,
        )
    except DomainError as error:
        return _message(request, error.message)
    return _account_answer(
        request,
        agent,
        account,
        message=_("Callback scheduled for %(when)s.")
        % {
            "when": formats.date_format(
                timezone.localtime(item.not_before), "SHORT_DATETIME_FORMAT"
            )
        },
    )


def _account_answer(
    request: HttpRequest, agent: Agent, account: Account | None, *, message: str
) -> HttpResponse:
    """After an action on the account: its view again (out of band) and a message."""
    state = desk_selectors.desk_state_for_agent(
        agent_id=agent.pk, account_id=account.pk if account else None, user=request.user
    )
    assert state is not None
    context = desk_context(state, view="account", oob=True, message=message, message_level="info")
    return render(request, "accounts/partials/ticket_answer.html", context)


def _message_template(value: Any) -> MessageTemplate | None:
    template_id = _int(value)
    if template_id is None:
        return None
    return MessageTemplate.objects.filter(pk=template_id, is_active=True).first()


@agent_required
@require_GET
def message_preview(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The chosen template filled with the account's data, for the agent to check and edit."""
    channel = request.GET.get("channel", "sms")
    template = _message_template(request.GET.get("template"))
    subject, text = "", ""
    if template is not None:
        subject, text = services.message_preview(
            template=template,
            account=_account_or_none(request, request.GET.get("account")),
            agent=_user(request),
        )
    return render(
        request,
        "accounts/partials/message_text.html",
        {"channel": channel, "subject": subject, "text": text},
    )


@agent_required
@require_POST
def message_send(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Send an SMS or email instead of a callback; it becomes part of the history."""
    data = request.POST
    account = _account_or_none(request, data.get("account"))
    template = _message_template(data.get("template"))
    try:
        if data.get("channel") == "email":
            services.message_send_email(
                to=data.get("to", ""),
                subject=data.get("subject", ""),
                text=data.get("text", ""),
                agent=_user(request),
                account=account,
                template=template,
            )
            message = _("Email sent and logged in the history.")
        else:
            services.message_send_sms(
                to=data.get("to", ""),
                text=data.get("text", ""),
                agent=_user(request),
                account=account,
                template=template,
            )
            message = _("SMS sent and logged in the history.")
    except DomainError as error:
        return _message(request, error.message)
    return _account_answer(request, agent, account, message=message)


@agent_required
@require_GET
def reach_panel(request: HttpRequest, agent: Agent, account_pk: int) -> HttpResponse:
    """The callback / SMS / email card, loaded after the pop has shown."""
    account = selectors.account_get_for_desk(account_id=account_pk, user=request.user)
    if account is None:
        raise Http404
    number = request.GET.get("number", "")
    if not number:
        phones = [p for p in account.own_contact_points if p.kind == "phone"]  # type: ignore[attr-defined]
        number = phones[0].normalized if phones else ""
    return render(
        request,
        "accounts/partials/reach_card.html",
        {"account": account, "agent": agent, "callback_number": number[:40]},
    )


# -- connected systems, outages, line test ---------------------------------------------------


@agent_required
@require_GET
def systems_panel(request: HttpRequest, agent: Agent, account_pk: int) -> HttpResponse:
    """Contracts and orders from the connected systems, loaded after the pop has shown."""
    account = accounts_visible(request.user).filter(pk=account_pk).first()
    if account is None:
        raise Http404
    data = selectors.connected_data_for_account(account=account)
    return render(
        request, "accounts/partials/systems_card.html", {"account": account, "systems": data}
    )


@agent_required
@require_POST
def line_test(request: HttpRequest, agent: Agent, account_pk: int) -> HttpResponse:
    """Test the customer's line; a failure opens an incident with its expected resolution."""
    account = accounts_visible(request.user).filter(pk=account_pk).first()
    if account is None:
        raise Http404
    interaction = agent.current_interaction
    try:
        outcome = services.line_test_run(
            account=account, by=_user(request), interaction=interaction
        )
    except DomainError as error:
        return _message(request, error.message)
    if outcome.ticket is None:
        return _message(
            request,
            _("Line test passed: %(detail)s") % {"detail": outcome.result.detail},
            level="info",
        )
    return _ticket_answer(
        request,
        agent,
        outcome.ticket.pk,
        message=_("Line test failed; incident %(number)s opened.")
        % {"number": outcome.ticket.number},
    )


@agent_required
@require_POST
def ticket_link_outage(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """One action: link the caller's ticket to the known outage in their area."""
    ticket = _ticket_or_404(request, ticket_pk)
    outage_id = _int(request.POST.get("outage"))
    outage = Outage.objects.filter(pk=outage_id).first() if outage_id else None
    if outage is None:
        return _message(request, _("That outage does not exist."))
    try:
        services.ticket_link_outage(
            ticket=ticket,
            outage=outage,
            by=_user(request),
            expected_version=_int(request.POST.get("version")),
        )
    except DomainError as error:
        return _message(request, error.message)
    return _account_answer(
        request,
        agent,
        ticket.account,
        message=_("Ticket %(number)s is linked to outage %(outage)s.")
        % {"number": ticket.number, "outage": outage.reference},
    )


# -- alert rules -----------------------------------------------------------------------------


@agent_required
@require_POST
def guidance_script(request: HttpRequest, agent: Agent, rule_pk: int) -> HttpResponse:
    """An alert rule's "start a script" action for the agent's current contact."""
    from scripting import services as scripting_services
    from scripting.desk import workspace_context as script_workspace_context
    from scripting.models import ScriptRun
    from scripting.selectors import script_version_published_get

    rule = AlertRule.objects.filter(pk=rule_pk, is_active=True).first()
    action = rule.actions.filter(kind=AlertAction.Kind.SCRIPT).first() if rule else None
    interaction_id = _int(request.GET.get("interaction") or request.POST.get("interaction"))
    interaction = (
        Interaction.objects.filter(pk=interaction_id, agent=_user(request)).first()
        if interaction_id
        else None
    )
    if action is None or interaction is None:
        return _message(request, _("This alert rule has no script for your contact."))
    version = script_version_published_get(code=action.script_code)
    if version is None:
        return _message(
            request,
            _("The script “%(code)s” has no published version.") % {"code": action.script_code},
        )
    try:
        scripting_services.script_run_start(
            script_version=version,
            agent_user=_user(request),
            interaction=interaction,
            source=ScriptRun.Source.ALERT,
        )
    except DomainError as error:
        return _message(request, error.message)
    return _workspace(
        request,
        agent,
        view="script",
        account_id=interaction.account_id,
        **script_workspace_context(
            user=request.user, interaction=interaction, account=interaction.account
        ),
    )


# -- technician appointments -----------------------------------------------------------------


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


@agent_required
@require_GET
def appointment_slots(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Free slots for the ticket's skill in the customer's region (loaded on demand)."""
    ticket = selectors.ticket_get(ticket_id=ticket_pk, user=request.user)
    if ticket is None:
        raise Http404
    moving = Appointment.objects.filter(
        pk=_int(request.GET.get("reschedule")) or 0, ticket=ticket
    ).first()
    skill = ticket.skill_needed
    postcode = scheduling.account_postcode(ticket.account)
    slots = scheduling.free_slots(skill=skill, postcode=postcode)
    return render(
        request,
        "accounts/partials/appointment_slots.html",
        {"ticket": ticket, "slots": slots, "skill": skill, "postcode": postcode, "moving": moving},
    )


def _slot_choice(request: HttpRequest) -> tuple[Technician | None, datetime | None]:
    """The technician and start of the chosen slot ("<technician>|<ISO start>")."""
    technician_id, _sep, start = request.POST.get("slot", "").partition("|")
    technician_pk = _int(technician_id or request.POST.get("technician"))
    technician = Technician.objects.filter(pk=technician_pk).first() if technician_pk else None
    return technician, _moment(start or request.POST.get("starts_at", ""))


def _booking_message(result: services.BookingResult, done: str) -> str:
    if result.confirmation_error:
        return _("%(done)s The confirmation was not sent: %(reason)s") % {
            "done": done,
            "reason": result.confirmation_error,
        }
    return done


@agent_required
@require_POST
def appointment_book(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Book the chosen slot for the ticket's customer, with a confirmation if asked."""
    ticket = _ticket_or_404(request, ticket_pk)
    technician, starts_at = _slot_choice(request)
    if technician is None or starts_at is None:
        return _message(request, _("Choose one of the proposed slots."))
    try:
        result = services.appointment_book(
            account=ticket.account,
            ticket=ticket,
            technician=technician,
            starts_at=starts_at,
            by=_user(request),
            confirm_via=request.POST.get("confirm_via", ""),
        )
    except DomainError as error:
        return _message(request, error.message)
    done = _("Appointment booked with %(name)s.") % {"name": technician.name}
    return _ticket_answer(request, agent, ticket.pk, message=_booking_message(result, done))


@agent_required
@require_POST
def appointment_change(
    request: HttpRequest, agent: Agent, appointment_pk: int, action: str
) -> HttpResponse:
    """Move an appointment to another proposed slot, or cancel it."""
    appointment = scoped(request.user, Appointment.objects.filter(pk=appointment_pk)).first()
    if appointment is None or action not in ("reschedule", "cancel"):
        raise Http404
    confirm_via = request.POST.get("confirm_via", "")
    version = _int(request.POST.get("version"))
    try:
        if action == "cancel":
            result = services.appointment_cancel(
                appointment=appointment,
                by=_user(request),
                expected_version=version,
                confirm_via=confirm_via,
            )
            done = _("Appointment cancelled.")
        else:
            technician, starts_at = _slot_choice(request)
            if technician is None or starts_at is None:
                return _message(request, _("Choose one of the proposed slots."))
            result = services.appointment_reschedule(
                appointment=appointment,
                starts_at=starts_at,
                technician=technician,
                by=_user(request),
                expected_version=version,
                confirm_via=confirm_via,
            )
            done = _("Appointment moved.")
    except DomainError as error:
        return _message(request, error.message)
    if appointment.ticket_id is None:
        return _message(request, _booking_message(result, done), level="info")
    return _ticket_answer(
        request, agent, appointment.ticket_id, message=_booking_message(result, done)
    )


# -- duplicates and presence -----------------------------------------------------------------


@agent_required
@require_GET
def duplicates_panel(request: HttpRequest, agent: Agent, account_pk: int) -> HttpResponse:
    """Possible duplicates of the account, and merges into it that can still be undone."""
    account = accounts_visible(request.user).filter(pk=account_pk).first()
    if account is None:
        raise Http404
    return render(
        request,
        "accounts/partials/duplicates_card.html",
        {
            "account": account,
            "candidates": selectors.duplicate_candidates_for_account(
                account=account, user=request.user
            ),
            "writable": account_can_write(request.user, account),
            "merges": list(
                AccountMerge.objects.filter(target=account, undone_at__isnull=True)
                .select_related("source")
                .order_by("-merged_at")[:5]
            ),
        },
    )


@agent_required
@require_POST
def account_merge(request: HttpRequest, agent: Agent, account_pk: int) -> HttpResponse:
    """One action: merge the chosen duplicate into this account."""
    visible = accounts_visible(request.user)
    target = visible.filter(pk=account_pk).first()
    source_id = _int(request.POST.get("source"))
    source = visible.filter(pk=source_id).first() if source_id else None
    if target is None or source is None:
        return _message(request, _("That account does not exist."))
    try:
        services.account_merge(
            source=source,
            target=target,
            by=_user(request),
            source_version=_int(request.POST.get("source_version")),
            target_version=_int(request.POST.get("target_version")),
        )
    except DomainError as error:
        return _message(request, error.message)
    return _account_answer(
        request,
        agent,
        target,
        message=_("%(source)s was merged into %(target)s. It can be undone from the account.")
        % {"source": source.name, "target": target.name},
    )


@agent_required
@require_POST
def account_merge_undo(request: HttpRequest, agent: Agent, merge_pk: int) -> HttpResponse:
    """Undo a merge: the duplicate and its records are separate again."""
    merge = AccountMerge.objects.select_related("source", "target").filter(pk=merge_pk).first()
    if merge is None:
        raise Http404
    try:
        services.account_merge_undo(merge=merge, by=_user(request))
    except DomainError as error:
        return _message(request, error.message)
    return _account_answer(
        request,
        agent,
        merge.target,
        message=_("The merge of %(source)s was undone.") % {"source": merge.source.name},
    )


@agent_required
@require_POST
def presence(request: HttpRequest, agent: Agent, kind: str, object_id: int) -> HttpResponse:
    """Heartbeat of an open account or ticket; answers with the colleagues who have it open."""
    _presence_change(
        request,
        kind,
        object_id,
        services.presence_touch,
        editing=request.POST.get("editing") == "1",
    )
    others = selectors.presence_others(user_id=agent.user_id, kind=kind, object_id=object_id)
    return render(request, "accounts/partials/presence.html", {"others": others, "kind": kind})


@agent_required
@require_POST
def presence_leave(request: HttpRequest, agent: Agent, kind: str, object_id: int) -> HttpResponse:
    """The desk left an account or ticket (another view, the page closed): sent as a beacon."""
    _presence_change(request, kind, object_id, services.presence_leave)
    return HttpResponse(status=204)


def _presence_change(
    request: HttpRequest, kind: str, object_id: int, change: Any, **kwargs: Any
) -> None:
    """A presence service on an object the user may see; 404 for anything else."""
    if not selectors.presence_object_visible(user=request.user, kind=kind, object_id=object_id):
        raise Http404
    try:
        change(user=_user(request), kind=kind, object_id=object_id, **kwargs)
    except DomainError:
        raise Http404 from None
