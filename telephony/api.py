"""REST API of telephony (/api/v1/): queues, agents and their states, calls, work items.

Reads are open to every staff role, except agents' state history, which agents see only
for themselves. Writes go through telephony.services: agents set their own state,
supervisors and managers force agents not ready or log them out, and callbacks are
scheduled into the universal queue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services as account_services
from accounts.access import scoped
from accounts.api.base import ERROR_RESPONSES, FILTER_BACKENDS, ID_PATTERN
from accounts.models import Account
from icenter import roles
from icenter.errors import DomainError, PermissionDenied
from telephony import selectors, services
from telephony.models import (
    Agent,
    AgentGroup,
    AgentSkill,
    AgentStateChange,
    Call,
    OpeningHours,
    Queue,
    QueueSkill,
    WorkItem,
)

SUPERVISING_ROLES = (roles.SUPERVISOR, roles.MANAGER)
# The states a client may ask for; ringing, talking and wrap-up follow the calls.
SETTABLE_STATES = [
    (Agent.State.READY.value, Agent.State.READY.label),
    (Agent.State.NOT_READY.value, Agent.State.NOT_READY.label),
    (Agent.State.LOGGED_OUT.value, Agent.State.LOGGED_OUT.label),
]


# -- queues ---------------------------------------------------------------------------------


class QueueSkillSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="skill.code", read_only=True)
    name = serializers.CharField(source="skill.name", read_only=True)

    class Meta:
        model = QueueSkill
        ref_name = "QueueSkill"
        fields = ["skill", "code", "name", "min_level"]
        read_only_fields = fields


class OpeningHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpeningHours
        ref_name = "OpeningHours"
        fields = ["weekday", "opens", "closes"]
        read_only_fields = fields


class QueueSerializer(serializers.ModelSerializer):
    required_skills = QueueSkillSerializer(many=True, read_only=True)
    opening_hours = OpeningHoursSerializer(
        many=True, read_only=True, help_text="Empty: the queue is always open."
    )

    class Meta:
        model = Queue
        ref_name = "Queue"
        fields = [
            "id",
            "name",
            "number",
            "priority",
            "is_active",
            "required_skills",
            "agent_groups",
            "customer_groups",
            "service_level_seconds",
            "service_level_percent",
            "overflow_queue",
            "overflow_after_seconds",
            "ring_timeout_seconds",
            "vip_wait_seconds",
            "wrap_up_seconds",
            "opening_hours",
        ]
        read_only_fields = fields


class QueueFiguresSerializer(serializers.Serializer):
    queue = serializers.IntegerField(source="queue.pk")
    name = serializers.CharField(source="queue.name")
    waiting = serializers.IntegerField()
    waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="When the longest-waiting item entered the queue."
    )
    offered = serializers.IntegerField(
        help_text="Calls today that were answered, abandoned or waited past the threshold."
    )
    answered = serializers.IntegerField()
    answered_in_time = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    service_level = serializers.FloatField(
        allow_null=True, help_text="Percent answered in time of offered; null without calls."
    )
    service_level_target = serializers.IntegerField(source="queue.service_level_percent")
    average_handle_seconds = serializers.IntegerField(
        allow_null=True, help_text="Talk plus wrap-up time of today's finished calls."
    )
    agents_by_state = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        ref_name = "QueueFigures"


@extend_schema_view(
    list=extend_schema(summary="List queues"),
    retrieve=extend_schema(summary="One queue"),
)
class QueueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Queues: where calls, callbacks, emails and chats wait for an agent."""

    lookup_value_regex = ID_PATTERN
    serializer_class = QueueSerializer
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["is_active", "number"]
    ordering_fields = ["name", "priority", "id"]
    ordering = ["-priority", "name"]

    def get_queryset(self) -> QuerySet[Queue]:
        return Queue.objects.prefetch_related(
            Prefetch("required_skills", QueueSkill.objects.select_related("skill")),
            "agent_groups",
            "customer_groups",
            "opening_hours",
        )

    @extend_schema(
        summary="Today's live figures of every active queue",
        description="The wallboard's figures: waiting, longest wait, service level, "
        "abandoned calls, average handle time and the serving agents by state.",
        responses={200: QueueFiguresSerializer(many=True), **ERROR_RESPONSES},
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def figures(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        board = selectors.wallboard_get()
        return Response(QueueFiguresSerializer(board.queues, many=True).data)


# -- agents and their states ----------------------------------------------------------------


class AgentSkillSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="skill.code", read_only=True)

    class Meta:
        model = AgentSkill
        ref_name = "AgentSkill"
        fields = ["skill", "code", "level"]
        read_only_fields = fields


class AgentSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.SerializerMethodField()
    reason_label = serializers.SerializerMethodField(
        help_text="What the reason code means, for display."
    )
    skills = AgentSkillSerializer(many=True, read_only=True)

    class Meta:
        model = Agent
        ref_name = "Agent"
        fields = [
            "id",
            "user",
            "username",
            "name",
            "extension",
            "state",
            "state_since",
            "state_reason",
            "reason_label",
            "wrap_up_until",
            "capacity_email",
            "capacity_chat",
            "groups",
            "skills",
        ]
        read_only_fields = fields

    def get_name(self, agent: Agent) -> str:
        return agent.user.get_full_name() or agent.user.get_username()

    def get_reason_label(self, agent: Agent) -> str:
        labels: dict[str, str] = self.context.get("reason_labels") or {}
        return labels.get(agent.state_reason, agent.state_reason)


class AgentFilter(filters.FilterSet):
    group = filters.ModelChoiceFilter(
        field_name="groups", queryset=AgentGroup.objects.all(), label="Member of this group."
    )
    state = filters.MultipleChoiceFilter(choices=Agent.State.choices)

    class Meta:
        model = Agent
        fields = ["state", "extension", "group"]


class AgentStateInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=SETTABLE_STATES,
        help_text="Agents may choose any of these for themselves; supervisors and managers "
        "may set others not ready or log them out.",
    )
    reason = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="A not-ready reason code (required when an agent sets themself not ready; "
        "ignored when a supervisor forces the state).",
    )

    class Meta:
        ref_name = "AgentStateInput"


