"""Interactions API: the history of every contact with a customer, on any channel."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.access import account_require_read, scoped
from accounts.api.base import (
    ERROR_RESPONSES,
    FILTER_BACKENDS,
    ID_PATTERN,
    FixedFieldsMixin,
    staff_users,
)
from accounts.api.serializers import InteractionSerializer
from accounts.filters import InteractionFilter
from accounts.models import Account, Contact, Interaction
from icenter.errors import DomainError

CLOSED_OUTCOMES = [
    (value, label)
    for value, label in Interaction.Outcome.choices
    if value != Interaction.Outcome.OPEN
]


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
            return scoped(self.request.user, Interaction.objects.select_for_update(of=("self",)))
        return scoped(self.request.user, Interaction.objects.all())

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
            queryset=staff_users(),
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
            help_text="Only when the API user is the interaction's agent, or when no agent "
            "handled it (agent null: e.g. a web-form email with its text).",
        )

        class Meta:
            ref_name = "InteractionCreate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            user = self.context["request"].user
            attrs.setdefault("agent", user)
            attrs["started_at"] = attrs.get("started_at") or timezone.now()
            contact, account = attrs.get("contact"), attrs.get("account")
            if contact is not None and account is not None and contact.account_id != account.pk:
                raise serializers.ValidationError(
                    {"contact": _("The contact belongs to another account.")}
                )
            ended_at = attrs.get("ended_at")
            if ended_at is not None and ended_at < attrs["started_at"]:
                raise serializers.ValidationError(
                    {"ended_at": _("An interaction cannot end before it started.")}
                )
            if attrs.get("notes") and attrs["agent"] not in (None, user):
                raise serializers.ValidationError(
                    {"notes": _("Only the interaction's agent can write its notes.")}
                )
            return attrs

    class UpdateInputSerializer(FixedFieldsMixin, serializers.Serializer):
        notes = serializers.CharField(
            max_length=services.NOTES_MAX_LENGTH,
            required=False,
            allow_blank=True,
            help_text="Only the interaction's agent can change the notes; those of an "
            "interaction no agent handled, any API user.",
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
        "on another phone system, with its notes in the same call. Sending ended_at or "
        "outcome records it as finished. A contact nobody handled (agent null), such as a "
        "web-form email, can carry its text in notes.",
        request=CreateInputSerializer,
        responses={201: InteractionSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.CreateInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        account_require_read(request.user, serializer.validated_data.get("account"))
        interaction = services.interaction_log(**serializer.validated_data)
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
