"""Admin for webhooks: subscriptions (secret shown once, then masked) and the delivery log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from telephony import webhooks
from telephony.cti.base import EVENT_KINDS
from telephony.models import WebhookDelivery, WebhookSubscription


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_kinds = forms.MultipleChoiceField(
        label=_("event kinds"),
        choices=[(kind, kind) for kind in EVENT_KINDS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Call events to send; none ticked: all."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_kinds", "is_active"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(_("Only http and https URLs can receive webhooks."))
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "kinds", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret_hint", "created_by", "created_at"]
    actions = ["rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "url", "event_kinds", "is_active"]
        return fields if obj is None else [*fields, "secret_hint", "created_by", "created_at"]

    @admin.display(description=_("event kinds"))
    def kinds(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.event_kinds) or str(_("all"))

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj: WebhookSubscription) -> str:
        return webhooks.webhook_secret_hint(obj.secret)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        subscription, secret = webhooks.webhook_subscription_create(
            name=obj.name,
            url=obj.url,
            event_kinds=list(obj.event_kinds or []),
            is_active=obj.is_active,
            created_by=request.user,
        )
        obj.pk = subscription.pk
        obj.secret = secret
        obj._state.adding = False
        request._icenter_webhook_secret = secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        secret = getattr(request, "_icenter_webhook_secret", "")
        if not secret:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret)

    def _secret_page(
        self, request: HttpRequest, subscription: WebhookSubscription, secret: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "subscription": subscription,
            "secret": secret,
            "title": _("Signing secret"),
        }
        response = TemplateResponse(request, "admin/telephony/webhook_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(
        description=_("Give the selected subscription a new signing secret"),
        permissions=["change"],
    )
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(
                request,
                _("Choose exactly one subscription: its secret is shown once."),
                messages.ERROR,
            )
            return None
        subscription = queryset.get()
        secret = webhooks.webhook_subscription_rotate_secret(subscription=subscription)
        return self._secret_page(request, subscription, secret)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "subscription",
        "kind",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "kind", "subscription"]
    search_fields = ["event_id", "subscription__name"]
    list_select_related = ["subscription"]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Resending changes a delivery: managers (who may change subscriptions) only.
        actions = super().get_actions(request)
        if not request.user.has_perm("telephony.change_webhooksubscription"):
            actions.pop("resend", None)
        return actions

    @admin.action(description=_("Send the selected deliveries again"))
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset:
            webhooks.webhook_delivery_resend(delivery=delivery)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be sent again.",
                "%(count)d deliveries will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
