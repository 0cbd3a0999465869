"""Managers set up campaigns and call lists, fill lists from CSV and follow their progress."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import services
from campaigns.models import CallList, CallListEntry, Campaign
from icenter.admin import posted_text
from icenter.errors import DomainError


class CallListInline(admin.TabularInline):
    model = CallList
    extra = 0
    fields = ("name", "max_attempts", "retry_minutes", "is_active")
    show_change_link = True


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "script", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}
    autocomplete_fields = ("script",)
    inlines = [CallListInline]


@admin.register(CallList)
class CallListAdmin(admin.ModelAdmin):
    list_display = ("name", "campaign", "is_active", "progress", "import_link")
    list_filter = ("is_active", "campaign")
    search_fields = ("name", "campaign__name")
    filter_horizontal = ("agent_groups",)
    list_select_related = ("campaign",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallList]:
        closed = (CallListEntry.Status.DONE, CallListEntry.Status.FAILED)
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_entries=Count("entries"),
                n_closed=Count("entries", filter=Q(entries__status__in=closed)),
            )
        )

    @admin.display(description=gettext_lazy("closed / customers"))
    def progress(self, obj: Any) -> str:
        return f"{obj.n_closed} / {obj.n_entries}"

    @admin.display(description=gettext_lazy("customers"))
    def import_link(self, obj: CallList) -> str:
        entries = (
            reverse("admin:campaigns_calllistentry_changelist") + f"?call_list__id__exact={obj.pk}"
        )
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            entries,
            _("show"),
            reverse("admin:campaigns_calllist_import", args=[obj.pk]),
            _("add from CSV"),
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:list_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="campaigns_calllist_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest, list_id: int) -> HttpResponse:
        call_list = get_object_or_404(CallList, pk=list_id)
        if not self.has_change_permission(request, call_list):
            raise PermissionDenied
        problems: list[str] = []
        text = ""
        if request.method == "POST":
            text, problem = posted_text(request)
            problems = [problem] if problem else []
            if not problems:
                try:
                    result = services.call_list_entries_import(
                        call_list=call_list, text=text, by=request.user
                    )
                except services.ImportRefused as exc:
                    problems = [exc.message, *[str(p) for p in exc.problems]]
                except DomainError as exc:
                    problems = [exc.message]
                else:
                    messages.success(
                        request,
                        _("%(added)s customers added, %(skipped)s already on the list.")
                        % {"added": result.added, "skipped": result.skipped},
                    )
                    return HttpResponseRedirect(
                        reverse("admin:campaigns_calllistentry_changelist")
                        + f"?call_list__id__exact={call_list.pk}"
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Add customers to “%(list)s”") % {"list": call_list},
            "call_list": call_list,
            "problems": problems,
            "text": text if problems else "",
        }
        return TemplateResponse(request, "admin/campaigns/calllist/import.html", context)


@admin.register(CallListEntry)
class CallListEntryAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "call_list",
        "phone",
        "priority",
        "status",
        "result",
        "attempts",
        "not_before",
        "agent",
        "closed_at",
    )
    list_filter = ("status", "result", "call_list__campaign", "call_list")
    search_fields = ("account__name", "account__customer_number", "phone")
    list_select_related = ("account", "call_list__campaign", "agent__user")
    autocomplete_fields = ("account",)
    raw_id_fields = ("contact", "script_run", "interaction")
    readonly_fields = ("agent", "taken_at", "script_run", "interaction", "closed_at", "attempts")
    list_per_page = 100
    actions = ["put_back"]

    @admin.action(description=gettext_lazy("Put back on the list (to call again)"))
    def put_back(self, request: HttpRequest, queryset: QuerySet[CallListEntry]) -> None:
        count = queryset.exclude(status=CallListEntry.Status.OPEN).update(
            status=CallListEntry.Status.OPEN,
            agent=None,
            taken_at=None,
            not_before=None,
            closed_at=None,
        )
        self.message_user(request, _("%(n)s customers put back.") % {"n": count}, messages.SUCCESS)
