"""Contacts API: the persons at an account, and phone numbers and email addresses."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.access import account_require_write, scoped
from accounts.api.base import ERROR_RESPONSES, FILTER_BACKENDS, ID_PATTERN, FixedFieldsMixin
from accounts.api.serializers import ContactPointSerializer, ContactSerializer
from accounts.filters import ContactFilter, ContactPointFilter
from accounts.models import Account, Contact, ContactPoint

# -- contacts ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List contacts (persons at accounts)"),
    retrieve=extend_schema(summary="A contact with its contact points"),
    destroy=extend_schema(
        summary="Delete a contact (managers only)",
        description="The contact's own contact points go with it.",
    ),
)
class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Contacts: the persons at an account."""

    lookup_value_regex = ID_PATTERN
    serializer_class = ContactSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ContactFilter
    ordering_fields = ["last_name", "first_name", "id"]
    ordering = ["-is_primary", "last_name", "first_name", "id"]

    class CreateInputSerializer(serializers.Serializer):
        account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
        first_name = serializers.CharField(max_length=100, default="", allow_blank=True)
        last_name = serializers.CharField(max_length=100)
        position = serializers.CharField(max_length=100, default="", allow_blank=True)
        is_primary = serializers.BooleanField(
            default=False, help_text="Takes the primary flag from the account's other contacts."
        )

        class Meta:
            ref_name = "ContactCreate"

    class UpdateInputSerializer(FixedFieldsMixin, serializers.Serializer):
        first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=100, required=False)
        position = serializers.CharField(max_length=100, required=False, allow_blank=True)
        is_primary = serializers.BooleanField(
            required=False, help_text="Takes the primary flag from the account's other contacts."
        )

        class Meta:
            ref_name = "ContactUpdate"

    def get_queryset(self) -> QuerySet[Contact]:
        return scoped(self.request.user, Contact.objects.all()).prefetch_related(
            Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id"))
        )

    @extend_schema(
        summary="Add a contact to an account",
        request=CreateInputSerializer,
        responses={201: ContactSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account_require_write(request.user, serializer.validated_data["account"])
        contact = services.contact_create(**serializer.validated_data)
        return Response(
            ContactSerializer(self.get_queryset().get(pk=contact.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Change a contact's name, position or primary flag",
        request=UpdateInputSerializer,
        responses={200: ContactSerializer, **ERROR_RESPONSES},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        serializer = self.UpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account_require_write(request.user, contact.account)
        services.contact_update(contact=contact, **serializer.validated_data)
        return Response(ContactSerializer(self.get_queryset().get(pk=contact.pk)).data)

    def perform_destroy(self, instance: Contact) -> None:
        account_require_write(self.request.user, instance.account)
        services.contact_delete(contact=instance)


# -- contact points ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List phone numbers and email addresses"),
    retrieve=extend_schema(summary="A phone number or email address"),
    destroy=extend_schema(summary="Delete a phone number or email address (managers only)"),
)
class ContactPointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Phone numbers (stored as E.164) and email addresses of accounts and their contacts."""

    lookup_value_regex = ID_PATTERN
    serializer_class = ContactPointSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ContactPointFilter
    ordering_fields = ["kind", "normalized", "id"]
    ordering = ["kind", "id"]

    class CreateInputSerializer(serializers.Serializer):
        account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(),
            required=False,
            allow_null=True,
            help_text="A contact of the same account, when the number is theirs.",
        )
        kind = serializers.ChoiceField(choices=ContactPoint.Kind.choices)
        value = serializers.CharField(
            max_length=254, help_text="A phone number in any format, or an email address."
        )
        # The input field "label" shadows Field.label (a string) for the type checker.
        label = serializers.CharField(  # type: ignore[assignment]
            max_length=50, required=False, allow_blank=True
        )
        is_switchboard = serializers.BooleanField(
            default=False,
            help_text="Phone only: calls from direct-dial numbers that start with this "
            "number identify the account.",
        )

        class Meta:
            ref_name = "ContactPointCreate"

    @extend_schema(
        summary="Add a phone number or email address",
        description="Phone numbers are stored in E.164 (`normalized`); the same number twice "
        "on an account is refused.",
        request=CreateInputSerializer,
        responses={201: ContactPointSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account_require_write(request.user, serializer.validated_data["account"])
        point = services.contact_point_add(**serializer.validated_data)
        return Response(ContactPointSerializer(point).data, status=status.HTTP_201_CREATED)

    def get_queryset(self) -> QuerySet[ContactPoint]:
        return scoped(self.request.user, ContactPoint.objects.all())

    def perform_destroy(self, instance: ContactPoint) -> None:
        account_require_write(self.request.user, instance.account)
        services.contact_point_delete(contact_point=instance)
