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
        State.NOT_READY: frozenset({State.READY, State.TALKING, State.LOGGED_OUT}),
        State.RINGING: frozenset({State.TALKING, State.READY, State.NOT_READY}),
        State.TALKING: frozenset({State.WRAP_UP}),
        State.WRAP_UP: frozenset({State.READY, State.NOT_READY, State.LOGGED_OUT, State.TALKING}),
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
