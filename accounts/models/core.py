"""Accounts (business partners), their contacts and contact points, and the interaction history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CustomerGroup(models.Model):
    """A segment of customers with its own queues and access rights (e.g. "Privat", "Gewerbe")."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")

    def __str__(self) -> str:
        return self.name


class CustomerGroupAccess(models.Model):
    """A user may work on the accounts and tickets of a customer group (mandant).

    Agents and supervisors see only accounts without a customer group and those of the groups
    they are given here; read-only access lets them look but not change. Managers see all.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="customer_group_access",
    )
    customer_group = models.ForeignKey(
        CustomerGroup,
        verbose_name=_("customer group"),
        on_delete=models.CASCADE,
        related_name="access",
    )
    read_only = models.BooleanField(
        _("read-only"),
        default=False,
        help_text=_("The user sees this group's accounts and tickets but cannot change them."),
    )

    class Meta:
        ordering = ["customer_group__name", "user__username"]
        verbose_name = _("customer group access")
        verbose_name_plural = _("customer group access")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "customer_group"], name="customer_group_access_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.customer_group}"


class Account(models.Model):
    """A customer: a person or an organisation."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PERSON)
    customer_number = models.CharField(_("customer number"), max_length=20, unique=True)
    name = models.CharField(
        _("name"), max_length=200, help_text=_("Full name of the person or the organisation.")
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    is_vip = models.BooleanField(_("VIP"), default=False)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_accounts",
        help_text=_("VIP callers ring this agent first."),
    )
    customer_group = models.ForeignKey(
        CustomerGroup,
        verbose_name=_("customer group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    notes = models.TextField(_("notes"), blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_accounts",
        help_text=_("A duplicate merged into another account keeps this link until undone."),
    )
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        help_text=_("Raised by every change; a save based on an older version is refused."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="account_name_not_empty"),
            models.CheckConstraint(
                condition=~Q(customer_number=""), name="account_customer_number_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_number})"


class Contact(models.Model):
    """A person at an organisation account (or the person behind a person account)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    position = models.CharField(_("position"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        ordering = ["-is_primary", "last_name", "first_name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ContactPoint(models.Model):
    """A phone number or email address of an account, optionally of one of its contacts."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contact_points"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="contact_points",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(_("as entered"), max_length=254)
    normalized = models.CharField(
        _("normalised"),
        max_length=254,
        help_text=_("E.164 for phone numbers, lower case for email addresses."),
    )
    label = models.CharField(_("label"), max_length=50, blank=True)
    is_switchboard = models.BooleanField(
        _("switchboard"),
        default=False,
        help_text=_("Calls from direct-dial numbers that start with this number identify it."),
    )

    class Meta:
        ordering = ["kind", "id"]
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        indexes = [models.Index(fields=["kind", "normalized"], name="contactpoint_lookup")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(normalized=""), name="contactpoint_normalized_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.value


class Address(models.Model):
    """A postal address of an account."""

    class Kind(models.TextChoices):
        MAIN = "main", _("Main address")
        BILLING = "billing", _("Billing address")
        INSTALLATION = "installation", _("Installation address")

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MAIN)
    street = models.CharField(_("street"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=10)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="DE")

    class Meta:
        ordering = ["kind", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        indexes = [models.Index(fields=["postcode"])]

    def __str__(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"


class Interaction(models.Model):
    """One contact with a customer on any channel: the interaction history's record."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("Email")
        CHAT = "chat", _("Chat")
        CALLBACK = "callback", _("Callback")
        SMS = "sms", _("SMS")
        NOTE = "note", _("Note")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    class Outcome(models.TextChoices):
        OPEN = "", _("Open")
        COMPLETED = "completed", _("Completed")
        ABANDONED = "abandoned", _("Abandoned")
        MISSED = "missed", _("Missed")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    address = models.CharField(
        _("customer address"),
        max_length=254,
        blank=True,
        help_text=_("The customer's phone number or email address for this contact."),
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    notes = models.TextField(_("notes"), blank=True)
    notes_updated_at = models.DateTimeField(_("notes saved"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["account", "-started_at"], name="interaction_account_time"),
            models.Index(fields=["agent", "-started_at"], name="interaction_agent_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="interaction_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> int | None:
        if self.ended_at is None:
            return None
        return int((self.ended_at - self.started_at).total_seconds())
