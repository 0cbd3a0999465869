"""Agents, their states, and calls. Workflows are declared here as data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Agent(models.Model):
    """A user who takes contacts at the desk, with a phone extension."""

    class State(models.TextChoices):
        LOGGED_OUT = "logged_out", _("Logged out")
        READY = "ready", _("Ready")
        NOT_READY = "not_ready", _("Not ready")
        RINGING = "ringing", _("Ringing")
        TALKING = "talking", _("Talking")
        WRAP_UP = "wrap_up", _("Wrap-up")

    # Which state may follow which; agent_set_state refuses everything else.
    TRANSITIONS: dict[str, frozenset[str]] = {
        State.LOGGED_OUT: frozenset({State.READY, State.NOT_READY}),
        State.READY: frozenset({State.NOT_READY, State.RINGING, State.TALKING, State.LOGGED_OUT}),
        State.NOT_READY: frozenset({State.READY, State.RINGING, State.TALKING, State.LOGGED_OUT}),
        State.RINGING: frozenset({State.TALKING, State.READY, State.NOT_READY, State.WRAP_UP}),
        State.TALKING: frozenset({State.WRAP_UP}),
        State.WRAP_UP: frozenset(
            {State.READY, State.NOT_READY, State.LOGGED_OUT, State.RINGING, State.TALKING}
        ),
    }

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE
    )
    extension = models.CharField(_("extension"), max_length=20, unique=True)
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.LOGGED_OUT
    )
    state_since = models.DateTimeField(_("in state since"), default=timezone.now)
    state_reason = models.CharField(_("reason"), max_length=100, blank=True)
    current_interaction = models.ForeignKey(
        "accounts.Interaction",
        verbose_name=_("current interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The contact shown on the desk; its notes are the notepad."),
    )
    # Capacity per channel: a phone call or callback always takes the agent's one line.
    capacity_email = models.PositiveSmallIntegerField(_("parallel emails"), default=3)
    capacity_chat = models.PositiveSmallIntegerField(_("parallel chats"), default=2)
    wrap_up_until = models.DateTimeField(
        _("wrap-up ends"),
        null=True,
        blank=True,
        help_text=_("After-call work ends at this time and the agent becomes ready again."),
    )

    class Meta:
        ordering = ["extension"]
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        indexes = [models.Index(fields=["state", "state_since"], name="agent_routing")]

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.get_username()
        return f"{name} ({self.extension})"

    @property
    def group_name(self) -> str:
        """The channel-layer group that carries this agent's live events."""
        return f"agent.{self.pk}"