@extend_schema_view(
    list=extend_schema(summary="List agents with their current state"),
    retrieve=extend_schema(summary="One agent"),
)
class AgentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Agents: who takes contacts, at which extension, in which state."""

    lookup_value_regex = ID_PATTERN
    serializer_class = AgentSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = AgentFilter
    ordering_fields = ["extension", "state_since", "id"]
    ordering = ["extension"]

    def get_queryset(self) -> QuerySet[Agent]:
        return Agent.objects.select_related("user").prefetch_related(
            "groups", Prefetch("skills", AgentSkill.objects.select_related("skill"))
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "reason_labels": selectors.reason_labels()}

    @extend_schema(
        summary="Change an agent's state",
        description="An agent sets their own state (ready, not ready with a reason code, "
        "logged out). Supervisors and managers set any agent not ready or log them out; "
        "an agent with a live call is refused (400).",
        request=AgentStateInputSerializer,
        responses={200: AgentSerializer, **ERROR_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def state(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        agent = self.get_object()
        serializer = AgentStateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        state, reason = serializer.validated_data["state"], serializer.validated_data["reason"]
        if agent.user_id == request.user.pk:
            services.agent_set_state(agent=agent, state=state, reason=reason)
        elif roles.user_has_role(request.user, *SUPERVISING_ROLES):
            services.agent_force_state(agent=agent, state=state, by=request.user)
        else:
            raise PermissionDenied(_("Only supervisors and managers change another agent’s state."))
        fresh = self.get_queryset().get(pk=agent.pk)
        return Response(AgentSerializer(fresh, context=self.get_serializer_context()).data)


class AgentStateChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentStateChange
        ref_name = "AgentStateChange"
        fields = ["id", "agent", "previous_state", "state", "reason", "at"]
        read_only_fields = fields


class AgentStateChangeFilter(filters.FilterSet):
    at_after = filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", label="Only changes at or after this time (ISO 8601)."
    )
    at_before = filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="lt", label="Only changes before this time (ISO 8601)."
    )

    class Meta:
        model = AgentStateChange
        fields = ["agent", "state", "previous_state"]


class DurationQuerySerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="Period start (ISO 8601).")
    end = serializers.DateTimeField(required=False, help_text="Period end (ISO 8601).")


class StateDurationsSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    extension = serializers.CharField()
    seconds = serializers.DictField(
        child=serializers.FloatField(), help_text="Seconds per agent state."
    )


@extend_schema_view(
    list=extend_schema(summary="Agents' state history, newest first"),
    retrieve=extend_schema(summary="One state change"),
)
class AgentStateChangeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Every agent state change, for reporting durations. Agents see only their own."""

    lookup_value_regex = ID_PATTERN
    serializer_class = AgentStateChangeSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = AgentStateChangeFilter
    ordering_fields = ["at", "id"]
    ordering = ["-at", "-id"]

    def get_queryset(self) -> QuerySet[AgentStateChange]:
        changes = AgentStateChange.objects.all()
        if getattr(self, "swagger_fake_view", False):
            return changes
        user = self.request.user
        if not roles.user_has_role(user, *SUPERVISING_ROLES):
            changes = changes.filter(agent__user_id=user.pk or 0)
        return changes

    @extend_schema(
        summary="Time each agent spent in each state within a period",
        description="Seconds per state for every agent (agents: only themselves) between "
        "`start` and `end` (ISO 8601; default: today so far). Built from the stored state "
        "changes, so the figures cover any past period.",
        parameters=[DurationQuerySerializer],
        responses={200: StateDurationsSerializer(many=True), **ERROR_RESPONSES},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def durations(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = DurationQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        start = query.validated_data.get("start") or selectors.start_of_day(now)
        end = query.validated_data.get("end") or now
        if end <= start:
            raise DomainError(_("The period ends before it starts."), field="end")
        if end - start > timedelta(days=31):
            raise DomainError(_("Ask for at most 31 days at a time."), field="end")
        agent_ids = None
        if not roles.user_has_role(request.user, *SUPERVISING_ROLES):
            agent_ids = list(
                Agent.objects.filter(user_id=request.user.pk or 0).values_list("pk", flat=True)
            )
        rows = selectors.agent_state_durations(start=start, end=end, agent_ids=agent_ids)
        return Response(StateDurationsSerializer(rows, many=True).data)


# -- calls and work items -------------------------------------------------------------------


class CallSerializer(serializers.ModelSerializer):
    talk_seconds = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="From answer to end (or to now)."
    )

    class Meta:
        model = Call
        ref_name = "Call"
        fields = [
            "id",
            "call_id",
            "direction",
            "status",
            "ani",
            "ani_e164",
            "dnis",
            "queue",
            "agent",
            "interaction",
            "offered_at",
            "answered_at",
            "ended_at",
            "end_reason",
            "talk_seconds",
            "consult_for",
        ]
        read_only_fields = fields


class CallFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Call.Status.choices)
    offered_after = filters.IsoDateTimeFilter(
        field_name="offered_at", lookup_expr="gte", label="Offered at or after (ISO 8601)."
    )
    offered_before = filters.IsoDateTimeFilter(
        field_name="offered_at", lookup_expr="lt", label="Offered before (ISO 8601)."
    )

    class Meta:
        model = Call
        fields = ["status", "direction", "agent", "queue", "dnis", "ani_e164", "call_id"]


