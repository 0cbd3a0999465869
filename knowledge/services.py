"""Write paths of the knowledge base: authoring, status workflow, usage and feedback."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypedDict, Unpack

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.html import linebreaks
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.access import ticket_require_write
from accounts.models import Account, Interaction, Ticket, TicketChange
from accounts.phone import phone_parse
from icenter import roles
from icenter.errors import DomainError, NotFound, PermissionDenied
from knowledge.models import (
    Category,
    Keyword,
    Problem,
    Solution,
    SolutionFeedback,
    SolutionLink,
    SolutionUsage,
    SolutionVersion,
)
from knowledge.search.highlight import plain_text

# The rich text managers may write; everything else (scripts, styles, events) is removed.
ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "a", "h3", "h4",
    "blockquote", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan"}, "th": {"colspan"}}
TITLE_MAX = 200
BODY_MAX = 100_000
HELP_MESSAGE_MAX = 5000


class SolutionChanges(TypedDict, total=False):
    """What an author can change in a solution; each change is a new version."""

    title: str
    body: str
    internal_note: str
    language: str
    category: Category | None
    is_public: bool
    valid_from: date | None
    valid_until: date | None


def solution_body_clean(html: str) -> str:
    """Rich text reduced to safe formatting (nh3, the ammonia sanitiser); links get rel."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def _checked(
    *, title: str, body: str, valid_from: date | None, valid_until: date | None
) -> tuple[str, str]:
    title = " ".join((title or "").split())
    if not title:
        raise DomainError(_("A solution needs a title."), field="title")
    if len(title) > TITLE_MAX:
        raise DomainError(
            _("The title can be at most %(max)d characters long.") % {"max": TITLE_MAX},
            field="title",
        )
    if len(body or "") > BODY_MAX:
        raise DomainError(
            _("The text can be at most %(max)d characters long.") % {"max": BODY_MAX},
            field="body",
        )
    clean = solution_body_clean(body)
    if not plain_text(clean).strip():
        raise DomainError(_("A solution needs a text."), field="body")
    if valid_from and valid_until and valid_until < valid_from:
        raise DomainError(
            _("A solution cannot expire before it becomes valid."), field="valid_until"
        )
    return title, clean


def solution_version_record(*, solution: Solution, author: Any, note: str = "") -> SolutionVersion:
    """Keep the solution's current state as its version `solution.version`."""
    return SolutionVersion.objects.update_or_create(
        solution=solution,
        number=solution.version,
        defaults={
            "title": solution.title,
            "body": solution.body,
            "status": solution.status,
            "author": author if getattr(author, "pk", None) else None,
            "note": note[:200],
            "created_at": timezone.now(),
        },
    )[0]


@transaction.atomic
def solution_create(
    *,
    title: str,
    body: str,
    author: Any,
    language: str = Solution.Language.GERMAN,
    category: Category | None = None,
    problems: Iterable[Problem] = (),
    keywords: Iterable[Keyword] = (),
    is_public: bool = False,
    internal_note: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    status: str = Solution.Status.DRAFT,
    source_ticket: Ticket | None = None,
) -> Solution:
    """Write a new solution (a draft unless said otherwise) as its version 1."""
    title, clean = _checked(title=title, body=body, valid_from=valid_from, valid_until=valid_until)
    if language not in Solution.Language.values:
        raise DomainError(
            _("Unknown language “%(value)s”.") % {"value": language}, field="language"
        )
    if status not in Solution.Status.values:
        raise DomainError(_("Unknown status “%(value)s”.") % {"value": status}, field="status")
    author_id = author if getattr(author, "pk", None) else None
    solution = Solution.objects.create(
        title=title,
        body=clean,
        language=language,
        category=category,
        is_public=is_public,
        internal_note=internal_note.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
        status=status,
        created_by=author_id,
        updated_by=author_id,
        source_ticket=source_ticket,
    )
    solution.problems.set(list(problems))
    solution.keywords.set(list(keywords))
    solution_version_record(solution=solution, author=author, note=_("Created"))
    return solution


@transaction.atomic
def solution_update(
    *, solution: Solution, author: Any, note: str = "", **changes: Unpack[SolutionChanges]
) -> Solution:
    """Change a solution; the old state stays as a version, the new one gets the next number."""
    unknown = sorted(set(changes) - SolutionChanges.__optional_keys__)
    if unknown:
        raise DomainError(_("“%(field)s” cannot be changed.") % {"field": unknown[0]})
    merged = {
        "title": changes.get("title", solution.title),
        "body": changes.get("body", solution.body),
        "valid_from": changes.get("valid_from", solution.valid_from),
        "valid_until": changes.get("valid_until", solution.valid_until),
    }
    changes["title"], changes["body"] = _checked(**merged)  # type: ignore[arg-type]
    locked = Solution.objects.select_for_update().get(pk=solution.pk)
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.version = locked.version + 1
    locked.updated_by = author if getattr(author, "pk", None) else None
    locked.save()
    solution_version_record(solution=locked, author=author, note=note or _("Changed"))
    return locked


