"""Campaigns and their call lists: the customers agents call, one entry at a time.

A campaign names the script its calls follow; a call list holds the customers to call
and the agent groups who work it. An agent takes the next entry (preview dialling: they
see the customer and the script before they call), calls, and closes the entry with a
result; unreached customers come back after a pause until the attempts are used up.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    """An outbound action (a survey, a sales offer, a reminder) with its script."""

    code = models.SlugField(
        _("code"),
        max_length=60,
        unique=True,
        help_text=_("Short name for scripts and reports, e.g. “fibre-2026”."),
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    script = models.ForeignKey(
        "scripting.Script",
        verbose_name=_("script"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Its published version opens for every customer the agent takes."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class CallList(models.Model):
    """The customers one campaign calls, worked by the agents of some groups."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="call_lists",
    )
    name = models.CharField(_("name"), max_length=200)
    agent_groups = models.ManyToManyField(
        "telephony.AgentGroup",
        verbose_name=_("agent groups"),
        blank=True,
        related_name="call_lists",
        help_text=_("The agents of these groups see the list on their desk."),
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts per customer"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("After this many unanswered calls the customer is given up."),
    )
    retry_minutes = models.PositiveIntegerField(
        _("pause before trying again (minutes)"),
        default=120,
        validators=[MinValueValidator(1), MaxValueValidator(60 * 24 * 14)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["campaign__name", "name"]
        verbose_name = _("call list")
        verbose_name_plural = _("call lists")

    def __str__(self) -> str:
        return f"{self.campaign} · {self.name}"


class CallListEntry(models.Model):
    """One customer on a call list: who has it, how often it was tried, how it ended."""

    class Status(models.TextChoices):
        OPEN = "open", _("To call")
        IN_WORK = "in_work", _("In work")
        DONE = "done", _("Done")
        FAILED = "failed", _("Given up")

    class Result(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("Not reached")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        REFUSED = "refused", _("Does not want to be called")

    call_list = models.ForeignKey(
        CallList, verbose_name=_("call list"), on_delete=models.CASCADE, related_name="entries"
    )
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="call_list_entries",
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_list_entries",
    )
    phone = models.CharField(_("phone number"), max_length=40, help_text=_("In E.164 form."))
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=5, help_text=_("1 is called first, 9 last.")
    )
    note = models.CharField(
        _("note for the agent"), max_length=300, blank=True, help_text=_("Shown with the customer.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    result = models.CharField(_("result"), max_length=15, choices=Result.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    agent = models.ForeignKey(
        "telephony.Agent",
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_list_entries",
    )
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    script_run = models.ForeignKey(
        "scripting.ScriptRun",
        verbose_name=_("script run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    interaction = models.ForeignKey(
        "accounts.Interaction",
        verbose_name=_("last call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["call_list", "priority", "id"]
        verbose_name = _("call list entry")
        verbose_name_plural = _("call list entries")
        indexes = [
            models.Index(
                fields=["call_list", "status", "priority", "id"], name="calllistentry_next"
            ),
        ]
        constraints = [
            # An agent works one customer of the call lists at a time.
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(status="in_work"),
                name="calllistentry_one_in_work_per_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.call_list} · {self.account_id}"
