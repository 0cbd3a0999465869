"""Alert rules (intelligent agent guidance): conditions on desk events and data, and actions."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AlertRule(models.Model):
    """A manager's rule: when its conditions hold for the contact on the desk, its actions run."""

    class Match(models.TextChoices):
        ALL = "all", _("all conditions hold")
        ANY = "any", _("any condition holds")

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    match = models.CharField(_("fires when"), max_length=3, choices=Match.choices, default="all")
    order = models.PositiveIntegerField(
        _("order"), default=100, help_text=_("Rules with a lower number come first.")
    )

    class Meta:
        ordering = ["order", "name", "id"]
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")

    def __str__(self) -> str:
        return self.name


class AlertCondition(models.Model):
    """One thing that must be true (or, negated, false) for a rule to fire."""

    class Kind(models.TextChoices):
        ACCOUNT_IDENTIFIED = "account_identified", _("The caller's account is identified")
        UNKNOWN_CALLER = "unknown_caller", _("The caller is unknown")
        VIP = "vip", _("The account is a VIP")
        OPEN_COMPLAINT = "open_complaint", _("The account has an open complaint")
        SLA_DUE = "sla_due", _("A ticket of the account is close to or past its SLA")
        OUTAGE = "outage", _("There is an outage in the account's area")
        DIALLED_NUMBER = "dialled_number", _("The dialled number starts with")
        QUEUE = "queue", _("The call came through the queue")
        CONTACTS = "contacts", _("Number of contacts in the last days is at least")
        CUSTOMER_GROUP = "customer_group", _("The account is in the customer group")

    # Which kinds need a text value, and which a number of contacts and days.
    NEEDS_VALUE = frozenset({Kind.DIALLED_NUMBER, Kind.QUEUE, Kind.CUSTOMER_GROUP})
    NEEDS_COUNT = frozenset({Kind.CONTACTS})

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="conditions"
    )
    kind = models.CharField(_("condition"), max_length=30, choices=Kind.choices)
    value = models.CharField(
        _("value"),
        max_length=100,
        blank=True,
        help_text=_("Dialled number (prefix), queue name or customer group code."),
    )
    count = models.PositiveIntegerField(_("at least"), null=True, blank=True)
    days = models.PositiveIntegerField(_("in the last days"), null=True, blank=True)
    negate = models.BooleanField(_("not"), default=False, help_text=_("The condition must fail."))

    class Meta:
        ordering = ["id"]
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")

    def __str__(self) -> str:
        prefix = "¬ " if self.negate else ""
        return f"{prefix}{self.get_kind_display()} {self.value}".strip()


class AlertAction(models.Model):
    """What happens when a rule fires: an alert, a workspace view, or a script."""

    class Kind(models.TextChoices):
        ALERT = "alert", _("Show an alert")
        NAVIGATE = "navigate", _("Open a workspace view")
        SCRIPT = "script", _("Start a script")

    class Severity(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        DANGER = "danger", _("Urgent")

    class View(models.TextChoices):
        ACCOUNT = "account", _("Account")
        HISTORY = "history", _("History")
        TICKETS = "tickets", _("Tickets")
        KNOWLEDGE = "knowledge", _("Knowledge")

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="actions"
    )
    kind = models.CharField(_("action"), max_length=10, choices=Kind.choices)
    text = models.CharField(
        _("alert text"),
        max_length=200,
        blank=True,
        help_text=_("May use {account.name}, {account.customer_number}, {agent.name}."),
    )
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.INFO
    )
    view = models.CharField(_("view"), max_length=20, choices=View.choices, blank=True)
    script_code = models.SlugField(_("script code"), max_length=60, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="alert") | ~Q(text=""), name="alertaction_alert_has_text"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()
