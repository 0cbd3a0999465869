"""Write paths for tickets: create, change, status workflow, assignment, messages, files, SLA.

Every change writes one TicketChange row per changed field (who, what, when) and raises
the ticket's version; a change based on an older version is refused (optimistic lock).
"""

from __future__ import annotations

import logging
import mimetypes
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import sla
from accounts.access import account_require_write, ticket_require_write
from accounts.models import (
    Account,
    Contact,
    ContactPoint,
    Interaction,
    Outage,
    ServiceSkill,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChange,
    TicketMessage,
)
from accounts.services.core import _require_staff, interaction_save_notes
from icenter.desk import push
from icenter.errors import DomainError
from icenter.workflow import transition_check
from telephony.models import Agent, AgentGroup

logger = logging.getLogger(__name__)

SUBJECT_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 50000
MESSAGE_MAX_LENGTH = 20000
SLA_CHECK_BATCH = 500
# Channels on which the customer talks to an agent live: a ticket opened during such a
# contact has had its first response.
LIVE_CHANNELS = frozenset({Interaction.Channel.PHONE, Interaction.Channel.CHAT})

# Files an agent may attach: extension → (stored content type, leading bytes it must have).
# Anything else, and anything that looks like HTML or a program, is refused.
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".txt": ("text/plain", ()),
    ".csv": ("text/csv", ()),
    ".log": ("text/plain", ()),
    ".eml": ("message/rfc822", ()),
    ".zip": ("application/zip", (b"PK\x03\x04",)),
    ".docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (b"PK\x03\x04",),
    ),
    ".xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (b"PK\x03\x04",),
    ),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
}
DANGEROUS_MARKERS = (b"<html", b"<script", b"<svg", b"<!doctype", b"<iframe", b"<?php", b"<body")
PROGRAM_MAGIC = (b"MZ", b"\x7fELF", b"#!")


class TicketChanges(TypedDict, total=False):
    """The fields of a ticket an agent can change directly (status and assignment have their
    own services)."""

    subject: str
    description: str
    type: str
    priority: str
    category: TicketCategory | None
    contact: Contact | None
    required_skill: ServiceSkill | None


