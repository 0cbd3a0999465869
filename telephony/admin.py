from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from telephony.models import (
    Agent,
    AgentGroup,
    AgentSkill,
    AgentStateChange,
    Call,
    CallEventRecord,
    NotReadyReason,
    OpeningHours,
    OrgUnit,
    Position,
    Queue,
    QueueSkill,
    Skill,
    WorkItem,
    WrapUpCode,
)


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1
    autocomplete_fields = ["skill"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    inlines = [AgentSkillInline]
    list_display = ["__str__", "extension", "state", "state_since"]
    list_filter = ["state"]
    search_fields = ["extension", "user__username", "user__last_name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["state", "state_since", "state_reason", "current_interaction"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ["offered_at", "ani", "dnis", "status", "agent", "answered_at", "ended_at"]
    list_filter = ["status", "direction"]
    search_fields = ["call_id", "ani", "ani_e164", "dnis"]
    list_select_related = ["agent__user"]


@admin.register(AgentStateChange)
class AgentStateChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "agent", "previous_state", "state", "reason"]
    list_filter = ["state"]
    list_select_related = ["agent__user"]


@admin.register(CallEventRecord)
class CallEventRecordAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "call_id", "kind", "result", "detail"]
    list_filter = ["kind", "result"]
    search_fields = ["call_id"]


# Webhook subscriptions and deliveries live in their own module.
from telephony import webhooks_admin  # noqa: E402, F401

# -- what managers author: queues, skills, organisation, reason and wrap-up codes ---------------


class QueueSkillInline(admin.TabularInline):
    model = QueueSkill
    extra = 1
    autocomplete_fields = ["skill"]


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 1


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "number",
        "priority",
        "service_level_percent",
        "service_level_seconds",
        "overflow_queue",
        "is_active",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "number"]
    list_select_related = ["overflow_queue"]
    autocomplete_fields = ["overflow_queue"]
    filter_horizontal = ["agent_groups", "customer_groups"]
    inlines = [QueueSkillInline, OpeningHoursInline]
    fieldsets = [
        (None, {"fields": ["name", "number", "priority", "is_active"]}),
        (_("Who serves it"), {"fields": ["agent_groups", "customer_groups"]}),
        (
            _("Service level and timers"),
            {
                "fields": [
                    "service_level_seconds",
                    "service_level_percent",
                    "ring_timeout_seconds",
                    "vip_wait_seconds",
                    "wrap_up_seconds",
                    "overflow_queue",
                    "overflow_after_seconds",
                ]
            },
        ),
        (_("Announcements"), {"fields": ["busy_announcement", "closed_announcement"]}),
    ]


@admin.register(AgentGroup)
class AgentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "org_unit"]
    list_filter = ["org_unit"]
    search_fields = ["name"]
    list_select_related = ["org_unit"]
    filter_horizontal = ["members"]


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    autocomplete_fields = ["holder"]


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    inlines = [PositionInline]


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ["name", "org_unit", "holder"]
    list_filter = ["org_unit"]
    search_fields = ["name", "org_unit__name"]
    list_select_related = ["org_unit", "holder__user"]
    autocomplete_fields = ["org_unit", "holder"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(NotReadyReason)
class NotReadyReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]


@admin.register(WrapUpCode)
class WrapUpCodeAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]


@admin.register(WorkItem)
class WorkItemAdmin(ReadOnlyAdmin):
    list_display = ["enqueued_at", "channel", "status", "queue", "agent", "subject", "priority"]
    list_filter = ["status", "channel", "queue"]
    search_fields = ["subject", "number", "call__call_id"]
    list_select_related = ["queue", "agent__user"]
    date_hierarchy = "enqueued_at"
