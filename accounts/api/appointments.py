"""Appointments API: book, move and cancel technician appointments; free slots."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import scheduling, services
from accounts.access import scoped
from accounts.api.base import ERROR_RESPONSES, FILTER_BACKENDS, ID_PATTERN
from accounts.models import Account, Appointment, ServiceSkill, Technician, Ticket
from icenter.errors import DomainError


def _actor(request: Request) -> User:
    return cast(User, request.user)


class AppointmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Appointment
        ref_name = "Appointment"
        fields = [
            "id",
            "account",
            "ticket",
            "technician",
            "skill",
            "starts_at",
            "ends_at",
            "status",
            "address",
            "notes",
            "confirmed_via",
            "created_by",
            "created_at",
            "cancelled_at",
            "version",
        ]
        read_only_fields = fields


class BookingSerializer(serializers.Serializer):
    appointment = AppointmentSerializer()
    confirmation_error = serializers.CharField(
        help_text='Why the confirmation was not sent ("" when sent or not asked for).'
    )

    class Meta:
        ref_name = "AppointmentBooking"


class SlotSerializer(serializers.Serializer):
    technician = serializers.IntegerField(source="technician.pk")
    technician_name = serializers.CharField(source="technician.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AppointmentSlot"


CONFIRM_CHOICES = [("", "no message"), ("email", "email"), ("sms", "SMS")]


def _booking(result: services.BookingResult, code: int = status.HTTP_200_OK) -> Response:
    return Response(
        {
            "appointment": AppointmentSerializer(result.appointment).data,
            "confirmation_error": result.confirmation_error,
        },
        status=code,
    )


@extend_schema_view(
    list=extend_schema(summary="List appointments, soonest first"),
    retrieve=extend_schema(summary="One appointment"),
)
class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Technician appointments at customers; booked only in free slots."""

    lookup_value_regex = ID_PATTERN
    serializer_class = AppointmentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["account", "ticket", "technician", "status"]
    ordering_fields = ["starts_at", "id"]
    ordering = ["starts_at", "id"]

    def get_queryset(self) -> QuerySet[Appointment]:
        return scoped(self.request.user, Appointment.objects.all())

    class BookInputSerializer(serializers.Serializer):
        account = serializers.PrimaryKeyRelatedField(
            queryset=Account.objects.all(), required=False, help_text="Defaults to the ticket's."
        )
        ticket = serializers.PrimaryKeyRelatedField(
            queryset=Ticket.objects.all(), required=False, allow_null=True
        )
        technician = serializers.PrimaryKeyRelatedField(queryset=Technician.objects.all())
        starts_at = serializers.DateTimeField(help_text="The start of a free slot.")
        notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)
        confirm_via = serializers.ChoiceField(choices=CONFIRM_CHOICES, default="")

        class Meta:
            ref_name = "AppointmentBookInput"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            ticket = attrs.get("ticket")
            if "account" not in attrs:
                if ticket is None:
                    raise serializers.ValidationError({"account": "Give an account or a ticket."})
                attrs["account"] = ticket.account
            return attrs

    class RescheduleInputSerializer(serializers.Serializer):
        technician = serializers.PrimaryKeyRelatedField(
            queryset=Technician.objects.all(), required=False
        )
        starts_at = serializers.DateTimeField()
        version = serializers.IntegerField(required=False)
        confirm_via = serializers.ChoiceField(choices=CONFIRM_CHOICES, default="")

        class Meta:
            ref_name = "AppointmentRescheduleInput"

    class CancelInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(required=False)
        confirm_via = serializers.ChoiceField(choices=CONFIRM_CHOICES, default="")

        class Meta:
            ref_name = "AppointmentCancelInput"

    @extend_schema(
        summary="Book a free slot",
        description="A slot somebody booked meanwhile is refused (400) — also when two "
        "requests race for it.",
        request=BookInputSerializer,
        responses={201: BookingSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.BookInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.appointment_book(by=_actor(request), **serializer.validated_data)
        return _booking(result, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Move the appointment to another free slot",
        request=RescheduleInputSerializer,
        responses={200: BookingSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.RescheduleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.appointment_reschedule(
            appointment=self.get_object(),
            starts_at=data["starts_at"],
            technician=data.get("technician"),
            expected_version=data.get("version"),
            confirm_via=data["confirm_via"],
            by=_actor(request),
        )
        return _booking(result)

    @extend_schema(
        summary="Cancel the appointment",
        request=CancelInputSerializer,
        responses={200: BookingSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.appointment_cancel(
            appointment=self.get_object(),
            expected_version=serializer.validated_data.get("version"),
            confirm_via=serializer.validated_data["confirm_via"],
            by=_actor(request),
        )
        return _booking(result)

    @extend_schema(
        summary="Free slots for a ticket (its skill, its customer's region)",
        parameters=[
            OpenApiParameter("ticket", int, description="The ticket to find slots for."),
            OpenApiParameter("skill", str, description="Or: a skill code …"),
            OpenApiParameter("postcode", str, description="… and the customer's postcode."),
        ],
        responses={200: SlotSerializer(many=True), **ERROR_RESPONSES},
    )
    @action(detail=False, methods=["get"], url_path="free-slots", filter_backends=[])
    def free_slots(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket_id = request.query_params.get("ticket", "")
        if ticket_id:
            ticket = (
                scoped(request.user, Ticket.objects.select_related("account"))
                .filter(pk=int(ticket_id) if ticket_id.isdigit() else 0)
                .first()
            )
            if ticket is None:
                raise DomainError(_("That ticket does not exist."), field="ticket")
            skill = ticket.skill_needed
            postcode = scheduling.account_postcode(ticket.account)
        else:
            code = request.query_params.get("skill", "")
            skill = ServiceSkill.objects.filter(code=code).first() if code else None
            if code and skill is None:
                raise DomainError(_("That skill does not exist."), field="skill")
            postcode = request.query_params.get("postcode", "").strip()[:10]
            if not postcode:
                raise DomainError(_("Give a ticket, or a postcode."), field="postcode")
        slots = scheduling.free_slots(skill=skill, postcode=postcode)
        return Response(SlotSerializer(slots, many=True).data)
