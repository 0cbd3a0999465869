"""Admin for the message templates agents send instead of a callback."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts import messaging
from accounts.models import (
    MessageTemplate,
)

# -- message templates -------------------------------------------------------------------------


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["name", "code", "channel", "subject", "body", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("subject", "body"):
            for problem in messaging.template_problems(data.get(field) or ""):
                self.add_error(field, problem)
        channel = data.get("channel")
        if channel == MessageTemplate.Channel.EMAIL and not (data.get("subject") or "").strip():
            self.add_error("subject", _("An email template needs a subject."))
        body = data.get("body") or ""
        if channel == MessageTemplate.Channel.SMS and len(body) > messaging.SMS_MAX_LENGTH:
            self.add_error(
                "body",
                _("An SMS can be at most %(max)d characters long.")
                % {"max": messaging.SMS_MAX_LENGTH},
            )
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["name", "code", "channel", "is_active"]
    list_filter = ["channel", "is_active"]
    prepopulated_fields = {"code": ["name"]}
