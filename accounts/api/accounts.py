"""Accounts API: list, read, create, change and delete accounts; identify and search."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.access import (
    access_for,
    account_require_write,
    accounts_visible,
    customer_group_require_write,
)
from accounts.api.base import (
    ERROR_RESPONSES,
    FILTER_BACKENDS,
    ID_PATTERN,
    FixedFieldsMixin,
    normalized_or_error,
    staff_users,
)
from accounts.api.serializers import (
    AccountDetailSerializer,
    AccountSummarySerializer,
    IdentifiedNumberSerializer,
)
from accounts.filters import AccountFilter
from accounts.models import Account, Address, Contact, ContactPoint, CustomerGroup
from accounts.selectors import account_list_by_phone, account_search


def _account_detail_queryset() -> QuerySet[Account]:
    return Account.objects.select_related("customer_group").prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("-is_primary", "last_name", "id")),
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id")),
        Prefetch("addresses", queryset=Address.objects.order_by("kind", "id")),
    )


def _account_detail(pk: int) -> Account:
    return _account_detail_queryset().get(pk=pk)


@extend_schema_view(
    list=extend_schema(summary="List accounts", responses={200: AccountSummarySerializer}),
    retrieve=extend_schema(
        summary="An account with its contacts, contact points and addresses",
        responses={200: AccountDetailSerializer},
    ),
    destroy=extend_schema(
        summary="Delete an account (managers only)",
        description="Its contacts, contact points and addresses go with it; its interactions "
        "stay in the history without the account.",
    ),
)
class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Accounts (customers: persons or organisations) and caller identification."""

    lookup_value_regex = ID_PATTERN
    filter_backends = FILTER_BACKENDS
    filterset_class = AccountFilter
    ordering_fields = ["name", "customer_number", "created_at"]
    ordering = ["name", "id"]

    class CreateInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Account.Kind.choices, default=Account.Kind.PERSON)
        name = serializers.CharField(
            max_length=200,
            default="",
            allow_blank=True,
            help_text="Defaults to first and last name.",
        )
        first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        customer_number = serializers.CharField(
            max_length=20,
            required=False,
            allow_blank=True,
            help_text="Given by icenter when empty.",
        )
        is_vip = serializers.BooleanField(default=False)
        customer_group = serializers.SlugRelatedField(
            slug_field="code",
            queryset=CustomerGroup.objects.all(),
            required=False,
            allow_null=True,
        )
        phone = serializers.CharField(max_length=254, required=False, allow_blank=True)
        email = serializers.CharField(max_length=254, required=False, allow_blank=True)
        street = serializers.CharField(max_length=200, required=False, allow_blank=True)
        postcode = serializers.CharField(max_length=10, required=False, allow_blank=True)
        city = serializers.CharField(max_length=100, required=False, allow_blank=True)

        class Meta:
            ref_name = "AccountCreate"

        def validate_phone(self, value: str) -> str:
            if value:
                normalized_or_error(kind=ContactPoint.Kind.PHONE, value=value)
            return value

        def validate_email(self, value: str) -> str:
            if value:
                normalized_or_error(kind=ContactPoint.Kind.EMAIL, value=value)
            return value

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            name = (
                attrs.get("name") or f"{attrs.get('first_name', '')} {attrs.get('last_name', '')}"
            )
            if not name.strip():
                raise serializers.ValidationError(
                    {"name": _("Give a name, or a first and last name.")}
                )
            address = [attrs.get(key, "") for key in ("street", "postcode", "city")]
            if any(address) and not all(address):
                raise serializers.ValidationError(
                    {"street": _("An address needs street, postcode and city.")}
                )
            return attrs

    class UpdateInputSerializer(FixedFieldsMixin, serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        is_vip = serializers.BooleanField(required=False)
        customer_group = serializers.SlugRelatedField(
            slug_field="code",
            queryset=CustomerGroup.objects.all(),
            required=False,
            allow_null=True,
        )
        assigned_agent = serializers.PrimaryKeyRelatedField(
            queryset=staff_users(),
            required=False,
            allow_null=True,
            help_text="A user with a staff role; this account's VIP calls ring them first.",
        )
        notes = serializers.CharField(required=False, allow_blank=True)
        version = serializers.IntegerField(
            required=False,
            help_text="The version you based the change on; when the account changed "
            "meanwhile, the change is refused (400) instead of overwriting it.",
        )

        class Meta:
            ref_name = "AccountUpdate"

    class IdentifyInputSerializer(serializers.Serializer):
        phone = serializers.CharField(
            allow_blank=True,
            trim_whitespace=False,
            help_text='The calling number in any format ("030 1234567", "+49301234567", '
            '"sip:0301234567@pbx"); empty or "anonymous" means withheld.',
        )

    class IdentifyOutputSerializer(serializers.Serializer):
        number = IdentifiedNumberSerializer()
        via_switchboard = serializers.BooleanField(
            help_text="True when a direct-dial number matched a switchboard number."
        )
        accounts = AccountSummarySerializer(many=True)

        class Meta:
            ref_name = "Identification"

    class SearchInputSerializer(serializers.Serializer):
        q = serializers.CharField(
            max_length=200,
            help_text="Name, customer number, city, contact's last name, phone or email.",
            error_messages={
                "required": gettext_lazy("Give a search text in q."),
                "blank": gettext_lazy("Give a search text in q."),
            },
        )
        limit = serializers.IntegerField(min_value=1, max_value=100, default=20)

    class SearchOutputSerializer(serializers.Serializer):
        results = AccountSummarySerializer(many=True)

        class Meta:
            ref_name = "AccountSearchResult"

    def get_queryset(self) -> QuerySet[Account]:
        if self.action == "retrieve":
            return accounts_visible(self.request.user, _account_detail_queryset())
        return accounts_visible(self.request.user).select_related("customer_group")

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action == "retrieve":
            return AccountDetailSerializer
        return AccountSummarySerializer

    @extend_schema(
        summary="Create an account",
        description="With its first phone number, email address and postal address. "
        "The customer number is given by icenter unless one is sent.",
        request=CreateInputSerializer,
        responses={201: AccountDetailSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer_group_require_write(request.user, serializer.validated_data.get("customer_group"))
        account = services.account_create(**serializer.validated_data)
        return Response(
            AccountDetailSerializer(_account_detail(account.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Change an account's name, VIP flag, customer group, assigned agent or notes",
        request=UpdateInputSerializer,
        responses={200: AccountDetailSerializer, **ERROR_RESPONSES},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        serializer = self.UpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account_require_write(request.user, account)
        if "customer_group" in serializer.validated_data:
            customer_group_require_write(request.user, serializer.validated_data["customer_group"])
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        services.account_update(account=account, expected_version=version, **data)
        return Response(AccountDetailSerializer(_account_detail(account.pk)).data)

    def perform_destroy(self, instance: Account) -> None:
        account_require_write(self.request.user, instance)
        services.account_delete(account=instance)

    @extend_schema(
        summary="Identify accounts by a calling number",
        description="The same identification a screen pop uses: the exact number first, "
        "then the longest switchboard number a direct-dial number starts with. "
        "A withheld or unreadable number answers 200 with no accounts.",
        parameters=[IdentifyInputSerializer],
        responses={200: IdentifyOutputSerializer, **ERROR_RESPONSES},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="identify",
        filter_backends=[],
        pagination_class=None,
    )
    def identify(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.IdentifyInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = account_list_by_phone(raw=params.validated_data["phone"])
        access = access_for(request.user)
        identification = dataclasses.replace(
            found, accounts=[a for a in found.accounts if access.can_read(a.customer_group_id)]
        )
        prefetch_related_objects(identification.accounts, "customer_group")
        return Response(self.IdentifyOutputSerializer(identification).data)

    @extend_schema(
        summary="Search accounts",
        description="By name, customer number, city, a contact's last name, phone or email; "
        "at most `limit` accounts, by name.",
        parameters=[SearchInputSerializer],
        responses={200: SearchOutputSerializer, **ERROR_RESPONSES},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="search",
        filter_backends=[],
        pagination_class=None,
    )
    def search(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = self.SearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        accounts = account_search(
            query=params.validated_data["q"],
            user=request.user,
            limit=params.validated_data["limit"],
        )
        return Response(self.SearchOutputSerializer({"results": accounts}).data)
