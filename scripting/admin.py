"""The manager's authoring UI: scripts, versions with their steps, answers and conditions.

Published and retired versions are read-only; "Duplicate to a new draft" makes an
editable copy. Each version's page shows the validation problems and the flow
diagram; "Try it" runs the version without storing anything; import/export is JSON.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from icenter.admin import posted_text
from icenter.errors import DomainError
from scripting import services
from scripting.diagram import flow_svg
from scripting.flow import RunContext, answer_parse, next_key, progress
from scripting.interchange import ImportFailed, script_export_json, script_import
from scripting.models import (
    Answer,
    Branch,
    Offer,
    OfferList,
    RunAnswer,
    Script,
    ScriptRun,
    ScriptVersion,
    Step,
    StepAction,
)
from scripting.placeholders import render_html
from scripting.selectors import (
    account_context,
    flow_for_version,
    run_rows_for_export,
    version_results,
)

CSV_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula."""
    return "'" + value if value.startswith(CSV_DANGEROUS_START) else value


def _user(request: HttpRequest) -> User:
    """The admin's user (the admin site lets only logged-in staff in)."""
    assert isinstance(request.user, User)
    return request.user


def _draft_only(version: ScriptVersion | None) -> bool:
    return version is None or version.status == ScriptVersion.Status.DRAFT


# -- offers ------------------------------------------------------------------------------------


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    fields = ["rank", "name", "pitch", "customer_group", "vip_only", "is_active"]


@admin.register(OfferList)
class OfferListAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [OfferInline]


# -- scripts -----------------------------------------------------------------------------------


