"""Tickets API: list, read, open and change tickets; status transitions, assignment, messages,
attachments and the audit trail as actions. Every write goes through accounts.services."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.access import scoped
from accounts.api.appointments import CONFIRM_CHOICES
from accounts.api.base import ERROR_RESPONSES, FILTER_BACKENDS, ID_PATTERN, staff_users
from accounts.models import (
    Account,
    Contact,
    Interaction,
    Outage,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChange,
    TicketMessage,
)
from telephony.models import AgentGroup


class TicketCategorySerializer(serializers.ModelSerializer):
    path = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = TicketCategory
        ref_name = "TicketCategory"
        fields = ["id", "name", "parent", "path", "is_active"]


class TicketSerializer(serializers.ModelSerializer):
    sla_state = serializers.SerializerMethodField(
        help_text='"ok", "warning", "breached", or "" when no SLA target is open.'
    )
    allowed_statuses = serializers.SerializerMethodField(
        help_text="The statuses this ticket may move to now."
    )

    class Meta:
        model = Ticket
        ref_name = "Ticket"
        fields = [
            "id",
            "number",
            "type",
            "category",
            "priority",
            "status",
            "allowed_statuses",
            "subject",
            "description",
            "account",
            "contact",
            "interaction",
            "outage",
            "assigned_agent",
            "assigned_group",
            "created_by",
            "created_at",
            "updated_at",
            "sla_policy",
            "first_response_due_at",
            "first_responded_at",
            "resolution_due_at",
            "resolved_at",
            "closed_at",
            "sla_state",
            "is_escalated",
            "reopen_count",
            "version",
        ]
        read_only_fields = fields

    def get_sla_state(self, ticket: Ticket) -> str:
        return ticket.sla_state()

    def get_allowed_statuses(self, ticket: Ticket) -> list[str]:
        return ticket.allowed_statuses()


class TicketMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketMessage
        ref_name = "TicketMessage"
        fields = ["id", "ticket", "author", "body", "is_internal", "created_at"]
        read_only_fields = fields


class TicketAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketAttachment
        ref_name = "TicketAttachment"
        fields = ["id", "ticket", "name", "content_type", "size", "uploaded_by", "uploaded_at"]
        read_only_fields = fields


class TicketChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketChange
        ref_name = "TicketChange"
        fields = ["id", "at", "actor", "action", "field", "old_value", "new_value"]
        read_only_fields = fields


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    is_open = filters.BooleanFilter(method="filter_open", label="Only open (or only done).")
    q = filters.CharFilter(method="filter_q", label="Ticket number, subject or account name.")

    class Meta:
        model = Ticket
        fields = [
            "status",
            "type",
            "priority",
            "account",
            "assigned_agent",
            "assigned_group",
            "category",
            "outage",
        ]

    def filter_open(self, queryset: QuerySet[Ticket], name: str, value: bool) -> QuerySet[Ticket]:
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=Ticket.OPEN_STATUSES)
        return queryset.exclude(status__in=Ticket.OPEN_STATUSES)

    def filter_q(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        ids = selectors.ticket_list(query=value, user=self.request.user).values("pk")
        return queryset.filter(pk__in=ids)


def _actor(request: Request) -> User:
    """The API user (HasStaffRole has checked that it is an active staff user)."""
    return cast(User, request.user)


VERSION_HELP = (
    "The version you based the change on; when the ticket changed meanwhile, the change is "
    "refused (400) instead of overwriting it."
)


@extend_schema_view(
    list=extend_schema(summary="List tickets, newest first"),
    retrieve=extend_schema(summary="One ticket"),
)
class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Service tickets: incidents, requests and complaints with SLA due dates."""

    lookup_value_regex = ID_PATTERN
    serializer_class = TicketSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = TicketFilter
    ordering_fields = ["created_at", "updated_at", "resolution_due_at", "priority", "id"]
    ordering = ["-created_at", "-id"]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self) -> QuerySet[Ticket]:
        return scoped(self.request.user, Ticket.objects.select_related("account"))

    class CreateInputSerializer(serializers.Serializer):
        account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
        subject = serializers.CharField(max_length=200)
        description = serializers.CharField(
            max_length=services.tickets.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True
        )
        type = serializers.ChoiceField(choices=Ticket.Type.choices, default=Ticket.Type.INCIDENT)
        priority = serializers.ChoiceField(
            choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL
        )
        category = serializers.PrimaryKeyRelatedField(
            queryset=TicketCategory.objects.all(), required=False, allow_null=True
        )
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(), required=False, allow_null=True
        )
        interaction = serializers.PrimaryKeyRelatedField(
            queryset=Interaction.objects.all(),
            required=False,
            allow_null=True,
            help_text="The contact during which the ticket was opened.",
        )
        assigned_agent = serializers.PrimaryKeyRelatedField(
            queryset=staff_users(), required=False, allow_null=True
        )
        assigned_group = serializers.PrimaryKeyRelatedField(
            queryset=AgentGroup.objects.all(), required=False, allow_null=True
        )
        outage = serializers.PrimaryKeyRelatedField(
            queryset=Outage.objects.all(), required=False, allow_null=True
        )

        class Meta:
            ref_name = "TicketCreate"

    class UpdateInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)
        subject = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(
            max_length=services.tickets.DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True
        )
        type = serializers.ChoiceField(choices=Ticket.Type.choices, required=False)
        priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
        category = serializers.PrimaryKeyRelatedField(
            queryset=TicketCategory.objects.all(), required=False, allow_null=True
        )
        contact = serializers.PrimaryKeyRelatedField(
            queryset=Contact.objects.all(), required=False, allow_null=True
        )

        class Meta:
            ref_name = "TicketUpdate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            fixed = sorted(set(self.initial_data) - set(self.fields))
            if fixed:
                raise serializers.ValidationError(
                    {
                        name: "This cannot be changed here; use the status, assign or "
                        "outage actions."
                        for name in fixed
                    }
                )
            return attrs

    class StatusInputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Ticket.Status.choices)
        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)

        class Meta:
            ref_name = "TicketStatusInput"

    class AssignInputSerializer(serializers.Serializer):
        agent = serializers.PrimaryKeyRelatedField(
            queryset=staff_users(),
            allow_null=True,
            required=False,
            help_text="A user id, or null for nobody; left out: unchanged.",
        )
        group = serializers.PrimaryKeyRelatedField(
            queryset=AgentGroup.objects.all(),
            allow_null=True,
            required=False,
            help_text="An agent group id, or null for none; left out: unchanged.",
        )
        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)

        class Meta:
            ref_name = "TicketAssignInput"

    class OutageInputSerializer(serializers.Serializer):
        outage = serializers.PrimaryKeyRelatedField(
            queryset=Outage.objects.all(), allow_null=True, help_text="An outage id, or null."
        )
        version = serializers.IntegerField(required=False, help_text=VERSION_HELP)

        class Meta:
            ref_name = "TicketOutageInput"

    class MessageInputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=services.tickets.MESSAGE_MAX_LENGTH)
        is_internal = serializers.BooleanField(
            default=True, help_text="False: a message the customer sees."
        )
        send_via = serializers.ChoiceField(
            choices=CONFIRM_CHOICES,
            default="",
            help_text="Also send a customer message by email or SMS (logged in the history).",
        )

        class Meta:
            ref_name = "TicketMessageInput"

    class AttachmentInputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="PDF, image, text, CSV, mail or office file.")

        class Meta:
            ref_name = "TicketAttachmentInput"

    def _answer(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        ticket = Ticket.objects.get(pk=ticket.pk)
        return Response(TicketSerializer(ticket).data, status=code)

    @extend_schema(
        summary="Open a ticket",
        description="SLA due dates are computed from the matching SLA policy.",
        request=CreateInputSerializer,
        responses={201: TicketSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = services.ticket_create(created_by=_actor(request), **serializer.validated_data)
        return self._answer(ticket, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change subject, description, type, priority, category or contact",
        request=UpdateInputSerializer,
        responses={200: TicketSerializer, **ERROR_RESPONSES},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.UpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        ticket = services.ticket_update(
            ticket=self.get_object(), by=_actor(request), expected_version=version, **data
        )
        return self._answer(ticket)

    @extend_schema(
        summary="Move the ticket to another status",
        description="new → in progress → waiting for customer → resolved → closed; resolved "
        "or closed → in progress reopens. Other moves are refused (400).",
        request=StatusInputSerializer,
        responses={200: TicketSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.StatusInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = services.ticket_set_status(
            ticket=self.get_object(),
            status=serializer.validated_data["status"],
            by=_actor(request),
            expected_version=serializer.validated_data.get("version"),
        )
        return self._answer(ticket)

    @extend_schema(
        summary="Assign the ticket to an agent and/or an agent group",
        request=AssignInputSerializer,
        responses={200: TicketSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.AssignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        ticket = services.ticket_assign(
            ticket=self.get_object(), by=_actor(request), expected_version=version, **data
        )
        return self._answer(ticket)

    @extend_schema(
        summary="Link the ticket to an outage (or unlink it)",
        request=OutageInputSerializer,
        responses={200: TicketSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="outage")
    def link_outage(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.OutageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = services.ticket_link_outage(
            ticket=self.get_object(),
            outage=serializer.validated_data["outage"],
            by=_actor(request),
            expected_version=serializer.validated_data.get("version"),
        )
        return self._answer(ticket)

    @extend_schema(
        methods=["GET"],
        summary="The ticket's messages, oldest first",
        responses={200: TicketMessageSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Add an internal note or a message for the customer",
        request=MessageInputSerializer,
        responses={201: TicketMessageSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_object()
        if request.method == "GET":
            items = TicketMessage.objects.filter(ticket=ticket).order_by("created_at", "id")
            return Response(TicketMessageSerializer(items, many=True).data)
        serializer = self.MessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.ticket_message_add(
            ticket=ticket, author=_actor(request), **serializer.validated_data
        )
        return Response(TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="The ticket's files",
        responses={200: TicketAttachmentSerializer(many=True)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Attach a file (multipart/form-data, field “file”)",
        description="At most ICENTER_ATTACHMENT_MAX_BYTES; HTML, scripts, programs and files "
        "whose content does not match their name are refused.",
        request={"multipart/form-data": AttachmentInputSerializer},
        responses={201: TicketAttachmentSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["get", "post"])
    def attachments(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_object()
        if request.method == "GET":
            items = TicketAttachment.objects.filter(ticket=ticket).order_by("uploaded_at", "id")
            return Response(TicketAttachmentSerializer(items, many=True).data)
        serializer = self.AttachmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.ticket_attachment_add(
            ticket=ticket, upload=serializer.validated_data["file"], by=_actor(request)
        )
        return Response(TicketAttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download one of the ticket's files (always as an attachment)",
        responses={200: OpenApiResponse(OpenApiTypes.BINARY), 404: None},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)/download",
    )
    def download(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        attachment = TicketAttachment.objects.filter(
            ticket=self.get_object(), pk=int(kwargs.get("attachment_id") or 0)
        ).first()
        if attachment is None:
            raise Http404
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type,
        )
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @extend_schema(
        summary="The audit trail: every change with who and when",
        responses={200: TicketChangeSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = TicketChange.objects.filter(ticket=self.get_object()).order_by("at", "id")
        return Response(TicketChangeSerializer(items, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="The ticket category tree (flat, with each node's path)"),
    retrieve=extend_schema(summary="One ticket category"),
)
class TicketCategoryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Ticket categories; managers maintain them in the admin."""

    lookup_value_regex = ID_PATTERN
    serializer_class = TicketCategorySerializer
    queryset = TicketCategory.objects.select_related("parent", "parent__parent").order_by(
        "name", "id"
    )
