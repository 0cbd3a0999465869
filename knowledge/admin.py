"""The managers' authoring UI: problems, solutions (rich text, versions, status), keywords."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from icenter.errors import DomainError
from knowledge import services
from knowledge.models import (
    Attachment,
    Category,
    Keyword,
    Problem,
    Solution,
    SolutionFeedback,
    SolutionLink,
    SolutionUsage,
    SolutionVersion,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent"]
    search_fields = ["name"]


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin):
    list_display = ["name", "synonyms"]
    search_fields = ["name", "synonyms"]


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "updated_at"]
    list_filter = ["category"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["keywords"]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0


class VersionInline(admin.TabularInline):
    model = SolutionVersion
    extra = 0
    can_delete = False
    fields = ("number", "status", "title", "author", "note", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SolutionForm(forms.ModelForm):
    class Meta:
        model = Solution
        fields = [
            "title",
            "body",
            "internal_note",
            "language",
            "category",
            "problems",
            "keywords",
            "is_public",
            "valid_from",
            "valid_until",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 16, "cols": 100})}

    def clean_body(self) -> str:
        body = services.solution_body_clean(self.cleaned_data.get("body", ""))
        if not body:
            raise forms.ValidationError(_("A solution needs a text."))
        return body


def _set_status(
    admin_: SolutionAdmin, request: HttpRequest, queryset: QuerySet[Solution], status: str
) -> None:
    changed = 0
    for solution in queryset:
        try:
            services.solution_set_status(solution=solution, status=status, user=request.user)
            changed += 1
        except DomainError as error:
            admin_.message_user(request, f"{solution}: {error.message}", messages.ERROR)
    if changed:
        admin_.message_user(
            request,
            ngettext("%(count)d solution changed.", "%(count)d solutions changed.", changed)
            % {"count": changed},
        )


class ProposedByAgentsFilter(admin.SimpleListFilter):
    """Drafts agents proposed from resolved tickets: the managers' review list."""

    title = _("proposed by agents")
    parameter_name = "proposed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("pending", _("Waiting for review")),
            ("all", _("All proposals")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Solution]) -> QuerySet[Solution]:
        if self.value() == "pending":
            return queryset.filter(source_ticket__isnull=False, status=Solution.Status.DRAFT)
        if self.value() == "all":
            return queryset.filter(source_ticket__isnull=False)
        return queryset


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    form = SolutionForm
    list_display = [
        "title",
        "status",
        "category",
        "is_public",
        "version",
        "usage_count",
        "helped_count",
        "not_helped_count",
        "proposed_from",
        "updated_at",
    ]
    list_filter = [ProposedByAgentsFilter, "status", "is_public", "language", "category"]
    search_fields = ["title", "body"]
    autocomplete_fields = ["problems", "keywords"]
    readonly_fields = [
        "status",
        "version",
        "usage_count",
        "helped_count",
        "not_helped_count",
        "created_by",
        "updated_by",
        "proposed_from",
    ]
    inlines = [AttachmentInline, VersionInline]
    list_select_related = ["category", "source_ticket"]

    @admin.display(description=_("proposed from ticket"), ordering="source_ticket__number")
    def proposed_from(self, solution: Solution) -> str:
        ticket = solution.source_ticket
        if ticket is None:
            return "–"
        try:
            url = reverse("admin:accounts_ticket_change", args=[ticket.pk])
        except NoReverseMatch:
            return str(ticket)
        return format_html('<a href="{}">{}</a>', url, ticket)

    actions = ["release", "archive", "back_to_draft"]

    def save_model(self, request: HttpRequest, obj: Solution, form: Any, change: bool) -> None:
        if change:
            obj.version += 1
        else:
            obj.created_by = request.user  # type: ignore[assignment]
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.solution_version_record(
            solution=form.instance, author=request.user, note=str(_("Changed in the admin"))
        )

    @admin.action(description=_("Release the selected solutions"))
    def release(self, request: HttpRequest, queryset: QuerySet[Solution]) -> None:
        _set_status(self, request, queryset, Solution.Status.RELEASED)

    @admin.action(description=_("Archive the selected solutions"))
    def archive(self, request: HttpRequest, queryset: QuerySet[Solution]) -> None:
        _set_status(self, request, queryset, Solution.Status.ARCHIVED)

    @admin.action(description=_("Put the selected solutions back to draft"))
    def back_to_draft(self, request: HttpRequest, queryset: QuerySet[Solution]) -> None:
        _set_status(self, request, queryset, Solution.Status.DRAFT)


@admin.register(SolutionFeedback)
class SolutionFeedbackAdmin(admin.ModelAdmin):
    list_display = ["solution", "helped", "source", "user", "query", "created_at"]
    list_filter = ["helped", "source"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SolutionUsage)
class SolutionUsageAdmin(admin.ModelAdmin):
    list_display = ["solution", "kind", "queue", "agent", "used_at"]
    list_filter = ["kind", "queue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SolutionLink)
class SolutionLinkAdmin(admin.ModelAdmin):
    list_display = ["solution", "ticket", "linked_by", "linked_at"]
    list_select_related = ["solution", "ticket", "linked_by"]
    search_fields = ["solution__title", "ticket__number"]
    readonly_fields = ["solution", "ticket", "linked_by", "linked_at", "usage"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Unlinking takes back the usage and writes the ticket's trail: agents do it on the desk.
        return False