def _attachment_max_bytes() -> int:
    return int(getattr(settings, "ICENTER_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def _record(
    ticket: Ticket,
    *,
    actor: User | None,
    action: str,
    field: str = "",
    old: Any = "",
    new: Any = "",
    at: datetime | None = None,
) -> TicketChange:
    return TicketChange.objects.create(
        ticket=ticket,
        actor=actor,
        action=action,
        field=field,
        old_value=_as_text(old),
        new_value=_as_text(new),
        at=at or timezone.now(),
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, User):
        return value.get_full_name() or value.get_username()
    return str(value)


def _require_ticket_write(ticket: Ticket, user: User | None) -> None:
    """Access per customer group: the user may change this ticket's account's tickets."""
    if user is not None:
        ticket_require_write(user, ticket)


def _clean_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise DomainError(_("A ticket needs a subject."), field="subject")
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise DomainError(
            _("The subject can be at most %(max)d characters long.") % {"max": SUBJECT_MAX_LENGTH},
            field="subject",
        )
    return subject


def _check_description(description: str) -> str:
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise DomainError(
            _("The description can be at most %(max)d characters long.")
            % {"max": DESCRIPTION_MAX_LENGTH},
            field="description",
        )
    return description


def _check_choice(value: str, choices: Any, *, field: str, label: str) -> None:
    if value not in choices.values:
        raise DomainError(
            _("Unknown %(label)s “%(value)s”.") % {"label": label, "value": value}, field=field
        )


def _check_category(category: TicketCategory | None) -> None:
    if category is not None and not category.is_active:
        raise DomainError(
            _("The category “%(name)s” is no longer in use.") % {"name": category.name},
            field="category",
        )


def _lock(ticket: Ticket, *, expected_version: int | None) -> Ticket:
    """The ticket's row, locked for this transaction; refuses a change based on an old version.

    Callers run inside transaction.atomic. Two agents saving the same ticket queue on the
    lock; the second one then sees the raised version and is refused instead of
    overwriting what the first one saved.
    """
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("category", "contact", "assigned_agent", "assigned_group")
        .get(pk=ticket.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        last = locked.changes.select_related("actor").order_by("-at", "-id").first()
        who = _as_text(last.actor) if last is not None and last.actor else _("someone else")
        raise DomainError(
            _(
                "Ticket %(number)s was changed by %(who)s while you were editing it. "
                "Reload it to see the changes, then save again."
            )
            % {"number": locked.number, "who": who},
            field="version",
            version=locked.version,
        )
    return locked


def _save(ticket: Ticket, fields: list[str]) -> None:
    ticket.version += 1
    ticket.save(update_fields=[*fields, "version", "updated_at"])


def _notify(ticket: Ticket) -> None:
    """Tell the assigned agent's open desks that their ticket changed (after commit)."""
    if ticket.assigned_agent_id is None:
        return
    agent_ids = list(
        Agent.objects.filter(user_id=ticket.assigned_agent_id).values_list("pk", flat=True)
    )
    if agent_ids:
        push.publish(
            kind="ticket.updated", id=ticket.pk, groups=[push.agent_group(a) for a in agent_ids]
        )


def _apply_sla(ticket: Ticket, *, actor: User | None) -> None:
    """Compute the due dates from the matching SLA policy; without one the ticket has none.

    A calendar that cannot produce a due date (no working hours) must not cost the
    customer their ticket: the ticket is stored without due dates and the trail says why.
    """
    policy = sla.sla_policy_for(ticket_type=ticket.type, priority=ticket.priority)
    if policy is None:
        return
    try:
        due = sla.sla_due_dates(policy=policy, start=ticket.created_at)
    except DomainError as error:
        logger.error("ticket %s: SLA policy %s gives no due dates: %s", ticket.pk, policy.pk, error)
        _record(ticket, actor=actor, action=TicketChange.Action.SLA_MISSING, new=error.message)
        return
    ticket.sla_policy = policy
    ticket.first_response_due_at = due.first_response_due_at
    ticket.first_response_warn_at = due.first_response_warn_at
    ticket.resolution_due_at = due.resolution_due_at
    ticket.resolution_warn_at = due.resolution_warn_at


@transaction.atomic
def ticket_create(
    *,
    account: Account,
    subject: str,
    description: str = "",
    created_by: User | None,
    interaction: Interaction | None = None,
    type: str = Ticket.Type.INCIDENT,
    category: TicketCategory | None = None,
    priority: str = Ticket.Priority.NORMAL,
    contact: Contact | None = None,
    assigned_agent: User | None = None,
    assigned_group: AgentGroup | None = None,
    outage: Outage | None = None,
) -> Ticket:
    """Open a ticket for an account and link the contact that caused it; SLA due dates set.

    created_by None means a system opened it (a connected system's line test, mail intake).
    """
    subject = _clean_subject(subject)
    description = _check_description(description or "")
    _check_choice(type, Ticket.Type, field="type", label=_("ticket type"))
    _check_choice(priority, Ticket.Priority, field="priority", label=_("priority"))
    _check_category(category)
    _require_staff(created_by, field="created_by")
    _require_staff(assigned_agent, field="assigned_agent")
    if created_by is not None:
        account_require_write(created_by, account)
    if contact is not None and contact.account_id != account.pk:
        raise DomainError(_("The contact belongs to another account."), field="contact")
    if interaction is not None and interaction.account_id not in (None, account.pk):
        raise DomainError(_("The interaction belongs to another account."), field="interaction")
    now = timezone.now()
    ticket = Ticket(
        number=f"new-{uuid.uuid4().hex[:16]}",
        account=account,
        subject=subject,
        description=description,
        type=type,
        category=category,
        priority=priority,
        contact=contact or (interaction.contact if interaction is not None else None),
        interaction=interaction,
        outage=outage,
        assigned_agent=assigned_agent,
        assigned_group=assigned_group,
        created_by=created_by,
        created_at=now,
    )
    if interaction is not None and interaction.channel in LIVE_CHANNELS:
        ticket.first_responded_at = now
    ticket.save()
    ticket.number = f"T{ticket.pk:07d}"
    _apply_sla(ticket, actor=created_by)
    ticket.save()
    _record(ticket, actor=created_by, action=TicketChange.Action.CREATED, new=ticket.number, at=now)
    if outage is not None:
        _record(ticket, actor=created_by, action=TicketChange.Action.OUTAGE, new=outage, at=now)
    _notify(ticket)
    return ticket


def _first_line(text: str, limit: int = 80) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


@transaction.atomic
def ticket_create_from_interaction(
    *,
    interaction: Interaction,
    created_by: User,
    notes: str | None = None,
    subject: str = "",
    type: str = Ticket.Type.INCIDENT,
    priority: str = Ticket.Priority.NORMAL,
    category: TicketCategory | None = None,
    outage: Outage | None = None,
) -> Ticket:
    """The desk's one action: the notepad text becomes the description of a ticket that links
    the current contact and its account. `notes`, when given, is saved to the notepad first."""
    if notes is not None:
        interaction_save_notes(interaction=interaction, notes=notes, user=created_by)
    if interaction.account_id is None:
        raise DomainError(
            _("Identify the caller's account first; a ticket belongs to an account."),
            field="account",
        )
    text = interaction.notes or ""
    subject = (
        subject.strip()
        or _first_line(text)
        or interaction.subject
        or _("%(channel)s contact on %(date)s")
        % {
            "channel": interaction.get_channel_display(),
            "date": timezone.localtime(interaction.started_at).strftime("%d.%m.%Y %H:%M"),
        }
    )
    assert interaction.account is not None
    return ticket_create(
        account=interaction.account,
        subject=subject,
        description=text,
        created_by=created_by,
        interaction=interaction,
        type=type,
        priority=priority,
        category=category,
        outage=outage,
    )


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    by: User,
    expected_version: int | None = None,
    **changes: Unpack[TicketChanges],
) -> Ticket:
    """Change subject, description, type, priority, category or contact; one trail row each."""
    allowed = TicketChanges.__optional_keys__
    other = sorted(set(changes) - allowed)
    if other:
        raise DomainError(_("“%(field)s” cannot be changed.") % {"field": other[0]}, field=other[0])
    _require_staff(by, field="by")
    _require_ticket_write(ticket, by)
    locked = _lock(ticket, expected_version=expected_version)
    if "subject" in changes:
        changes["subject"] = _clean_subject(changes["subject"])
    if "description" in changes:
        changes["description"] = _check_description(changes["description"])
    if "type" in changes:
        _check_choice(changes["type"], Ticket.Type, field="type", label=_("ticket type"))
    if "priority" in changes:
        _check_choice(changes["priority"], Ticket.Priority, field="priority", label=_("priority"))
    if "category" in changes:
        _check_category(changes["category"])
    contact = changes.get("contact")
    if contact is not None and contact.account_id != locked.account_id:
        raise DomainError(_("The contact belongs to another account."), field="contact")
    changed: list[str] = []
    now = timezone.now()
    for field, value in changes.items():
        old = getattr(locked, field)
        if old == value:
            continue
        setattr(locked, field, value)
        changed.append(field)
        _record(
            locked,
            actor=by,
            action=TicketChange.Action.CHANGED,
            field=field,
            old=old,
            new=value,
            at=now,
        )
    if changed:
        _save(locked, changed)
        _notify(locked)
    return locked


@transaction.atomic
def ticket_set_status(
    *,
    ticket: Ticket,
    status: str,
    by: User | None,
    expected_version: int | None = None,
) -> Ticket:
    """Move a ticket along its workflow (Ticket.TRANSITIONS); reopening counts as such.

    Locks the ticket row (see _lock).
    """
    _require_staff(by, field="by")
    _require_ticket_write(ticket, by)
    _check_choice(status, Ticket.Status, field="status", label=_("status"))
    locked = _lock(ticket, expected_version=expected_version)
    transition_check(
        transitions=Ticket.TRANSITIONS,
        choices=Ticket.Status,
        old=locked.status,
        new=status,
        message=_("A ticket that is “%(old)s” cannot become “%(new)s”."),
        field="status",
        allowed=locked.allowed_statuses(),
    )
    now = timezone.now()
    old = locked.status
    fields = ["status"]
    reopened = old in Ticket.DONE_STATUSES and status in Ticket.OPEN_STATUSES
    locked.status = status
    if status == Ticket.Status.RESOLVED:
        locked.resolved_at = now
        fields.append("resolved_at")
        if locked.first_responded_at is None:
            locked.first_responded_at = now
            fields.append("first_responded_at")
    elif status == Ticket.Status.CLOSED:
        locked.closed_at = now
        fields.append("closed_at")
        if locked.resolved_at is None:
            locked.resolved_at = now
            fields.append("resolved_at")
    if reopened:
        locked.resolved_at = None
        locked.closed_at = None
        locked.reopen_count += 1
        fields += ["resolved_at", "closed_at", "reopen_count"]
    action = TicketChange.Action.REOPENED if reopened else TicketChange.Action.STATUS
    _record(locked, actor=by, action=action, field="status", old=old, new=status, at=now)
    fields += _sla_pause_or_resume(locked, old=old, by=by, now=now)
    _save(locked, sorted(set(fields)))
    _notify(locked)
    return locked


def _sla_pause_or_resume(ticket: Ticket, *, old: str, by: User | None, now: datetime) -> list[str]:
    """Stop the SLA clock while the ticket waits for the customer; when it moves on, move the
    open due dates (and their warnings) by the business time that passed meanwhile."""
    waiting = Ticket.Status.WAITING
    if ticket.status == waiting and old != waiting and ticket.sla_policy_id is not None:
        ticket.sla_paused_at = now
        _record(ticket, actor=by, action=TicketChange.Action.SLA_PAUSED, at=now)
        return ["sla_paused_at"]
    if old != waiting or ticket.sla_paused_at is None:
        return []
    paused_at, ticket.sla_paused_at = ticket.sla_paused_at, None
    fields = ["sla_paused_at"]
    if ticket.status in Ticket.DONE_STATUSES or ticket.sla_policy is None:
        return fields
    try:
        schedule = sla.schedule_for_calendar(ticket.sla_policy.calendar)
        minutes = sla.business_minutes_between(schedule=schedule, start=paused_at, end=now)
        for target, done in (("first_response", "first_responded_at"), ("resolution", None)):
            if done is not None and getattr(ticket, done) is not None:
                continue
            for moment in (f"{target}_due_at", f"{target}_warn_at"):
                value = getattr(ticket, moment)
                if value is not None and minutes:
                    moved = sla.business_time_add(schedule=schedule, start=value, minutes=minutes)
                    setattr(ticket, moment, moved)
                    fields.append(moment)
    except DomainError as error:
        logger.error("ticket %s: SLA due dates not moved after the pause: %s", ticket.pk, error)
        return fields
    _record(
        ticket,
        actor=by,
        action=TicketChange.Action.SLA_RESUMED,
        new=ngettext("%(minutes)d business minute", "%(minutes)d business minutes", minutes)
        % {"minutes": minutes},
        at=now,
    )
    return fields


_KEEP: Any = object()


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    agent: User | None = _KEEP,
    group: AgentGroup | None = _KEEP,
    by: User | None,
    expected_version: int | None = None,
) -> Ticket:
    """Give the ticket to an agent and/or an agent group; None takes it from them, an
    argument left out keeps what is there."""
    _require_staff(by, field="by")
    _require_ticket_write(ticket, by)
    locked = _lock(ticket, expected_version=expected_version)
    fields: list[str] = []
    now = timezone.now()
    if agent is not _KEEP and locked.assigned_agent_id != (agent.pk if agent else None):
        _require_staff(agent, field="assigned_agent")
        previous = locked.assigned_agent
        locked.assigned_agent = agent
        fields.append("assigned_agent")
        _record(
            locked,
            actor=by,
            action=TicketChange.Action.ASSIGNED,
            field="assigned_agent",
            old=previous,
            new=agent,
            at=now,
        )
    if group is not _KEEP and locked.assigned_group_id != (group.pk if group else None):
        previous_group = locked.assigned_group
        locked.assigned_group = group
        fields.append("assigned_group")
        _record(
            locked,
            actor=by,
            action=TicketChange.Action.ASSIGNED,
            field="assigned_group",
            old=previous_group,
            new=group,
            at=now,
        )
    if fields:
        _save(locked, fields)
        _notify(locked)
    return locked


