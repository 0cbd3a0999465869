"""Admin for alert rules: conditions and actions, validated at save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from accounts import messaging
from accounts.models import (
    AlertAction,
    AlertCondition,
    AlertRule,
    CustomerGroup,
)
from telephony.models import Queue

# -- alert rules ----------------------------------------------------------------------------------


class AlertConditionForm(forms.ModelForm):
    class Meta:
        model = AlertCondition
        fields = ["kind", "value", "count", "days", "negate"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("kind"), (data.get("value") or "").strip()
        Kind = AlertCondition.Kind
        if kind in AlertCondition.NEEDS_VALUE and not value:
            self.add_error("value", _("This condition needs a value."))
        elif kind == Kind.DIALLED_NUMBER and not value.lstrip("+").replace(" ", "").isdigit():
            self.add_error("value", _("A dialled number has only digits (and a leading +)."))
        elif kind == Kind.QUEUE and not Queue.objects.filter(name__iexact=value).exists():
            self.add_error("value", _("There is no queue named “%(name)s”.") % {"name": value})
        elif kind == Kind.CUSTOMER_GROUP and not CustomerGroup.objects.filter(code=value).exists():
            self.add_error(
                "value", _("There is no customer group with the code “%(code)s”.") % {"code": value}
            )
        elif kind not in AlertCondition.NEEDS_VALUE and value:
            self.add_error("value", _("This condition takes no value."))
        if kind in AlertCondition.NEEDS_COUNT:
            if not data.get("count"):
                self.add_error("count", _("Give the number of contacts (at least 1)."))
            days = data.get("days")
            if not days or days > 365:
                self.add_error("days", _("Give the number of days (1 to 365)."))
        elif data.get("count") or data.get("days"):
            self.add_error("count", _("Only the contacts condition counts contacts and days."))
        data["value"] = value
        return data


class AlertActionForm(forms.ModelForm):
    class Meta:
        model = AlertAction
        fields = ["kind", "text", "severity", "view", "script_code"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        Kind = AlertAction.Kind
        text = (data.get("text") or "").strip()
        if kind == Kind.ALERT:
            if not text:
                self.add_error("text", _("An alert needs a text."))
            for problem in messaging.template_problems(text):
                self.add_error("text", problem)
        if kind == Kind.NAVIGATE and not data.get("view"):
            self.add_error("view", _("Choose the view to open."))
        if kind == Kind.SCRIPT:
            code = data.get("script_code") or ""
            if not code:
                self.add_error("script_code", _("Give the code of the script to start."))
            elif not _script_is_published(code):
                self.add_error(
                    "script_code",
                    _("There is no published script with the code “%(code)s”.") % {"code": code},
                )
        data["text"] = text
        return data


def _script_is_published(code: str) -> bool:
    try:
        from scripting.selectors import script_version_published_get
    except ImportError:  # scripting not installed: no script can be started
        return False
    return script_version_published_get(code=code) is not None


class AtLeastOneFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    message: Any = ""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise forms.ValidationError(self.message)


class AlertConditionFormSet(AtLeastOneFormSet):
    message = _("A rule needs at least one condition.")


class AlertActionFormSet(AtLeastOneFormSet):
    message = _("A rule needs at least one action.")


class AlertConditionInline(admin.TabularInline):
    model = AlertCondition
    form = AlertConditionForm
    formset = AlertConditionFormSet
    extra = 1


class AlertActionInline(admin.TabularInline):
    model = AlertAction
    form = AlertActionForm
    formset = AlertActionFormSet
    extra = 1


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "match", "is_active"]
    list_filter = ["is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]
    inlines = [AlertConditionInline, AlertActionInline]