class VersionLinkInline(admin.TabularInline):
    model = ScriptVersion
    extra = 0
    fields = ["link", "status", "notes", "published_at", "runs"]
    readonly_fields = ["link", "status", "notes", "published_at", "runs"]
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScriptVersion]:
        return super().get_queryset(request).annotate(run_count=Count("runs"))

    @admin.display(description=gettext_lazy("version"))
    def link(self, obj: ScriptVersion) -> str:
        url = reverse("admin:scripting_scriptversion_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Version %(n)d") % {"n": obj.number})

    @admin.display(description=gettext_lazy("runs"))
    def runs(self, obj: Any) -> int:
        return int(getattr(obj, "run_count", 0))


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "published_version"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [VersionLinkInline]
    change_list_template = "admin/scripting/script/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Script]:
        return super().get_queryset(request).prefetch_related("versions")

    @admin.display(description=gettext_lazy("published version"))
    def published_version(self, obj: Script) -> str:
        for version in obj.versions.all():
            if version.status == ScriptVersion.Status.PUBLISHED:
                return str(version.number)
        return "–"

    def save_model(self, request: HttpRequest, obj: Script, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            ScriptVersion.objects.create(script=obj, number=1, created_by=_user(request))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="scripting_script_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        problems: list[Any] = []
        text = ""
        if request.method == "POST":
            text, problem = posted_text(request)
            problems = [problem] if problem else []
            if not problems:
                try:
                    version, warnings = script_import(text=text, created_by=request.user)
                except ImportFailed as exc:
                    problems = [str(p) for p in exc.problems]
                else:
                    messages.success(
                        request,
                        _("Imported as version %(n)d of “%(name)s” (a draft).")
                        % {"n": version.number, "name": version.script.name},
                    )
                    for warning in warnings:
                        messages.warning(request, warning.message)
                    return HttpResponseRedirect(
                        reverse("admin:scripting_scriptversion_change", args=[version.pk])
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a script"),
            "problems": problems,
            "text": text,
        }
        return TemplateResponse(request, "admin/scripting/script/import.html", context)


# -- steps inside a version --------------------------------------------------------------------


class StepInlineFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            step = form.instance
            if step.pk is None:
                continue
            refusal = services.step_delete_refusal(step)
            if refusal:
                raise ValidationError(refusal)


class _SameVersionTargets:
    """Limits every "go to" field to the steps of the version being edited."""

    version_for_request: dict[int, ScriptVersion | None]

    def limit(self, db_field: Any, request: HttpRequest, kwargs: dict[str, Any]) -> None:
        if db_field.name == "next_step":
            version = getattr(request, "_scripting_version", None)
            kwargs["queryset"] = (
                Step.objects.filter(version=version).order_by("position", "id")
                if version is not None
                else Step.objects.none()
            )


class StepInline(_SameVersionTargets, admin.TabularInline):
    model = Step
    formset = StepInlineFormSet
    extra = 1
    fields = [
        "position",
        "key",
        "kind",
        "answer_type",
        "title",
        "text",
        "is_required",
        "next_step",
        "outcome",
        "details",
    ]
    readonly_fields = ["details"]
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 36})}
    }

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        self.limit(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=gettext_lazy("answers, conditions, actions"))
    def details(self, obj: Step) -> str:
        if obj.pk is None:
            return ""
        url = reverse("admin:scripting_step_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("edit"))

    def _editable(self, obj: Any) -> bool:
        return _draft_only(obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(ScriptVersion)
class ScriptVersionAdmin(admin.ModelAdmin):
    list_display = ["script", "number", "status", "published_at", "created_by"]
    list_filter = ["status", "script"]
    list_select_related = ["script", "created_by"]
    search_fields = ["script__name", "script__code"]
    fields = ["script", "number", "status", "notes", "published_at", "retired_at"]
    readonly_fields = ["script", "number", "status", "published_at", "retired_at"]
    inlines = [StepInline]
    change_form_template = "admin/scripting/scriptversion/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New versions come from a new script, a duplicate or an import.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _draft_only(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.runs.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        request._scripting_version = obj  # type: ignore[attr-defined]
        return obj

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Renumber 10, 20, 30 … so that managers can slot a step in between next time.
        steps = list(Step.objects.filter(version=form.instance).order_by("position", "id"))
        for index, step in enumerate(steps, start=1):
            step.position = index * 10
        Step.objects.bulk_update(steps, ["position"])

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        version = get_object_or_404(ScriptVersion.objects.select_related("script"), pk=object_id)
        flow = flow_for_version(version=version)
        problems = services.script_version_validate(version=version)
        extra = {
            "version": version,
            "problems": problems,
            "diagram": flow_svg(flow, problems),
            "can_author": self.has_view_permission(request, version)
            and super().has_change_permission(request, None),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any, suffix: str) -> URLPattern:
            return path(
                f"<int:pk>/{suffix}/",
                self.admin_site.admin_view(function),
                name=f"scripting_scriptversion_{suffix.replace('.', '_')}",
            )

        return [
            view(self.publish_view, "publish"),
            view(self.duplicate_view, "duplicate"),
            view(self.retire_view, "retire"),
            view(self.preview_view, "preview"),
            view(self.export_view, "export"),
            view(self.results_view, "results"),
            view(self.results_csv_view, "results.csv"),
            *super().get_urls(),
        ]

    def _version(self, request: HttpRequest, pk: int, *, write: bool) -> ScriptVersion:
        version = get_object_or_404(ScriptVersion.objects.select_related("script"), pk=pk)
        allowed = (
            super().has_change_permission(request, None)
            if write
            else self.has_view_permission(request, version)
        )
        if not allowed:
            raise PermissionDenied
        return version

    def _back(self, version: ScriptVersion) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:scripting_scriptversion_change", args=[version.pk])
        )

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, write=True)
        if request.method != "POST":
            return self._back(version)
        try:
            services.script_version_publish(version=version)
        except services.ScriptInvalid as exc:
            messages.error(request, exc.message)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Version %(n)d is published; agents run it from now on.") % {"n": version.number},
            )
        return self._back(version)

    def duplicate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, write=True)
        if request.method != "POST":
            return self._back(version)
        draft = services.script_version_duplicate(version=version, created_by=request.user)
        messages.success(request, _("Version %(n)d is a new draft.") % {"n": draft.number})
        return self._back(draft)

    def retire_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, write=True)
        if request.method == "POST":
            try:
                services.script_version_retire(version=version)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Version %(n)d is retired.") % {"n": version.number})
        return self._back(version)

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, write=False)
        response = HttpResponse(
            script_export_json(version=version), content_type="application/json; charset=utf-8"
        )
        filename = f"{version.script.code}-v{version.number}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, write=False)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": version,
            "title": _("Results of %(version)s") % {"version": version},
            "results": version_results(version=version),
        }
        return TemplateResponse(request, "admin/scripting/scriptversion/results.html", context)

    def results_csv_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = self._version(request, pk, write=False)
        header, rows = run_rows_for_export(version=version)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{version.script.code}-v{version.number}-results.csv"'
        )
        response.write("\ufeff")  # spreadsheet programs then read UTF-8
        writer = csv.writer(response)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_cell(cell) for cell in row])
        return response

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Run the version in the admin; the state travels in the form, nothing is stored."""
        version = self._version(request, pk, write=False)
        flow = flow_for_version(version=version)
        state = _preview_state(request.POST.get("state", ""))
        account = None
        account_number = request.POST.get("account", request.GET.get("account", "")).strip()
        if account_number:
            account = (
                Account.objects.select_related("customer_group")
                .prefetch_related("addresses")
                .filter(customer_number=account_number)
                .first()
            )
        context = RunContext(
            account=account_context(account),
            campaign={"code": request.POST.get("campaign", "").strip()[:60]}
            if request.POST.get("campaign", "").strip()
            else {},
            agent={
                "name": _user(request).get_full_name() or _user(request).get_username(),
                "first_name": _user(request).first_name,
            },
            answers=state["answers"],
            answer_texts=state["texts"],
        )
        if account is not None:
            context.contact = {}
        error = ""
        path_keys: list[str] = [k for k in state["path"] if flow.get(k) is not None]
        if not path_keys and flow.start is not None:
            path_keys = [flow.start.key]
        action = request.POST.get("do", "")
        if request.method == "POST" and action == "restart":
            path_keys = [flow.start.key] if flow.start else []
            context.answers, context.answer_texts = {}, {}
        elif request.method == "POST" and action == "back" and len(path_keys) > 1:
            path_keys = path_keys[:-1]
        elif request.method == "POST" and action == "next" and path_keys:
            step = flow.get(path_keys[-1])
            assert step is not None
            try:
                parsed = answer_parse(step, request.POST.getlist("answer"))
                if step.is_question:
                    if parsed.value is None:
                        context.answers.pop(step.key, None)
                        context.answer_texts.pop(step.key, None)
                    else:
                        context.answers[step.key] = parsed.value
                        context.answer_texts[step.key] = parsed.display
                target = next_key(step, context)
                if target is None or flow.get(target) is None:
                    raise DomainError(_("The script does not say where to go from here."))
                path_keys.append(target)
            except DomainError as exc:
                error = exc.message
        current = flow.get(path_keys[-1]) if path_keys else None
        page = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": version,
            "title": _("Try %(version)s") % {"version": version},
            "flow": flow,
            "step": current,
            "text": render_html(current.text, context) if current else "",
            "step_title": render_html(current.title, context) if current else "",
            "given": context.answers.get(current.key) if current else None,
            "progress": progress(flow, path_keys),
            "can_go_back": len(path_keys) > 1,
            "error": error,
            "account_number": account_number,
            "account": account,
            "campaign": context.campaign.get("code", ""),
            "state": json.dumps(
                {"path": path_keys, "answers": context.answers, "texts": context.answer_texts}
            ),
            "answered": [
                (flow.get(k), context.answer_texts.get(k, ""))
                for k in path_keys[:-1]
                if flow.get(k) is not None and flow.get(k).is_question  # type: ignore[union-attr]
            ],
        }
        return render(request, "admin/scripting/scriptversion/preview.html", page)


def _preview_state(raw: str) -> dict[str, Any]:
    """The preview's state from its hidden field; anything malformed starts over."""
    empty: dict[str, Any] = {"path": [], "answers": {}, "texts": {}}
    if not raw:
        return empty
    try:
        data = json.loads(raw)
    except ValueError:
        return empty
    if not isinstance(data, dict):
        return empty
    path_keys = data.get("path")
    answers = data.get("answers")
    texts = data.get("texts")
    if not (
        isinstance(path_keys, list)
        and all(isinstance(k, str) for k in path_keys)
        and isinstance(answers, dict)
        and isinstance(texts, dict)
    ):
        return empty
    return {
        "path": path_keys[:500],
        "answers": answers,
        "texts": {str(k): str(v) for k, v in texts.items()},
    }