@transaction.atomic
def ticket_message_add(
    *, ticket: Ticket, author: User, body: str, is_internal: bool = True, send_via: str = ""
) -> TicketMessage:
    """Add an internal note or a message the customer sees; the first message the customer
    sees is the ticket's first response. `send_via` ("email" or "sms") also sends it to the
    customer (logged in the history); when sending fails, nothing is stored."""
    _require_staff(author, field="author")
    _require_ticket_write(ticket, author)
    if send_via not in ("", "email", "sms"):
        raise DomainError(_("Send by email, SMS or not at all."), field="send_via")
    if send_via and is_internal:
        raise DomainError(_("Internal notes are never sent to the customer."), field="send_via")
    body = (body or "").strip()
    if not body:
        raise DomainError(_("Write a text first."), field="body")
    if len(body) > MESSAGE_MAX_LENGTH:
        raise DomainError(
            _("A message can be at most %(max)d characters long.") % {"max": MESSAGE_MAX_LENGTH},
            field="body",
        )
    locked = _lock(ticket, expected_version=None)
    now = timezone.now()
    message = TicketMessage.objects.create(
        ticket=locked, author=author, body=body, is_internal=is_internal, created_at=now
    )
    fields: list[str] = []
    if not is_internal and locked.first_responded_at is None:
        locked.first_responded_at = now
        fields.append("first_responded_at")
    _record(
        locked,
        actor=author,
        action=TicketChange.Action.MESSAGE,
        field="internal" if is_internal else (f"customer, {send_via}" if send_via else "customer"),
        new=body[:200],
        at=now,
    )
    if send_via:
        _send_to_customer(locked, body=body, via=send_via, author=author)
    _save(locked, fields)
    _notify(locked)
    return message