@extend_schema_view(
    list=extend_schema(summary="List calls, newest first"),
    retrieve=extend_schema(summary="One call"),
)
class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Phone calls as the PBX reported them; each has an interaction in the history."""

    lookup_value_regex = ID_PATTERN
    serializer_class = CallSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = CallFilter
    ordering_fields = ["offered_at", "answered_at", "ended_at", "id"]
    ordering = ["-offered_at", "-id"]

    def get_queryset(self) -> QuerySet[Call]:
        # Access per customer group: a call goes with its interaction's account.
        return scoped(self.request.user, Call.objects.all(), via="interaction__account__")


class WorkItemSerializer(serializers.ModelSerializer):
    wrap_up_code: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = WorkItem
        ref_name = "WorkItem"
        fields = [
            "id",
            "channel",
            "status",
            "queue",
            "priority",
            "agent",
            "preferred_agent",
            "preferred_until",
            "agent_group",
            "call",
            "interaction",
            "account",
            "subject",
            "number",
            "created_by",
            "enqueued_at",
            "not_before",
            "not_after",
            "offered_at",
            "accepted_at",
            "finished_at",
            "wrap_up_code",
        ]
        read_only_fields = fields


class WorkItemFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=WorkItem.Status.choices)
    channel = filters.MultipleChoiceFilter(choices=WorkItem.Channel.choices)
    enqueued_after = filters.IsoDateTimeFilter(
        field_name="enqueued_at", lookup_expr="gte", label="Queued at or after (ISO 8601)."
    )
    enqueued_before = filters.IsoDateTimeFilter(
        field_name="enqueued_at", lookup_expr="lt", label="Queued before (ISO 8601)."
    )

    class Meta:
        model = WorkItem
        fields = ["status", "channel", "queue", "agent", "agent_group", "account", "call"]


@extend_schema_view(
    list=extend_schema(summary="List work items of the universal queue, newest first"),
    retrieve=extend_schema(summary="One work item"),
)
class WorkItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The universal queue: one work item per call, callback, email or chat."""

    lookup_value_regex = ID_PATTERN
    serializer_class = WorkItemSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = WorkItemFilter
    ordering_fields = ["enqueued_at", "priority", "id"]
    ordering = ["-enqueued_at", "-id"]

    def get_queryset(self) -> QuerySet[WorkItem]:
        return scoped(self.request.user, WorkItem.objects.select_related("wrap_up_code"))


class CallbackInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="The number to call back.")
    reason = serializers.CharField(max_length=200, help_text="What the callback is about.")
    not_before = serializers.DateTimeField(help_text="Call back from this time on (ISO 8601).")
    not_after = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Call back before this time (at most 12 hours after `not_before`; "
        "2 hours after it when left out).",
    )
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(), required=False, allow_null=True
    )
    agent = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.all(),
        required=False,
        allow_null=True,
        help_text="The agent who should call back; others take it after `not_after`.",
    )
    agent_group = serializers.PrimaryKeyRelatedField(
        queryset=AgentGroup.objects.all(), required=False, allow_null=True
    )
    queue = serializers.PrimaryKeyRelatedField(
        queryset=Queue.objects.all(), required=False, allow_null=True
    )

    class Meta:
        ref_name = "CallbackInput"


class CallbackViewSet(viewsets.GenericViewSet):
    """Callbacks: scheduled calls back to a customer, offered to agents like calls."""

    serializer_class = WorkItemSerializer

    def get_queryset(self) -> QuerySet[WorkItem]:
        return scoped(self.request.user, WorkItem.objects.filter(channel=WorkItem.Channel.CALLBACK))

    @extend_schema(
        summary="Schedule a callback",
        description="The same rules as a callback scheduled at the desk: a valid phone "
        "number, a reason, a window of at most 12 hours at most 90 days ahead, and an agent, "
        "group or queue. "
        "The callback waits in the universal queue until `not_before` and is then "
        "offered to the agent (or group, or queue) like a call. Answers with its work item.",
        request=CallbackInputSerializer,
        responses={201: WorkItemSerializer, **ERROR_RESPONSES},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CallbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        item = account_services.callback_request(
            account=data.get("account"),
            number=data["number"],
            reason=data["reason"],
            window_start=data["not_before"],
            window_end=data.get("not_after"),
            created_by=cast(User, request.user),
            agent=data.get("agent"),
            group=data.get("agent_group"),
            queue=data.get("queue"),
        )
        item = WorkItem.objects.select_related("wrap_up_code").get(pk=item.pk)
        return Response(WorkItemSerializer(item).data, status=status.HTTP_201_CREATED)
