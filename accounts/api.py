"""REST API for accounts, contacts, contact points and interactions (/api/v1/).

Each viewset nests its own input serializers; output serializers that several
viewsets share live at module level. Writes go through accounts.services where a
service exists; the few plain field updates and deletes without one are marked.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import (
    Prefetch,
    ProtectedError,
    QuerySet,
    RestrictedError,
    prefetch_related_objects,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.filters import (
    AccountFilter,
    ContactFilter,
    ContactPointFilter,
    InteractionFilter,
    StableOrderingFilter,
)
from accounts.models import Account, Address, Contact, ContactPoint, CustomerGroup, Interaction
from accounts.selectors import account_list_by_phone, account_search
from icenter import roles
from icenter.errors import DomainError

User = get_user_model()

ID_PATTERN = r"[0-9]+"
FILTER_BACKENDS = [DjangoFilterBackend, StableOrderingFilter]
CLOSED_OUTCOMES = [
    (value, label)
    for value, label in Interaction.Outcome.choices
    if value != Interaction.Outcome.OPEN
]
ERROR_RESPONSES = {
    400: OpenApiResponse(description='Invalid input: {"message": …, "extra": {…}}.'),
    401: OpenApiResponse(description="Not authenticated."),
    403: OpenApiResponse(description="No staff role (agent, supervisor, manager)."),
}


def _staff_users() -> QuerySet[Any]:
    return User.objects.filter(is_active=True, groups__name__in=roles.ALL).distinct()


def _normalized_or_error(*, kind: str, value: str) -> str:
    """Validate a phone number or email address the way the services store it."""
    try:
        return services.contact_point_normalize(kind=kind, value=value)
    except DomainError as error:
        raise serializers.ValidationError(error.message) from None


# Several models have a field named "kind" with its own choices; each set becomes one
# named schema component here, so API clients get one enum type per set.


@extend_schema_field(
    {"type": "string", "enum": Account.Kind.values}, component_name="AccountKindEnum"
)
class AccountKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Account.Kind.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": ContactPoint.Kind.values}, component_name="ContactPointKindEnum"
)
class ContactPointKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ContactPoint.Kind.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": Address.Kind.values}, component_name="AddressKindEnum"
)
class AddressKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Address.Kind.choices, **kwargs)


# -- output shapes shared by several endpoints -----------------------------------------------


class AccountSummarySerializer(serializers.ModelSerializer):
    kind = AccountKindField(read_only=True)
    customer_group: serializers.SlugRelatedField[CustomerGroup] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = Account
        ref_name = "AccountSummary"
        fields = [
            "id",
            "kind",
            "customer_number",
            "name",
            "first_name",
            "last_name",
            "is_vip",
            "customer_group",
            "assigned_agent",
            "created_at",
            "updated_at",
        ]


class ContactPointSerializer(serializers.ModelSerializer):
    kind = ContactPointKindField(read_only=True)

    class Meta:
        model = ContactPoint
        ref_name = "ContactPoint"
        fields = [
            "id",
            "account",
            "contact",
            "kind",
            "value",
            "normalized",
            "label",
            "is_switchboard",
        ]


class AddressSerializer(serializers.ModelSerializer):
    kind = AddressKindField(read_only=True)

    class Meta:
        model = Address
        ref_name = "Address"
        fields = ["id", "kind", "street", "postcode", "city", "country"]


class ContactSerializer(serializers.ModelSerializer):
    contact_points = ContactPointSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        ref_name = "Contact"
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "full_name",
            "position",
            "is_primary",
            "contact_points",
        ]


class AccountContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        ref_name = "AccountContact"
        fields = ["id", "first_name", "last_name", "full_name", "position", "is_primary"]


class AccountDetailSerializer(AccountSummarySerializer):
    contacts = AccountContactSerializer(many=True, read_only=True)
    contact_points = ContactPointSerializer(many=True, read_only=True)
    addresses = AddressSerializer(many=True, read_only=True)

    class Meta(AccountSummarySerializer.Meta):
        ref_name = "AccountDetail"
        fields = [
            *AccountSummarySerializer.Meta.fields,
            "notes",
            "contacts",
            "contact_points",
            "addresses",
        ]


class InteractionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Interaction
        ref_name = "Interaction"
        fields = [
            "id",
            "channel",
            "direction",
            "account",
            "contact",
            "agent",
            "address",
            "subject",
            "started_at",
            "ended_at",
            "duration_seconds",
            "outcome",
            "notes",
            "notes_updated_at",
        ]


class IdentifiedNumberSerializer(serializers.Serializer):
    raw = serializers.CharField(help_text="The number as it was given.")
    e164 = serializers.CharField(help_text="Empty when withheld or not a valid number.")
    is_withheld = serializers.BooleanField()
    error = serializers.CharField(help_text="Why the number could not be read, or empty.")

    class Meta:
        ref_name = "IdentifiedNumber"


def _account_detail_queryset() -> QuerySet[Account]:
    return Account.objects.select_related("customer_group").prefetch_related(
        Prefetch("contacts", queryset=Contact.objects.order_by("-is_primary", "last_name", "id")),
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id")),
        Prefetch("addresses", queryset=Address.objects.order_by("kind", "id")),
    )


def _account_detail(pk: int) -> Account:
    return _account_detail_queryset().get(pk=pk)


class FixedFieldsMixin:
    """An update input that refuses fields it cannot change instead of ignoring them."""

    initial_data: Any
    fields: Any

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        fixed = sorted(set(self.initial_data) - set(self.fields))
        if fixed:
            allowed = ", ".join(self.fields)
            raise serializers.ValidationError(
                {
                    name: _("This cannot be changed; these can: %(allowed)s.")
                    % {"allowed": allowed}
                    for name in fixed
                }
            )
        return attrs


# -- accounts ---------------------------------------------------------------------------------


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
        kind = AccountKindField(default=Account.Kind.PERSON)
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
                _normalized_or_error(kind=ContactPoint.Kind.PHONE, value=value)
            return value

        def validate_email(self, value: str) -> str:
            if value:
                _normalized_or_error(kind=ContactPoint.Kind.EMAIL, value=value)
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
            queryset=_staff_users(),
            required=False,
            allow_null=True,
            help_text="A user with a staff role; this account's VIP calls ring them first.",
        )
        notes = serializers.CharField(required=False, allow_blank=True)

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
            return _account_detail_queryset()
        return Account.objects.select_related("customer_group")

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
        changes = serializer.validated_data
        if changes:
            # No account_update service exists yet: a plain field update.
            for field, value in changes.items():
                setattr(account, field, value)
            account.save(update_fields=[*changes, "updated_at"])
        return Response(AccountDetailSerializer(_account_detail(account.pk)).data)

    def perform_destroy(self, instance: Account) -> None:
        try:
            instance.delete()
        except (ProtectedError, RestrictedError):
            raise DomainError(
                _("This account is still used elsewhere and cannot be deleted."),
                account=instance.pk,
            ) from None

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
        identification = account_list_by_phone(raw=params.validated_data["phone"])
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
            query=params.validated_data["q"], limit=params.validated_data["limit"]
        )
        return Response(self.SearchOutputSerializer({"results": accounts}).data)


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
        first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=100)
        position = serializers.CharField(max_length=100, required=False, allow_blank=True)
        is_primary = serializers.BooleanField(default=False)

        class Meta:
            ref_name = "ContactCreate"

    class UpdateInputSerializer(FixedFieldsMixin, serializers.Serializer):
        first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=100, required=False)
        position = serializers.CharField(max_length=100, required=False, allow_blank=True)
        is_primary = serializers.BooleanField(required=False)

        class Meta:
            ref_name = "ContactUpdate"

    def get_queryset(self) -> QuerySet[Contact]:
        return Contact.objects.prefetch_related(
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
        # No contact_create service exists yet: a plain insert.
        contact = Contact.objects.create(**serializer.validated_data)
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
        changes = serializer.validated_data
        if changes:
            # No contact_update service exists yet: a plain field update.
            for field, value in changes.items():
                setattr(contact, field, value)
            contact.save(update_fields=list(changes))
        return Response(ContactSerializer(self.get_queryset().get(pk=contact.pk)).data)


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
    queryset = ContactPoint.objects.all()
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
        kind = ContactPointKindField()
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
        point = services.contact_point_add(**serializer.validated_data)
        return Response(ContactPointSerializer(point).data, status=status.HTTP_201_CREATED)


# -- interactions -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="The interaction history, newest first"),
    retrieve=extend_schema(summary="One interaction"),
)
class InteractionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The interaction history: every contact with a customer on any channel.

    History is append-only: only notes, outcome and end can be written after the fact,
    and nothing is deleted.
    """

    lookup_value_regex = ID_PATTERN
    serializer_class = InteractionSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = InteractionFilter
    ordering_fields = ["started_at", "ended_at", "id"]
    ordering = ["-started_at", "-id"]

    def get_queryset(self) -> QuerySet[Interaction]:
        if self.action == "partial_update":
            return Interaction.objects.select_for_update()
        return Interaction.objects.all()

    class CreateInputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Interaction.Channel.choices)
        direction = serializers.ChoiceField(choices=Interaction.Direction.choices)
        account = serializers.PrimaryKeyRelatedField(
            queryset=Account.objects.all(), required=False, allow_null=True
        )
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(),
            required=False,
            allow_null=True,
            help_text="A contact of the account; sets the account when that is not given.",
        )
        agent = serializers.PrimaryKeyRelatedField(
            queryset=_staff_users(),
            required=False,
            allow_null=True,
            help_text="The agent who handled it; defaults to the API user. "
            "Null for a contact no agent handled.",
        )
        address = serializers.CharField(
            max_length=254,
            required=False,
            allow_blank=True,
            help_text="The customer's phone number or email address for this contact.",
        )
        subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
        started_at = serializers.DateTimeField(required=False, help_text="Defaults to now.")
        ended_at = serializers.DateTimeField(required=False, allow_null=True)
        outcome = serializers.ChoiceField(
            choices=CLOSED_OUTCOMES,
            required=False,
            help_text="Ends the interaction (now, unless ended_at is given).",
        )
        notes = serializers.CharField(
            max_length=services.NOTES_MAX_LENGTH,
            required=False,
            allow_blank=True,
            help_text="Only when the API user is the interaction's agent.",
        )

        class Meta:
            ref_name = "InteractionCreate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            user = self.context["request"].user
            attrs.setdefault("agent", user)
            attrs["started_at"] = attrs.get("started_at") or timezone.now()
            contact, account = attrs.get("contact"), attrs.get("account")
            if contact is not None:
                if account is None:
                    attrs["account"] = contact.account
                elif contact.account_id != account.pk:
                    raise serializers.ValidationError(
                        {"contact": _("The contact belongs to another account.")}
                    )
            ended_at = attrs.get("ended_at")
            if ended_at is not None and ended_at < attrs["started_at"]:
                raise serializers.ValidationError(
                    {"ended_at": _("An interaction cannot end before it started.")}
                )
            if attrs.get("notes") and attrs["agent"] != user:
                raise serializers.ValidationError(
                    {"notes": _("Only the interaction's agent can write its notes.")}
                )
            return attrs

    class UpdateInputSerializer(FixedFieldsMixin, serializers.Serializer):
        notes = serializers.CharField(
            max_length=services.NOTES_MAX_LENGTH,
            required=False,
            allow_blank=True,
            help_text="Only the interaction's agent can change the notes.",
        )
        outcome = serializers.ChoiceField(
            choices=CLOSED_OUTCOMES,
            required=False,
            help_text="Ends an open interaction (now, unless ended_at is given).",
        )
        ended_at = serializers.DateTimeField(
            required=False, help_text="Ends an open interaction; its outcome is then completed."
        )

        class Meta:
            ref_name = "InteractionUpdate"

    @extend_schema(
        summary="Record an interaction",
        description="For contacts handled outside icenter: an email, a letter, a note, a call "
        "on another phone system. Sending ended_at or outcome records it as finished.",
        request=CreateInputSerializer,
        responses={201: InteractionSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CreateInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ended_at, outcome = data.pop("ended_at", None), data.pop("outcome", None)
        notes = data.pop("notes", "")
        with transaction.atomic():
            interaction = services.interaction_start(**data)
            if notes:
                services.interaction_save_notes(
                    interaction=interaction, notes=notes, user=request.user
                )
            if ended_at is not None or outcome:
                services.interaction_end(
                    interaction=interaction,
                    outcome=outcome or Interaction.Outcome.COMPLETED,
                    ended_at=ended_at,
                )
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Write an interaction's notes, or end it",
        description="The rest of the history cannot change. An interaction that has ended "
        "keeps its end and outcome.",
        request=UpdateInputSerializer,
        responses={200: InteractionSerializer, **ERROR_RESPONSES},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.UpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            # Locked (see get_queryset) so that two requests cannot both end it.
            interaction = self.get_object()
            if "ended_at" in data or "outcome" in data:
                if interaction.ended_at is not None:
                    raise DomainError(
                        _("This interaction has already ended; its end and outcome stay."),
                        field="ended_at" if "ended_at" in data else "outcome",
                    )
                ended_at = data.get("ended_at")
                if ended_at is not None and ended_at < interaction.started_at:
                    raise serializers.ValidationError(
                        {"ended_at": _("An interaction cannot end before it started.")}
                    )
                services.interaction_end(
                    interaction=interaction,
                    outcome=data.get("outcome", Interaction.Outcome.COMPLETED),
                    ended_at=ended_at,
                )
            if "notes" in data:
                services.interaction_save_notes(
                    interaction=interaction, notes=data["notes"], user=request.user
                )
        return Response(InteractionSerializer(interaction).data)