def _send_to_customer(ticket: Ticket, *, body: str, via: str, author: User) -> None:
    """Send a ticket message to the ticket's contact (or else the account) by email or SMS."""
    from accounts.services.outreach import message_send_email, message_send_sms

    kind = ContactPoint.Kind.EMAIL if via == "email" else ContactPoint.Kind.PHONE
    points = list(ContactPoint.objects.filter(account_id=ticket.account_id, kind=kind))
    if ticket.contact_id is not None:
        points.sort(key=lambda p: (p.contact_id != ticket.contact_id, p.contact_id is not None))
    else:
        points.sort(key=lambda p: p.contact_id is not None)
    if not points:
        raise DomainError(
            _("The customer has no email address.")
            if via == "email"
            else _("The customer has no phone number."),
            field="send_via",
        )
    if via == "email":
        message_send_email(
            to=points[0].value,
            subject=f"[{ticket.number}] {ticket.subject}",
            text=body,
            agent=author,
            account=ticket.account,
            contact=ticket.contact,
        )
    else:
        message_send_sms(
            to=points[0].value,
            text=f"{ticket.number}: {body}",
            agent=author,
            account=ticket.account,
            contact=ticket.contact,
        )


def _attachment_content_type(name: str, head: bytes) -> str:
    """The content type a file is stored and served with, or a DomainError saying why not."""
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    known = ATTACHMENT_TYPES.get(extension)
    if known is None:
        allowed = ", ".join(sorted(ATTACHMENT_TYPES))
        raise DomainError(
            _("Files of this type cannot be attached. Allowed: %(allowed)s.")
            % {"allowed": allowed},
            field="file",
        )
    content_type, magic = known
    lowered = head.lower()
    if head.startswith(PROGRAM_MAGIC) or any(marker in lowered for marker in DANGEROUS_MARKERS):
        raise DomainError(
            _("This file contains web page or program code and cannot be attached."), field="file"
        )
    if magic and not head.startswith(magic):
        raise DomainError(
            _("The file's content does not match its name “%(name)s”.") % {"name": name},
            field="file",
        )
    if not magic and b"\x00" in head:
        raise DomainError(
            _("The file's content does not match its name “%(name)s”.") % {"name": name},
            field="file",
        )
    return content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"


