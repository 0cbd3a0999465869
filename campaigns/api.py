"""REST API for campaigns and call lists (/api/v1/).

Everyone with a staff role reads campaigns, lists and the entries of accounts they may see;
managers add customers to a list (all or nothing, like the CSV import in the admin).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import scoped
from campaigns import services
from campaigns.models import CallList, CallListEntry, Campaign
from icenter import roles
from icenter.errors import DomainError, PermissionDenied

ERRORS = {400: None, 403: None, 404: None}
MAX_ENTRIES_PER_REQUEST = 5000


class CampaignSerializer(serializers.ModelSerializer):
    script: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Code of the script its calls follow."
    )

    class Meta:
        model = Campaign
        ref_name = "Campaign"
        fields = ["id", "code", "name", "description", "script", "is_active", "created_at"]


class CallListSerializer(serializers.ModelSerializer):
    campaign: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    agent_groups: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True
    )
    counts = serializers.SerializerMethodField(
        help_text="Customers by status: open, in_work, done, failed."
    )

    class Meta:
        model = CallList
        ref_name = "CallList"
        fields = [
            "id",
            "campaign",
            "name",
            "agent_groups",
            "max_attempts",
            "retry_minutes",
            "is_active",
            "created_at",
            "counts",
        ]

    def get_counts(self, obj: Any) -> dict[str, int]:
        return {s: getattr(obj, f"n_{s}", 0) for s in CallListEntry.Status.values}


class CallListEntrySerializer(serializers.ModelSerializer):
    customer_number = serializers.CharField(source="account.customer_number", read_only=True)

    class Meta:
        model = CallListEntry
        ref_name = "CallListEntry"
        fields = [
            "id",
            "call_list",
            "account",
            "customer_number",
            "contact",
            "phone",
            "priority",
            "note",
            "status",
            "result",
            "attempts",
            "not_before",
            "agent",
            "taken_at",
            "script_run",
            "interaction",
            "closed_at",
            "created_at",
        ]


class NewEntrySerializer(serializers.Serializer):
    customer_number = serializers.CharField(max_length=20)
    phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="Else the account's own."
    )
    priority = serializers.IntegerField(required=False, min_value=1, max_value=9, default=5)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class NewEntriesSerializer(serializers.Serializer):
    entries = serializers.ListField(
        child=NewEntrySerializer(), allow_empty=False, max_length=MAX_ENTRIES_PER_REQUEST
    )


@extend_schema_view(
    list=extend_schema(summary="List campaigns"),
    retrieve=extend_schema(summary="A campaign"),
)
class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    """Outbound campaigns and the script their calls follow."""

    serializer_class = CampaignSerializer
    queryset = Campaign.objects.select_related("script").order_by("name", "id")


@extend_schema_view(
    list=extend_schema(summary="List call lists with their progress"),
    retrieve=extend_schema(summary="A call list with its progress"),
)
class CallListViewSet(viewsets.ReadOnlyModelViewSet):
    """Call lists: the customers a campaign calls, worked by agent groups."""

    serializer_class = CallListSerializer

    def get_queryset(self) -> QuerySet[CallList]:
        counts = {
            f"n_{s}": Count("entries", filter=Q(entries__status=s))
            for s in CallListEntry.Status.values
        }
        return (
            CallList.objects.select_related("campaign")
            .prefetch_related("agent_groups")
            .annotate(**counts)
            .order_by("campaign__name", "name", "id")
        )

    @extend_schema(
        summary="The customers on the list",
        parameters=[
            OpenApiParameter("status", str, enum=CallListEntry.Status.values, required=False)
        ],
        responses={200: CallListEntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def entries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        call_list = self.get_object()
        entries = scoped(
            request.user,
            CallListEntry.objects.filter(call_list=call_list).select_related("account"),
        ).order_by("priority", "id")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in CallListEntry.Status.values:
                raise DomainError(f"Unknown status “{wanted}”.", field="status")
            entries = entries.filter(status=wanted)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(CallListEntrySerializer(page, many=True).data)

    @extend_schema(
        summary="Add customers to the list (managers only)",
        description="All or nothing: with any bad entry nobody is added and `extra.problems` "
        "names each (“Entry 3: …”, counting from 1). Customers already waiting on the list "
        "are skipped, not doubled.",
        request=NewEntriesSerializer,
        responses={201: {"type": "object"}, **ERRORS},
    )
    @entries.mapping.post
    def add_entries(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not roles.user_has_role(request.user, roles.MANAGER):
            raise PermissionDenied("Only managers may add customers to a call list.")
        call_list = self.get_object()
        body = NewEntriesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rows = [
            (number, {k: str(v).strip() for k, v in entry.items()})
            for number, entry in enumerate(body.validated_data["entries"], start=1)
        ]
        result = services.call_list_entries_add_rows(
            call_list=call_list, rows=rows, by=request.user, unit="entry"
        )
        return Response(
            {"added": result.added, "skipped": result.skipped}, status=status.HTTP_201_CREATED
        )
