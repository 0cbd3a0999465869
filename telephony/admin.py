from __future__ import annotations

from typing import Any

from django.contrib import admin

from telephony.models import Agent, AgentStateChange, Call, CallEventRecord


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
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
