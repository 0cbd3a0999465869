"""Admin for tickets, their categories, SLA calendars and policies, and outages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from accounts import sla
from accounts.models import (
    Appointment,
    BusinessCalendar,
    BusinessHours,
    CalendarClosure,
    Outage,
    OutageArea,
    ServiceRegion,
    ServiceSkill,
    SlaPolicy,
    Technician,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChange,
    TicketMessage,
)
from accounts.services import tickets as ticket_services
from icenter.errors import DomainError

# -- tickets, SLA calendars, outages -----------------------------------------------------------


class BusinessHoursFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """A calendar needs working hours, and one weekday's shifts must not overlap."""

    def clean(self) -> None:
        super().clean()
        shifts: dict[int, list[tuple[Any, Any]]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            start, end, day = data.get("starts_at"), data.get("ends_at"), data.get("weekday")
            if start is None or end is None or day is None:
                continue
            if end <= start:
                form.add_error("ends_at", _("A shift ends after it starts."))
                continue
            for other_start, other_end in shifts.get(day, []):
                if start < other_end and other_start < end:
                    form.add_error(
                        "starts_at", _("This shift overlaps another shift on the same day.")
                    )
            shifts.setdefault(day, []).append((start, end))
        if not shifts:
            raise forms.ValidationError(
                _(
                    "A calendar needs at least one working shift; "
                    "without working hours no SLA due date can be computed."
                )
            )


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    formset = BusinessHoursFormSet
    extra = 0


class CalendarClosureInline(admin.TabularInline):
    model = CalendarClosure
    extra = 0


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "holiday_country", "holiday_subdivision"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            sla.time_zone_check(data.get("time_zone") or "")
            sla.holiday_calendar_check(
                country=data.get("holiday_country") or "",
                subdivision=data.get("holiday_subdivision") or "",
            )
        except DomainError as exc:
            self.add_error(exc.extra.get("field"), exc.message)
        return data


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "time_zone", "holiday_country", "holiday_subdivision"]
    inlines = [BusinessHoursInline, CalendarClosureInline]


class SlaPolicyForm(forms.ModelForm):
    ticket_type = forms.ChoiceField(
        label=_("ticket type"),
        choices=[("", _("every type")), *Ticket.Type.choices],
        required=False,
    )
    priority = forms.ChoiceField(
        label=_("priority"),
        choices=[("", _("every priority")), *Ticket.Priority.choices],
        required=False,
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "calendar",
            "ticket_type",
            "priority",
            "first_response_minutes",
            "resolution_minutes",
            "warning_minutes",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, resolution = data.get("first_response_minutes"), data.get("resolution_minutes")
        for name in ("first_response_minutes", "resolution_minutes"):
            if data.get(name) == 0:
                self.add_error(name, _("A target must be at least one minute."))
        if first and resolution and first > resolution:
            self.add_error(
                "resolution_minutes",
                _("The resolution target cannot come before the first-response target."),
            )
        calendar = data.get("calendar")
        if calendar is not None and not calendar.hours.exists():
            self.add_error(
                "calendar", _("This calendar has no working hours; add shifts to it first.")
            )
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name",
        "ticket_type",
        "priority",
        "first_response_minutes",
        "resolution_minutes",
        "calendar",
        "is_active",
    ]
    list_filter = ["is_active", "calendar"]


class TicketCategoryForm(forms.ModelForm):
    class Meta:
        model = TicketCategory
        fields = ["name", "parent", "required_skill", "is_active"]

    def clean_parent(self) -> TicketCategory | None:
        parent = self.cleaned_data.get("parent")
        node = parent
        while node is not None:
            if self.instance.pk and node.pk == self.instance.pk:
                raise forms.ValidationError(_("A category cannot be placed below itself."))
            node = node.parent
        return parent