# -- one step with its answers, conditions and actions -----------------------------------------


class _StepChildInline(_SameVersionTargets, admin.TabularInline):
    extra = 0
    fk_name = "step"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        self.limit(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _editable(self, obj: Any) -> bool:
        return obj is None or _draft_only(obj.version)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class AnswerInline(_StepChildInline):
    model = Answer
    fields = ["position", "value", "label", "next_step"]


class BranchInline(_StepChildInline):
    model = Branch
    fields = ["position", "subject", "answer_key", "operator", "value", "next_step"]


class StepActionInline(_StepChildInline):
    model = StepAction
    fields = ["position", "kind", "value", "offer_list", "top_n"]


@admin.register(Step)
class StepAdmin(_SameVersionTargets, admin.ModelAdmin):
    list_display = ["key", "version", "position", "kind", "answer_type"]
    list_select_related = ["version", "version__script"]
    fields = [
        "version",
        "key",
        "position",
        "kind",
        "answer_type",
        "title",
        "text",
        "is_required",
        "next_step",
        "outcome",
        "offer_list",
        "offer_count",
    ]
    readonly_fields = ["version"]
    inlines = [AnswerInline, BranchInline, StepActionInline]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # steps are reached from their version

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # steps are added in their version's page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or _draft_only(obj.version)) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is None or _draft_only(obj.version)) and super().has_delete_permission(
            request, obj
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        request._scripting_version = obj.version if obj else None  # type: ignore[attr-defined]
        return obj

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        self.limit(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def response_change(self, request: HttpRequest, obj: Step) -> HttpResponse:
        if "_continue" in request.POST:
            return super().response_change(request, obj)
        return HttpResponseRedirect(
            reverse("admin:scripting_scriptversion_change", args=[obj.version_id])
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        step = Step.objects.select_related("version").filter(pk=object_id).first()
        if step is not None:
            refusal = services.step_delete_refusal(step)
            if refusal:
                messages.error(request, refusal)
                return HttpResponseRedirect(reverse("admin:scripting_step_change", args=[step.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Step) -> None:
        services.step_delete(step=obj)


# -- runs (read-only records) ------------------------------------------------------------------


class RunAnswerInline(admin.TabularInline):
    model = RunAnswer
    extra = 0
    fields = ["step", "display", "answered_at"]
    readonly_fields = ["step", "display", "answered_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScriptRun)
class ScriptRunAdmin(admin.ModelAdmin):
    list_display = ["id", "version", "agent", "account", "status", "outcome", "started_at"]
    list_filter = ["status", "source", "version__script"]
    list_select_related = ["version", "version__script", "agent", "account"]
    date_hierarchy = "started_at"
    inlines = [RunAnswerInline]
    readonly_fields = [
        "version",
        "agent",
        "interaction",
        "account",
        "contact",
        "source",
        "campaign",
        "status",
        "path",
        "outcome",
        "disposition",
        "lead_qualified",
        "offers",
        "action_results",
        "started_at",
        "finished_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