@transaction.atomic
def ticket_attachment_add(*, ticket: Ticket, upload: UploadedFile, by: User) -> TicketAttachment:
    """Attach a file after checking its size, name and content (no HTML, no programs)."""
    _require_staff(by, field="by")
    _require_ticket_write(ticket, by)
    limit = _attachment_max_bytes()
    size = upload.size or 0
    if size > limit:
        raise DomainError(
            _("The file is too large: at most %(max)d MB.") % {"max": limit // (1024 * 1024)},
            field="file",
        )
    if size == 0:
        raise DomainError(_("The file is empty."), field="file")
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name:
        raise DomainError(_("The file needs a name."), field="file")
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    content_type = _attachment_content_type(name, head)
    locked = _lock(ticket, expected_version=None)
    attachment = TicketAttachment(
        ticket=locked, name=name, content_type=content_type, size=size, uploaded_by=by
    )
    attachment.file.save(name, upload, save=False)
    # The file is on disk now; if the row cannot be written, remove it again.
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)
        raise
    _record(locked, actor=by, action=TicketChange.Action.ATTACHMENT, field="file", new=name)
    _save(locked, [])
    return attachment


@transaction.atomic
def ticket_link_outage(
    *, ticket: Ticket, outage: Outage | None, by: User | None, expected_version: int | None = None
) -> Ticket:
    """Link the caller's ticket to a known outage (one action at the desk), or unlink it."""
    _require_staff(by, field="by")
    _require_ticket_write(ticket, by)
    locked = _lock(ticket, expected_version=expected_version)
    if locked.outage_id == (outage.pk if outage is not None else None):
        return locked
    previous = locked.outage
    locked.outage = outage
    _record(
        locked,
        actor=by,
        action=TicketChange.Action.OUTAGE,
        field="outage",
        old=previous,
        new=outage,
    )
    _save(locked, ["outage"])
    _notify(locked)
    return locked