@admin.register(TicketCategory)
class TicketCategoryAdmin(admin.ModelAdmin):
    form = TicketCategoryForm
    list_display = ["__str__", "parent", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    list_select_related = ["parent", "parent__parent"]


class OutageAreaInline(admin.TabularInline):
    model = OutageArea
    extra = 1


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    list_display = ["reference", "title", "started_at", "expected_fix_at", "resolved_at", "source"]
    list_filter = ["source"]
    search_fields = ["reference", "title", "areas__postcode"]
    inlines = [OutageAreaInline]


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    extra = 0
    fields = readonly_fields = ("created_at", "author", "is_internal", "body")
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class TicketAttachmentInline(admin.TabularInline):
    model = TicketAttachment
    extra = 0
    fields = readonly_fields = ("name", "content_type", "size", "uploaded_by", "uploaded_at")
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class TicketChangeInline(admin.TabularInline):
    model = TicketChange
    extra = 0
    fields = readonly_fields = ("at", "actor", "action", "field", "old_value", "new_value")
    can_delete = False
    verbose_name_plural = _("audit trail")

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class TicketAdminForm(forms.ModelForm):
    class Meta:
        model = Ticket
        fields = [
            "subject",
            "type",
            "category",
            "priority",
            "status",
            "account",
            "contact",
            "assigned_agent",
            "assigned_group",
            "outage",
            "required_skill",
            "description",
        ]

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        old = self.instance.status
        if self.instance.pk and status != old and status not in Ticket.TRANSITIONS[old]:
            raise forms.ValidationError(
                _("A ticket that is “%(old)s” cannot become “%(new)s”.")
                % {"old": Ticket.Status(old).label, "new": Ticket.Status(status).label}
            )
        return str(status)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Managers and supervisors see and correct tickets; every change goes through the
    ticket services, so the audit trail and SLA stay complete."""

    form = TicketAdminForm
    list_display = [
        "number",
        "subject",
        "account",
        "status",
        "priority",
        "assigned_agent",
        "resolution_due_at",
        "is_escalated",
    ]
    list_filter = ["status", "type", "priority", "is_escalated", "category"]
    search_fields = ["number", "subject", "account__name", "account__customer_number"]
    list_select_related = ["account", "assigned_agent"]
    autocomplete_fields = ["account", "contact", "assigned_agent"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "number",
        "created_at",
        "created_by",
        "interaction",
        "sla_policy",
        "first_response_due_at",
        "first_responded_at",
        "resolution_due_at",
        "resolved_at",
        "closed_at",
        "is_escalated",
        "reopen_count",
        "version",
    ]
    inlines = [TicketMessageInline, TicketAttachmentInline, TicketChangeInline]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Tickets are business records with an audit trail: close them, never delete.
        return False

    def save_model(self, request: Any, obj: Ticket, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if not change:
                created = ticket_services.ticket_create(
                    account=data["account"],
                    subject=data["subject"],
                    description=data.get("description") or "",
                    created_by=request.user,
                    type=data["type"],
                    category=data.get("category"),
                    priority=data["priority"],
                    contact=data.get("contact"),
                    assigned_agent=data.get("assigned_agent"),
                    assigned_group=data.get("assigned_group"),
                    outage=data.get("outage"),
                )
                obj.pk = created.pk
                obj.refresh_from_db()
                return
            original = Ticket.objects.get(pk=obj.pk)
            changed = set(form.changed_data)
            simple = {
                name: data[name]
                for name in (
                    "subject",
                    "description",
                    "type",
                    "priority",
                    "category",
                    "contact",
                    "required_skill",
                )
                if name in changed
            }
            if simple:
                ticket_services.ticket_update(ticket=original, by=request.user, **simple)
            assignment = {
                key: data.get(field)
                for key, field in (("agent", "assigned_agent"), ("group", "assigned_group"))
                if field in changed
            }
            if assignment:
                ticket_services.ticket_assign(ticket=original, by=request.user, **assignment)
            if "outage" in changed:
                ticket_services.ticket_link_outage(
                    ticket=original, outage=data.get("outage"), by=request.user
                )
            if "status" in changed:
                ticket_services.ticket_set_status(
                    ticket=original, status=data["status"], by=request.user
                )
        except DomainError as exc:
            messages.error(request, exc.message)
        obj.refresh_from_db()


# -- technicians and appointments ----------------------------------------------------------------


class ServiceRegionForm(forms.ModelForm):
    class Meta:
        model = ServiceRegion
        fields = ["name", "postcode_prefixes"]

    def clean_postcode_prefixes(self) -> str:
        raw = self.cleaned_data.get("postcode_prefixes") or ""
        prefixes = [p.strip() for p in raw.split(",") if p.strip()]
        if not prefixes:
            raise forms.ValidationError(_("Give at least one postcode prefix."))
        wrong = [p for p in prefixes if not p.isdigit() or len(p) > 5]
        if wrong:
            raise forms.ValidationError(
                _("Postcode prefixes are up to five digits; not: %(wrong)s")
                % {"wrong": ", ".join(wrong)}
            )
        return ", ".join(prefixes)


@admin.register(ServiceRegion)
class ServiceRegionAdmin(admin.ModelAdmin):
    form = ServiceRegionForm
    list_display = ["name", "postcode_prefixes"]
    search_fields = ["name", "postcode_prefixes"]


@admin.register(ServiceSkill)
class ServiceSkillAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    search_fields = ["name"]


@admin.register(Technician)
class TechnicianAdmin(admin.ModelAdmin):
    list_display = ["name", "calendar", "is_active"]
    list_filter = ["is_active", "skills", "regions"]
    search_fields = ["name", "email"]
    filter_horizontal = ["skills", "regions"]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """Appointments are booked, moved and cancelled at the desk (conflict checks, confirmation,
    ticket trail); the admin shows them."""

    list_display = ["starts_at", "ends_at", "technician", "account", "ticket", "status"]
    list_filter = ["status", "technician"]
    date_hierarchy = "starts_at"
    search_fields = ["account__name", "ticket__number", "technician__name"]
    list_select_related = ["technician", "account", "ticket"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