@transaction.atomic
def solution_set_status(*, solution: Solution, status: str, user: Any) -> Solution:
    """Release, archive or reopen a solution as a draft; other moves are refused.

    Only managers release or archive; the change is kept in the version history.
    """
    if not roles.user_has_role(user, roles.MANAGER):
        raise PermissionDenied(_("Only managers release or archive solutions."))
    locked = Solution.objects.select_for_update().get(pk=solution.pk)
    if status == locked.status:
        return locked
    allowed = Solution.TRANSITIONS.get(locked.status, ())
    if status not in allowed:
        raise DomainError(
            _("A solution cannot go from “%(old)s” to “%(new)s”.")
            % {"old": locked.get_status_display(), "new": status},
            field="status",
        )
    if (
        status == Solution.Status.DRAFT
        and locked.source_ticket_id is not None
        and Solution.objects.filter(source_ticket_id=locked.source_ticket_id, status=status)
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise DomainError(
            _(
                "Another solution proposed from the same ticket is waiting for review; "
                "release or archive it first."
            ),
            field="status",
        )
    locked.status = status
    locked.version += 1
    locked.updated_by = user
    locked.save(update_fields=["status", "version", "updated_by", "updated_at"])
    solution_version_record(
        solution=locked,
        author=user,
        note=_("Status: %(status)s") % {"status": locked.get_status_display()},
    )
    return locked


def solution_usage_record(
    *,
    solution: Solution,
    kind: str,
    agent: Any = None,
    queue: str = "",
    interaction: Interaction | None = None,
) -> SolutionUsage:
    """Count one use of a solution (sent or linked) for the top-10 lists and the ranking."""
    usage = SolutionUsage.objects.create(
        solution=solution,
        kind=kind,
        agent=agent,
        queue=(queue or "")[:100],
        interaction=interaction,
    )
    Solution.objects.filter(pk=solution.pk).update(usage_count=F("usage_count") + 1)
    return usage


@transaction.atomic
def solution_send_to_customer(
    *,
    solution: Solution,
    agent: Any,
    to: str,
    account: Account | None = None,
    queue: str = "",
    message: str = "",
) -> Interaction:
    """Email a released solution to the customer and log it in the interaction history.

    The mail goes out after commit, so a refused or failed log sends nothing.
    """
    to = (to or "").strip()
    try:
        validate_email(to)
    except ValidationError:
        raise DomainError(
            _("“%(value)s” is not a valid email address.") % {"value": to}, field="to"
        ) from None
    if solution.status != Solution.Status.RELEASED or not solution.is_valid_on():
        raise DomainError(_("Only released, valid solutions can be sent to customers."))
    text = plain_text(solution.body)
    intro = (message or "").strip()[:HELP_MESSAGE_MAX]
    body = f"{intro}\n\n{solution.title}\n\n{text}\n" if intro else f"{solution.title}\n\n{text}\n"
    now = timezone.now()
    interaction = account_services.interaction_log(
        channel=Interaction.Channel.EMAIL,
        direction=Interaction.Direction.OUTBOUND,
        started_at=now,
        ended_at=now,
        account=account,
        agent=agent,
        address=to,
        subject=solution.title[:200],
        notes=_("Solution sent: %(title)s (version %(version)d)")
        % {"title": solution.title, "version": solution.version},
    )
    solution_usage_record(
        solution=solution,
        kind=SolutionUsage.Kind.SENT,
        agent=agent,
        queue=queue,
        interaction=interaction,
    )
    transaction.on_commit(
        lambda: send_mail(
            subject=solution.title,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[to],
        )
    )
    return interaction


# -- solutions and tickets ----------------------------------------------------------------------


def _ticket_for(user: Any, ticket_id: int) -> Ticket:
    """The ticket as the user may see it (the accounts selector applies the access rules),
    locked for this transaction; refused when the user may not change it."""
    if not roles.user_has_role(user, *roles.ALL):
        raise PermissionDenied(
            _("Only agents, supervisors and managers work with tickets and solutions.")
        )
    ticket = (
        account_selectors.ticket_list(user=user)
        .filter(pk=ticket_id)
        .select_for_update(of=("self",))
        .first()
    )
    if ticket is None:
        raise NotFound(_("That ticket does not exist or is not yours to see."), field="ticket")
    ticket_require_write(user, ticket)
    return ticket


def _trail(ticket: Ticket, *, user: Any, action: str, old: str = "", new: str = "") -> None:
    """One row in the ticket's audit trail, as accounts.services.tickets writes them."""
    TicketChange.objects.create(
        ticket=ticket,
        actor=user,
        action=action,
        old_value=old,
        new_value=new,
        at=timezone.now(),
    )


def _label(solution: Solution) -> str:
    return f"{solution.title} (#{solution.pk})"


@transaction.atomic
def solution_link_to_ticket(
    *,
    solution: Solution,
    ticket_id: int,
    user: Any,
    queue: str = "",
    interaction: Interaction | None = None,
) -> SolutionLink:
    """Link a released solution to a ticket: it shows on the ticket, counts as a use of the
    solution and is written to the ticket's audit trail.

    Locks the ticket row, so two agents linking the same solution queue; the second is told.
    """
    ticket = _ticket_for(user, ticket_id)
    if solution.status != Solution.Status.RELEASED or not solution.is_valid_on():
        raise DomainError(_("Only released, valid solutions can be linked to tickets."))
    if SolutionLink.objects.filter(solution=solution, ticket=ticket).exists():
        raise DomainError(
            _("“%(title)s” is already linked to ticket %(number)s.")
            % {"title": solution.title, "number": ticket.number},
            field="solution",
        )
    usage = solution_usage_record(
        solution=solution,
        kind=SolutionUsage.Kind.LINKED,
        agent=user,
        queue=queue,
        interaction=interaction,
    )
    try:
        with transaction.atomic():
            link = SolutionLink.objects.create(
                solution=solution, ticket=ticket, linked_by=user, usage=usage
            )
    except IntegrityError:
        raise DomainError(
            _("“%(title)s” is already linked to ticket %(number)s.")
            % {"title": solution.title, "number": ticket.number},
            field="solution",
        ) from None
    _trail(ticket, user=user, action=TicketChange.Action.SOLUTION_LINKED, new=_label(solution))
    return link


@transaction.atomic
def solution_unlink_from_ticket(*, solution: Solution, ticket_id: int, user: Any) -> None:
    """Take a solution off a ticket; the use it counted is taken back, the trail keeps both."""
    ticket = _ticket_for(user, ticket_id)
    link = SolutionLink.objects.select_for_update().filter(solution=solution, ticket=ticket).first()
    if link is None:
        raise NotFound(
            _("“%(title)s” is not linked to ticket %(number)s.")
            % {"title": solution.title, "number": ticket.number},
            field="solution",
        )
    if link.usage_id is not None:
        SolutionUsage.objects.filter(pk=link.usage_id).delete()
        Solution.objects.filter(pk=solution.pk, usage_count__gt=0).update(
            usage_count=F("usage_count") - 1
        )
    link.delete()
    _trail(ticket, user=user, action=TicketChange.Action.SOLUTION_UNLINKED, old=_label(solution))


def _paragraphs(text: str) -> str:
    """An agent's plain text as safe HTML paragraphs (escaped, then sanitised again)."""
    return solution_body_clean(linebreaks(text.strip(), autoescape=True))


def _problem_for(title: str, description: str, category: Category | None) -> Problem:
    """The problem with this title, or a new one when the knowledge base has none yet."""
    title = " ".join((title or "").split())
    if not title:
        raise DomainError(_("Describe the problem in a few words."), field="problem_title")
    if len(title) > TITLE_MAX:
        raise DomainError(
            _("The problem can be at most %(max)d characters long.") % {"max": TITLE_MAX},
            field="problem_title",
        )
    problem = Problem.objects.filter(title__iexact=title).order_by("pk").first()
    if problem is None:
        problem = Problem.objects.create(
            title=title, description=(description or "").strip()[:BODY_MAX], category=category
        )
    return problem


def _category_for(ticket: Ticket) -> Category | None:
    """The knowledge category named like the ticket's category (or one of its parents)."""
    if ticket.category is None:
        return None
    names = [node.name for node in reversed(ticket.category.path)]
    found = {c.name.lower(): c for c in Category.objects.filter(name__in=names)}
    for name in names:
        if name.lower() in found:
            return found[name.lower()]
    return None


def _pending_refusal(pending: Solution) -> DomainError:
    return DomainError(
        _(
            "A solution proposed from this ticket is already waiting for review: "
            "“%(title)s”. A manager releases or archives it first."
        )
        % {"title": pending.title},
        field="ticket",
        solution=pending.pk,
    )


@transaction.atomic
def solution_propose_from_ticket(
    *,
    ticket_id: int,
    user: Any,
    title: str,
    body: str,
    problem_title: str = "",
    problem_description: str = "",
    language: str = Solution.Language.GERMAN,
) -> Solution:
    """An agent proposes how a resolved ticket was solved as a solution draft for managers
    to review; the ticket's audit trail records the proposal.

    Locks the ticket row, so that two agents cannot both propose from it.
    """
    ticket = _ticket_for(user, ticket_id)
    if ticket.status not in Ticket.DONE_STATUSES:
        raise DomainError(
            _(
                "Only a resolved or closed ticket can be proposed as a solution; "
                "ticket %(number)s is “%(status)s”."
            )
            % {"number": ticket.number, "status": ticket.get_status_display()},
            field="ticket",
        )
    pending = Solution.objects.filter(source_ticket=ticket, status=Solution.Status.DRAFT).first()
    if pending is not None:
        raise _pending_refusal(pending)
    if len(body or "") > BODY_MAX:
        raise DomainError(
            _("The text can be at most %(max)d characters long.") % {"max": BODY_MAX},
            field="body",
        )
    category = _category_for(ticket)
    problem = _problem_for(problem_title or ticket.subject, problem_description, category)
    who = user.get_full_name() or user.get_username()
    solution = solution_create(
        title=title,
        body=_paragraphs(body or ""),
        author=user,
        language=language,
        category=category,
        problems=[problem],
        internal_note=_("Proposed by %(who)s from ticket %(number)s.")
        % {"who": who, "number": ticket.number},
        status=Solution.Status.DRAFT,
        source_ticket=ticket,
    )
    _trail(
        ticket,
        user=user,
        action=TicketChange.Action.SOLUTION_PROPOSED,
        new=_("Draft for review: %(label)s") % {"label": _label(solution)},
    )
    return solution


@transaction.atomic
def solution_feedback_add(
    *, solution: Solution, helped: bool, source: str, user: Any = None, query: str = ""
) -> SolutionFeedback:
    """Record "helped" or "did not help"; it moves the solution up or down in the ranking."""
    if source not in SolutionFeedback.Source.values:
        raise DomainError(_("Unknown feedback source."), field="source")
    feedback = SolutionFeedback.objects.create(
        solution=solution,
        helped=bool(helped),
        source=source,
        user=user if getattr(user, "pk", None) else None,
        query=(query or "")[:200],
    )
    counter = "helped_count" if helped else "not_helped_count"
    Solution.objects.filter(pk=solution.pk).update(**{counter: F(counter) + 1})
    return feedback


@transaction.atomic
def help_request_create(
    *,
    name: str,
    email: str,
    message: str,
    phone: str = "",
    solution: Solution | None = None,
    query: str = "",
) -> Interaction:
    """A self-service customer still needs help: an inbound email request for the agents.

    With a phone number it also schedules a callback in the universal queue.
    """
    from telephony.services import callback_schedule

    name = " ".join((name or "").split())[:100]
    email = (email or "").strip()
    message = (message or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(
            _("Please give a valid email address so that we can answer."), field="email"
        ) from None
    if not message:
        raise DomainError(_("Please describe what you need help with."), field="message")
    number = phone_parse(phone) if (phone or "").strip() else None
    if number is not None and not number.is_valid:
        raise DomainError(
            _("“%(value)s” is not a phone number we can call.") % {"value": phone.strip()[:40]},
            field="phone",
        )
    if len(message) > HELP_MESSAGE_MAX:
        raise DomainError(
            _("Please keep the message under %(max)d characters.") % {"max": HELP_MESSAGE_MAX},
            field="message",
        )
    account = (
        Account.objects.filter(
            contact_points__kind="email", contact_points__normalized=email.lower()
        )
        .order_by("pk")
        .first()
    )
    context = []
    if query:
        context.append(_("Searched for: %(query)s") % {"query": query[:200]})
    if solution is not None:
        context.append(_("Read: %(title)s") % {"title": solution.title})
    notes = "\n".join([f"{name} <{email}>", *context, "", message])
    subject = _("Self-service: still needs help")
    if number is not None:
        callback_schedule(
            number=number.e164, reason=subject, not_before=timezone.now(), account=account
        )
    return account_services.interaction_log(
        channel=Interaction.Channel.EMAIL,
        direction=Interaction.Direction.INBOUND,
        started_at=timezone.now(),
        account=account,
        address=email,
        subject=subject[:200],
        notes=notes[: account_services.NOTES_MAX_LENGTH],
    )
