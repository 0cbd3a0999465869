"""Field technicians with skills, regions and working calendars, and their appointments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.core import Account
from accounts.models.tickets import BusinessCalendar, Ticket


class ServiceSkill(models.Model):
    """What a technician can do on site (fibre splicing, router setup, TV installation)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service skill")
        verbose_name_plural = _("service skills")

    def __str__(self) -> str:
        return self.name


class ServiceRegion(models.Model):
    """An area technicians cover, given by postcode prefixes ("10, 12, 130")."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    postcode_prefixes = models.CharField(
        _("postcode prefixes"),
        max_length=500,
        help_text=_("Comma-separated beginnings of postcodes, e.g. 10, 12, 130."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("service region")
        verbose_name_plural = _("service regions")

    def __str__(self) -> str:
        return self.name

    @property
    def prefixes(self) -> list[str]:
        return [p.strip() for p in self.postcode_prefixes.split(",") if p.strip()]

    def covers(self, postcode: str) -> bool:
        return any(postcode.startswith(prefix) for prefix in self.prefixes)


class Technician(models.Model):
    """A field technician; works the shifts of their calendar, minus its holidays."""

    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("working calendar"),
        on_delete=models.PROTECT,
        related_name="technicians",
    )
    skills = models.ManyToManyField(
        ServiceSkill, verbose_name=_("skills"), blank=True, related_name="technicians"
    )
    regions = models.ManyToManyField(
        ServiceRegion, verbose_name=_("regions"), blank=True, related_name="technicians"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")

    def __str__(self) -> str:
        return self.name


class Appointment(models.Model):
    """A technician's visit at a customer, in one slot of the technician's day."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Done")

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="appointments"
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )
    technician = models.ForeignKey(
        Technician,
        verbose_name=_("technician"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    skill = models.ForeignKey(
        ServiceSkill,
        verbose_name=_("skill"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.BOOKED
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("booked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("booked"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    confirmed_via = models.CharField(_("confirmed via"), max_length=10, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        indexes = [
            models.Index(fields=["technician", "starts_at"], name="appointment_tech_time"),
            models.Index(fields=["account", "starts_at"], name="appointment_account_time"),
        ]
        constraints = [
            # Slots are a fixed grid: one booked appointment per technician and slot start.
            # The database refuses a second booking, whatever races the application loses.
            models.UniqueConstraint(
                fields=["technician", "starts_at"],
                condition=Q(status="booked"),
                name="appointment_one_booking_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.technician} {timezone.localtime(self.starts_at):%d.%m.%Y %H:%M}"