class AgentStateChange(models.Model):
    """Every agent state change, so that durations can be reported."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="state_changes")
    state = models.CharField(_("state"), max_length=20, choices=Agent.State.choices)
    previous_state = models.CharField(
        _("previous state"), max_length=20, choices=Agent.State.choices
    )
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("agent state change")
        verbose_name_plural = _("agent state changes")
        indexes = [models.Index(fields=["agent", "-at"])]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.previous_state} → {self.state}"


class Call(models.Model):
    """A phone call as the PBX reports it; its interaction is the history record."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting in queue")
        RINGING = "ringing", _("Ringing")
        TALKING = "talking", _("Talking")
        HELD = "held", _("On hold")
        ENDED = "ended", _("Ended")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.QUEUED: frozenset({Status.RINGING, Status.ENDED}),
        Status.RINGING: frozenset({Status.TALKING, Status.QUEUED, Status.ENDED}),
        Status.TALKING: frozenset({Status.HELD, Status.ENDED}),
        Status.HELD: frozenset({Status.TALKING, Status.ENDED}),
        Status.ENDED: frozenset(),
    }

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    call_id = models.CharField(_("PBX call id"), max_length=200, unique=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    ani = models.CharField(_("calling number"), max_length=200, blank=True)
    ani_e164 = models.CharField(_("calling number (E.164)"), max_length=20, blank=True)
    dnis = models.CharField(_("dialled number"), max_length=200, blank=True)
    queue = models.CharField(_("queue"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    interaction = models.OneToOneField(
        "accounts.Interaction",
        verbose_name=_("interaction"),
        on_delete=models.PROTECT,
        related_name="call",
    )
    offered_at = models.DateTimeField(_("offered"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=200, blank=True)
    consult_for = models.ForeignKey(
        "self",
        verbose_name=_("consultation for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consultations",
        help_text=_("An agent's consult call about this customer call (before a transfer)."),
    )

    class Meta:
        ordering = ["-offered_at", "-id"]
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            models.Index(fields=["status", "offered_at"], name="call_queue_order"),
            models.Index(fields=["agent", "status"], name="call_agent_status"),
        ]
        constraints = [
            # One live call per agent: the database refuses a second one.
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(status__in=["ringing", "talking", "held"]),
                name="call_one_live_call_per_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ani or '?'} → {self.dnis or '?'} ({self.get_status_display()})"

    @property
    def customer_number(self) -> str:
        """The customer's number as the PBX gave it: the caller's, or the number dialled out."""
        return self.dnis if self.direction == self.Direction.OUTBOUND else self.ani

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.ENDED

    @property
    def talk_seconds(self) -> int | None:
        if self.answered_at is None:
            return None
        end = self.ended_at or timezone.now()
        return int((end - self.answered_at).total_seconds())


class CallEventRecord(models.Model):
    """Every CallEvent as received, and what became of it (append-only audit)."""

    class Result(models.TextChoices):
        APPLIED = "applied", _("Applied")
        IGNORED = "ignored", _("Ignored")

    call_id = models.CharField(_("PBX call id"), max_length=200, db_index=True)
    kind = models.CharField(_("kind"), max_length=20)
    payload = models.JSONField(_("payload"))
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("call event")
        verbose_name_plural = _("call events")

    def __str__(self) -> str:
        return f"{self.kind} {self.call_id} ({self.result})"


# -- organisation: org units, groups, positions, skills ------------------------------------


class OrgUnit(models.Model):
    """A department or team in the contact center's organisation tree."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """A post in an org unit (e.g. "Team lead 1st level"), held by at most one agent."""

    name = models.CharField(_("name"), max_length=100)
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.CASCADE, related_name="positions"
    )
    holder = models.OneToOneField(
        Agent,
        verbose_name=_("held by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="position",
    )

    class Meta:
        ordering = ["org_unit__name", "name"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.name}"


class AgentGroup(models.Model):
    """Agents who serve the same queues (and receive callbacks addressed to the group)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agent_groups",
    )
    members = models.ManyToManyField(
        Agent, verbose_name=_("members"), blank=True, related_name="groups"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("agent group")
        verbose_name_plural = _("agent groups")

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    """Something an agent can do (a language, a product, a level of support)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name


LEVEL_CHOICES = [(n, str(n)) for n in range(1, 6)]


class AgentSkill(models.Model):
    """How well an agent masters a skill, 1 (basic) to 5 (expert)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(
        Skill, verbose_name=_("skill"), on_delete=models.CASCADE, related_name="agents"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=LEVEL_CHOICES, default=3)

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agentskill_once"),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=5), name="agentskill_level_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} {self.level}"


# -- reason codes ---------------------------------------------------------------------------


class NotReadyReason(models.Model):
    """A manager-defined reason for being not ready (break, training, back office …)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "label"]
        verbose_name = _("not-ready reason")
        verbose_name_plural = _("not-ready reasons")

    def __str__(self) -> str:
        return self.label


class WrapUpCode(models.Model):
    """A manager-defined result of a contact, chosen by the agent during wrap-up."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "label"]
        verbose_name = _("wrap-up code")
        verbose_name_plural = _("wrap-up codes")

    def __str__(self) -> str:
        return self.label


# -- queues and the universal queue ----------------------------------------------------------


class Queue(models.Model):
    """Where work waits for an agent: a hotline number, an email address, a chat entry point."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    number = models.CharField(
        _("number"),
        max_length=30,
        blank=True,
        help_text=_(
            "The dialled number (DNIS) that reaches this queue; empty for non-phone queues."
        ),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=5, help_text=_("Higher numbers are served first (1–10).")
    )
    skills = models.ManyToManyField(
        Skill, verbose_name=_("skills required"), through="QueueSkill", blank=True
    )
    agent_groups = models.ManyToManyField(
        AgentGroup,
        verbose_name=_("served by"),
        blank=True,
        related_name="queues",
        help_text=_("Only members of these groups get work from this queue; empty: every agent."),
    )
    customer_groups = models.ManyToManyField(
        "accounts.CustomerGroup",
        verbose_name=_("customer groups"),
        blank=True,
        related_name="queues",
        help_text=_("Callers of these customer groups are routed to this queue."),
    )
    service_level_seconds = models.PositiveIntegerField(
        _("service level: answered within (s)"), default=20
    )
    service_level_percent = models.PositiveSmallIntegerField(
        _("service level target (%)"), default=80
    )
    overflow_queue = models.ForeignKey(
        "self",
        verbose_name=_("overflow queue"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    overflow_after_seconds = models.PositiveIntegerField(
        _("overflow after (s)"), null=True, blank=True
    )
    ring_timeout_seconds = models.PositiveIntegerField(_("ring time per agent (s)"), default=20)
    vip_wait_seconds = models.PositiveIntegerField(
        _("VIP waits for personal agent (s)"),
        default=30,
        help_text=_(
            "A VIP caller waits this long for their personal agent before anyone may answer."
        ),
    )
    wrap_up_seconds = models.PositiveIntegerField(_("wrap-up time (s)"), default=30)
    closed_announcement = models.CharField(
        _("announcement when closed"),
        max_length=300,
        blank=True,
        default="",
    )
    busy_announcement = models.CharField(
        _("announcement while waiting"),
        max_length=300,
        blank=True,
        default="",
    )
    default_script = models.ForeignKey(
        "scripting.Script",
        verbose_name=_("default script"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Opens on the agent's desk when they answer a call from this queue."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-priority", "name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="queue_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=10), name="queue_priority_range"
            ),
            models.CheckConstraint(
                condition=Q(service_level_percent__lte=100), name="queue_sl_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class QueueSkill(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="required_skills")
    skill = models.ForeignKey(Skill, verbose_name=_("skill"), on_delete=models.CASCADE)
    min_level = models.PositiveSmallIntegerField(
        _("minimum level"), choices=LEVEL_CHOICES, default=1
    )

    class Meta:
        verbose_name = _("required skill")
        verbose_name_plural = _("required skills")
        constraints = [models.UniqueConstraint(fields=["queue", "skill"], name="queueskill_once")]

    def __str__(self) -> str:
        return f"{self.skill} ≥ {self.min_level}"


class OpeningHours(models.Model):
    """One opening period of a queue on a weekday; a queue without any is always open."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(condition=Q(opens__lt=models.F("closes")), name="hours_order")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class WorkItem(models.Model):
    """One piece of work for one agent — a call, an email, a chat or a callback — in one queue."""

    class Channel(models.TextChoices):
        CALL = "call", _("Call")
        CALLBACK = "callback", _("Callback")
        EMAIL = "email", _("Email")
        CHAT = "chat", _("Chat")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("In work")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.QUEUED: frozenset({Status.OFFERED, Status.ACCEPTED, Status.CANCELLED}),
        Status.OFFERED: frozenset({Status.ACCEPTED, Status.QUEUED, Status.CANCELLED}),
        Status.ACCEPTED: frozenset({Status.DONE, Status.QUEUED, Status.CANCELLED}),
        Status.DONE: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    LIVE = (Status.QUEUED, Status.OFFERED, Status.ACCEPTED)
    # Channels that take the agent's phone line: at most one at a time.
    VOICE = (Channel.CALL, Channel.CALLBACK)

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    queue = models.ForeignKey(
        Queue,
        verbose_name=_("queue"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_items",
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=5)
    agent = models.ForeignKey(
        Agent,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_items",
    )
    preferred_agent = models.ForeignKey(
        Agent,
        verbose_name=_("preferred agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    preferred_until = models.DateTimeField(
        _("only the preferred agent until"),
        null=True,
        blank=True,
        help_text=_("Until then only the preferred agent gets the item; afterwards anyone."),
    )
    agent_group = models.ForeignKey(
        AgentGroup,
        verbose_name=_("agent group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_items",
    )
    call = models.OneToOneField(
        Call,
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="work_item",
    )
    interaction = models.ForeignKey(
        "accounts.Interaction",
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_items",
    )
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="work_items",
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    number = models.CharField(
        _("number to call"), max_length=40, blank=True, help_text=_("For callbacks.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enqueued_at = models.DateTimeField(_("waiting since"), default=timezone.now)
    not_before = models.DateTimeField(
        _("not before"), null=True, blank=True, help_text=_("A callback waits until this time.")
    )
    not_after = models.DateTimeField(_("not after"), null=True, blank=True)
    offered_at = models.DateTimeField(_("offered"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    declined_by = models.ManyToManyField(
        Agent,
        verbose_name=_("not answered by"),
        blank=True,
        related_name="+",
        help_text=_("Agents who let it ring or rejected it; routing tries others first."),
    )
    wrap_up_code = models.ForeignKey(
        WrapUpCode,
        verbose_name=_("wrap-up code"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-enqueued_at", "-id"]
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        indexes = [
            models.Index(
                fields=["status", "queue", "-priority", "enqueued_at"], name="workitem_routing"
            ),
            models.Index(fields=["agent", "status"], name="workitem_agent_status"),
            # The order in which waiting items are served, across queues.
            models.Index(
                fields=["-priority", "enqueued_at", "id"],
                condition=Q(status="queued"),
                name="workitem_waiting_order",
            ),
        ]
        constraints = [
            # Never two voice items on one agent's line at once.
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(status__in=["offered", "accepted"], channel__in=["call", "callback"]),
                name="workitem_one_voice_item_per_agent",
            ),
            # An offered or accepted item always names its one agent.
            models.CheckConstraint(
                condition=~Q(status__in=["offered", "accepted"]) | Q(agent__isnull=False),
                name="workitem_agent_when_assigned",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


# -- webhooks -------------------------------------------------------------------------------


class WebhookSubscription(models.Model):
    """An integrator's URL that receives call events, signed with a shared secret."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        help_text=_("Payloads carry an HMAC-SHA256 signature made with this secret."),
    )
    event_kinds = models.JSONField(
        _("event kinds"),
        default=list,
        blank=True,
        help_text=_('Call event kinds to send (e.g. ["offered", "ended"]); empty: all.'),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(_("event id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=30)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.subscription} ({self.status})"