@dataclass(frozen=True)
class SlaCheckResult:
    warned: int
    escalated: int


def _sla_mark(
    ticket_id: int, *, flag: str, action: str, target: str, now: datetime
) -> Ticket | None:
    """Set one SLA flag exactly once, even with several workers running the check."""
    with transaction.atomic():
        won = Ticket.objects.filter(pk=ticket_id, **{f"{flag}__isnull": True}).update(**{flag: now})
        if not won:
            return None
        ticket = Ticket.objects.select_related("assigned_agent").get(pk=ticket_id)
        if action == TicketChange.Action.SLA_BREACH and not ticket.is_escalated:
            Ticket.objects.filter(pk=ticket_id).update(is_escalated=True)
            ticket.is_escalated = True
        _record(ticket, actor=None, action=action, field=target, at=now)
        _notify(ticket)
        return ticket


def ticket_sla_check(*, now: datetime | None = None) -> SlaCheckResult:
    """Warn before an SLA breach and escalate when a target is due (idempotent; run often)."""
    now = now or timezone.now()
    open_statuses = list(Ticket.OPEN_STATUSES)
    targets = [
        ("first_response", "first_responded_at"),
        ("resolution", "resolved_at"),
    ]
    warned = escalated = 0
    for target, done in targets:
        base = Ticket.objects.filter(
            status__in=open_statuses, sla_paused_at__isnull=True, **{f"{done}__isnull": True}
        )
        due_ids = list(
            base.filter(
                **{f"{target}_due_at__lte": now, f"{target}_escalated_at__isnull": True}
            ).values_list("pk", flat=True)[:SLA_CHECK_BATCH]
        )
        for ticket_id in due_ids:
            if _sla_mark(
                ticket_id,
                flag=f"{target}_escalated_at",
                action=TicketChange.Action.SLA_BREACH,
                target=target,
                now=now,
            ):
                escalated += 1
        warn_ids = list(
            base.filter(
                Q(**{f"{target}_warn_at__lte": now}),
                Q(**{f"{target}_due_at__gt": now}),
                **{f"{target}_warned_at__isnull": True},
            ).values_list("pk", flat=True)[:SLA_CHECK_BATCH]
        )
        for ticket_id in warn_ids:
            if _sla_mark(
                ticket_id,
                flag=f"{target}_warned_at",
                action=TicketChange.Action.SLA_WARNING,
                target=target,
                now=now,
            ):
                warned += 1
    return SlaCheckResult(warned=warned, escalated=escalated)
