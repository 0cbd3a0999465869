"""Message templates for SMS and email to customers (callbacks live in telephony's queue)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class MessageTemplate(models.Model):
    """A text an agent sends instead of calling back, with placeholders like {account.name}."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Email only."))
    body = models.TextField(
        _("text"),
        help_text=_(
            "Placeholders: {account.name}, {account.customer_number}, {account.first_name}, "
            "{account.last_name}, {contact.first_name}, {contact.last_name}, "
            "{contact.full_name}, {agent.name}, {ticket.number}, {ticket.subject}, "
            "{appointment.date}, {appointment.time}."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["channel", "name"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="messagetemplate_body_not_empty")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"
