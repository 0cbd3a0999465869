"""Service tickets with their workflow, SLA calendars, messages, attachments and audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.core import Account, Contact, Interaction

if TYPE_CHECKING:
    from accounts.models.appointments import ServiceSkill


class BusinessCalendar(models.Model):
    """When a service team works: weekly hours (split shifts allowed) minus public holidays."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=50, default="Europe/Berlin")
    holiday_country = models.CharField(
        _("holiday country"),
        max_length=2,
        default="DE",
        blank=True,
        help_text=_("Public holidays of this country are closed days (ISO code, e.g. DE)."),
    )
    holiday_subdivision = models.CharField(
        _("holiday region"),
        max_length=10,
        blank=True,
        help_text=_("The state whose holidays also apply, e.g. BE for Berlin, BY for Bavaria."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """One working shift on a weekday; a day with two shifts has two rows (split shift)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="hours",
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "starts_at"]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="businesshours_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="businesshours_weekday_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class CalendarClosure(models.Model):
    """A day the team does not work besides public holidays (company holiday, training)."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="closures",
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendarclosure_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class SlaPolicy(models.Model):
    """Response and resolution targets in business minutes, for a ticket type and priority."""

    name = models.CharField(_("name"), max_length=100)
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        related_name="sla_policies",
    )
    ticket_type = models.CharField(
        _("ticket type"),
        max_length=20,
        blank=True,
        help_text=_("Empty: applies to every type."),
    )
    priority = models.CharField(
        _("priority"),
        max_length=10,
        blank=True,
        help_text=_("Empty: applies to every priority."),
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)")
    )
    resolution_minutes = models.PositiveIntegerField(_("resolution within (business minutes)"))
    warning_minutes = models.PositiveIntegerField(
        _("warn this many minutes before a breach"), default=60
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                name="slapolicy_targets_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TicketCategory(models.Model):
    """A node in the manager-maintained category tree (e.g. Internet › Outage)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_active = models.BooleanField(_("active"), default=True)
    required_skill = models.ForeignKey(
        "accounts.ServiceSkill",
        verbose_name=_("technician skill needed"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Appointments for tickets of this category need a technician with it."),
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="ticketcategory_unique_name",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return " › ".join(node.name for node in self.path)

    @property
    def path(self) -> list[TicketCategory]:
        """The category and its ancestors, root first (one query per level, trees are shallow)."""
        nodes: list[TicketCategory] = []
        node: TicketCategory | None = self
        seen: set[int] = set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            nodes.append(node)
            node = node.parent
        return nodes[::-1]


class Outage(models.Model):
    """A known fault in one or more postcode areas, with the time it is expected to be fixed."""

    reference = models.CharField(_("reference"), max_length=50, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(
        _("source system"),
        max_length=50,
        blank=True,
        help_text=_("The connected system that reported it; empty when entered by hand."),
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    expected_fix_at = models.DateTimeField(_("expected fix"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("outage")
        verbose_name_plural = _("outages")

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}"

    @property
    def is_active(self) -> bool:
        return self.resolved_at is None


class OutageArea(models.Model):
    """A postcode an outage affects."""

    outage = models.ForeignKey(
        Outage, verbose_name=_("outage"), on_delete=models.CASCADE, related_name="areas"
    )
    postcode = models.CharField(_("postcode"), max_length=10)

    class Meta:
        ordering = ["postcode"]
        verbose_name = _("outage area")
        verbose_name_plural = _("outage areas")
        indexes = [models.Index(fields=["postcode"], name="outagearea_postcode")]
        constraints = [
            models.UniqueConstraint(fields=["outage", "postcode"], name="outagearea_unique")
        ]

    def __str__(self) -> str:
        return self.postcode


class Ticket(models.Model):
    """A customer's case: incident, request or complaint, worked through a status workflow."""

    class Type(models.TextChoices):
        INCIDENT = "incident", _("Incident")
        REQUEST = "request", _("Service request")
        COMPLAINT = "complaint", _("Complaint")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting for customer")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    # Which status may follow which; ticket_set_status refuses everything else.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.NEW: frozenset({Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED, Status.CLOSED}),
        Status.IN_PROGRESS: frozenset({Status.WAITING, Status.RESOLVED, Status.CLOSED}),
        Status.WAITING: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
        Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
        Status.CLOSED: frozenset({Status.IN_PROGRESS}),
    }
    # Moving out of these statuses back into work is a reopen.
    DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})
    OPEN_STATUSES = frozenset({Status.NEW, Status.IN_PROGRESS, Status.WAITING})

    number = models.CharField(_("ticket number"), max_length=20, unique=True)
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.INCIDENT)
    category = models.ForeignKey(
        TicketCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="tickets"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        help_text=_("The contact during which the ticket was opened."),
    )
    outage = models.ForeignKey(
        Outage,
        verbose_name=_("outage"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    required_skill = models.ForeignKey(
        "accounts.ServiceSkill",
        verbose_name=_("technician skill needed"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the category's skill."),
    )
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    assigned_group = models.ForeignKey(
        "telephony.AgentGroup",
        verbose_name=_("assigned group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        help_text=_("The team that works on it; any member can take it."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_tickets",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sla_policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_warn_at = models.DateTimeField(
        _("first response warning"), null=True, blank=True
    )
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(_("resolution warning"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(
        _("SLA paused since"),
        null=True,
        blank=True,
        help_text=_(
            "While the ticket waits for the customer its SLA clock stands still; when it moves "
            "on, the open due dates move by the business time that passed."
        ),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Set once each, so that the periodic SLA check warns and escalates only once.
    first_response_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_response_escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_escalated = models.BooleanField(_("escalated"), default=False)
    reopen_count = models.PositiveIntegerField(_("reopened"), default=0)
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        help_text=_("Raised by every change; a save based on an older version is refused."),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["account", "status"], name="ticket_account_status"),
            models.Index(fields=["assigned_agent", "status"], name="ticket_agent_status"),
            models.Index(fields=["assigned_group", "status"], name="ticket_group_status"),
            models.Index(fields=["status", "first_response_warn_at"], name="ticket_fr_warn"),
            models.Index(fields=["status", "resolution_warn_at"], name="ticket_res_warn"),
            models.Index(fields=["-updated_at"], name="ticket_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(subject=""), name="ticket_subject_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=["new", "in_progress", "waiting", "resolved", "closed"]),
                name="ticket_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def skill_needed(self) -> ServiceSkill | None:
        """The skill a technician needs for this ticket: its own, else its category's."""
        if self.required_skill_id is not None:
            return self.required_skill
        return self.category.required_skill if self.category is not None else None

    def allowed_statuses(self) -> list[str]:
        """The statuses this ticket may move to, in workflow order."""
        allowed = self.TRANSITIONS.get(self.status, frozenset())
        return [value for value in self.Status.values if value in allowed]

    def sla_state(self, now: object = None) -> str:
        """ "ok", "warning" or "breached" for the nearest open SLA target, "paused" while the
        ticket waits for the customer; "" without an SLA."""
        moment = now or timezone.now()
        if self.sla_paused_at is not None and self.status == self.Status.WAITING:
            return "paused"
        targets = []
        if self.first_responded_at is None and self.first_response_due_at is not None:
            targets.append((self.first_response_warn_at, self.first_response_due_at))
        if self.resolved_at is None and self.resolution_due_at is not None:
            targets.append((self.resolution_warn_at, self.resolution_due_at))
        if not targets or self.status in self.DONE_STATUSES:
            return ""
        if any(due <= moment for _warn, due in targets):  # type: ignore[operator]
            return "breached"
        if any(warn is not None and warn <= moment for warn, _due in targets):  # type: ignore[operator]
            return "warning"
        return "ok"


class TicketChange(models.Model):
    """The audit trail: one row per changed field or event, with who and when."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        STATUS = "status", _("Status changed")
        REOPENED = "reopened", _("Reopened")
        ASSIGNED = "assigned", _("Assigned")
        MESSAGE = "message", _("Message added")
        ATTACHMENT = "attachment", _("Attachment added")
        OUTAGE = "outage", _("Linked to outage")
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACH = "sla_breach", _("SLA breached, escalated")
        SLA_MISSING = "sla_missing", _("No SLA due dates")
        SLA_PAUSED = "sla_paused", _("SLA clock paused")
        SLA_RESUMED = "sla_resumed", _("SLA clock resumed, due dates moved")
        SOLUTION_LINKED = "solution_linked", _("Knowledge solution linked")
        SOLUTION_UNLINKED = "solution_unlinked", _("Knowledge solution unlinked")
        SOLUTION_PROPOSED = "solution_proposed", _("Proposed as a knowledge solution")
        APPOINTMENT = "appointment", _("Appointment")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="changes"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty: the system (SLA check, connected system)."),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    field = models.CharField(_("field"), max_length=50, blank=True)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket change")
        verbose_name_plural = _("ticket changes")
        indexes = [models.Index(fields=["ticket", "at"], name="ticketchange_ticket_time")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action} {self.field}".strip()

    def _display(self, value: str) -> str:
        choices = {"status": Ticket.Status, "priority": Ticket.Priority, "type": Ticket.Type}
        kind = choices.get(self.field)
        if kind is None or value not in kind.values:
            return value
        return str(kind(value).label)

    @property
    def old_display(self) -> str:
        return self._display(self.old_value)

    @property
    def new_display(self) -> str:
        return self._display(self.new_value)


class TicketMessage(models.Model):
    """A note on a ticket: internal for colleagues, or a message the customer sees."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField(_("text"))
    is_internal = models.BooleanField(
        _("internal note"),
        default=True,
        help_text=_("Internal notes are for colleagues only; the customer never sees them."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="ticketmessage_body_not_empty")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.created_at:%Y-%m-%d %H:%M}"


def _attachment_path(instance: TicketAttachment, filename: str) -> str:
    # The stored name never comes from the user: no path tricks, no executable extension.
    return f"tickets/{timezone.now():%Y/%m}/{instance.ticket_id}-{timezone.now():%H%M%S%f}.bin"


class TicketAttachment(models.Model):
    """A file on a ticket; always served as a download, never rendered inline."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name
