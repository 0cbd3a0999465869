"""REST API for webhook subscriptions (/api/v1/webhooks/): managers only.

The secret is returned once, when a subscription is created or its secret rotated;
afterwards only a masked hint is shown.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from icenter import roles
from icenter.api import HasStaffRole
from telephony import webhooks
from telephony.cti.base import EVENT_KINDS
from telephony.models import WebhookDelivery, WebhookSubscription


class IsManager(BasePermission):
    message = "Only managers may manage webhooks."

    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.user_has_role(request.user, roles.MANAGER)


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    secret_hint = serializers.SerializerMethodField(help_text="The secret, masked.")

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_kinds", "is_active", "created_at", "secret_hint"]
        read_only_fields = fields

    def get_secret_hint(self, obj: WebhookSubscription) -> str:
        return webhooks.webhook_secret_hint(obj.secret)


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        help_text="The signing secret; shown only in this answer. Store it now."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "kind",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields


class _InputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500, help_text="http(s) URL that receives POSTs.")
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_KINDS)),
        required=False,
        default=list,
        help_text="Call event kinds to send; empty: all.",
    )
    is_active = serializers.BooleanField(required=False, default=True)

    def validate_url(self, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("Only http and https URLs are allowed.")
        return value


class WebhookCreateSerializer(_InputSerializer):
    class Meta:
        ref_name = "WebhookSubscriptionCreate"


class WebhookUpdateSerializer(_InputSerializer):
    class Meta:
        ref_name = "WebhookSubscriptionUpdate"


@extend_schema_view(
    list=extend_schema(summary="Webhook subscriptions for call events"),
    retrieve=extend_schema(summary="One webhook subscription"),
    create=extend_schema(
        summary="Subscribe a URL to call events",
        request=WebhookCreateSerializer,
        responses={201: WebhookSubscriptionWithSecretSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a subscription",
        request=WebhookUpdateSerializer,
        responses=WebhookSubscriptionSerializer,
    ),
    destroy=extend_schema(summary="Delete a subscription and its delivery log"),
)
class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Managers subscribe integrators' URLs to signed call-event POSTs (see docs/webhooks.md)."""

    permission_classes = [HasStaffRole, IsManager]
    serializer_class = WebhookSubscriptionSerializer
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.order_by("name", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = WebhookCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription, secret = webhooks.webhook_subscription_create(
            created_by=request.user, **data.validated_data
        )
        subscription.secret = secret
        return Response(
            WebhookSubscriptionWithSecretSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        data = WebhookUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k in request.data}
        webhooks.webhook_subscription_update(subscription=subscription, **changes)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Give the subscription a new secret (shown once)",
        request=None,
        responses=WebhookSubscriptionWithSecretSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        webhooks.webhook_subscription_rotate_secret(subscription=subscription)
        return Response(WebhookSubscriptionWithSecretSerializer(subscription).data)

    @extend_schema(
        summary="The subscription's latest deliveries, newest first",
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        subscription = self.get_object()
        queryset = WebhookDelivery.objects.filter(subscription=subscription).order_by(
            "-created_at", "-id"
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send one delivery again (same event id)",
        request=None,
        responses=WebhookDeliverySerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_pk>[0-9]+)/resend",
    )
    def resend(
        self, request: Request, *args: Any, delivery_pk: str = "", **kwargs: Any
    ) -> Response:
        subscription = self.get_object()
        delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, subscription=subscription)
        delivery = webhooks.webhook_delivery_resend(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data)
