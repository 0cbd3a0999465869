"""Admin for accounts, contacts, contact points and the interaction history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Account,
    AccountMerge,
    Address,
    Contact,
    ContactPoint,
    CustomerGroup,
    CustomerGroupAccess,
    Interaction,
)
from accounts.services import account_merge, account_merge_undo, contact_point_normalize
from icenter.errors import DomainError


class ContactPointForm(forms.ModelForm):
    class Meta:
        model = ContactPoint
        fields = ["kind", "value", "label", "contact", "is_switchboard"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") and data.get("value"):
            try:
                self.instance.normalized = contact_point_normalize(
                    kind=data["kind"], value=data["value"]
                )
            except DomainError as exc:
                self.add_error("value", exc.message)
        return data


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    form = ContactPointForm
    extra = 0
    fields = ["kind", "value", "label", "contact", "is_switchboard", "normalized"]
    readonly_fields = ["normalized"]


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "customer_number", "kind", "is_vip", "customer_group", "assigned_agent"]
    list_filter = ["kind", "is_vip", "customer_group"]
    search_fields = ["name", "customer_number", "contact_points__normalized"]
    list_select_related = ["customer_group", "assigned_agent"]
    autocomplete_fields = ["assigned_agent"]
    inlines = [ContactInline, ContactPointInline, AddressInline]


class CustomerGroupAccessInline(admin.TabularInline):
    model = CustomerGroupAccess
    extra = 1
    fields = ["user", "read_only"]
    autocomplete_fields = ["user"]
    verbose_name_plural = _(
        "Access: the agents and supervisors who see this group's accounts and tickets "
        "(managers see all)"
    )


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "users_with_access"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [CustomerGroupAccessInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerGroup]:
        return super().get_queryset(request).annotate(users=Count("access"))

    @admin.display(description=_("users with access"), ordering="users")
    def users_with_access(self, obj: Any) -> int:
        return int(obj.users)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["full_name", "account", "position"]
    search_fields = ["last_name", "first_name", "account__name"]
    autocomplete_fields = ["account"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["started_at", "channel", "direction", "account", "agent", "outcome"]
    list_filter = ["channel", "direction", "outcome"]
    date_hierarchy = "started_at"
    search_fields = ["account__name", "address", "subject"]
    autocomplete_fields = ["account", "contact", "agent"]
    list_select_related = ["account", "agent"]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # The interaction history is append-only.
        return False


admin.site.empty_value_display = "–"


# -- duplicates -------------------------------------------------------------------------------


@admin.action(description=_("Merge the two selected accounts (the older one stays)"))
def merge_selected(modeladmin: admin.ModelAdmin, request: Any, queryset: Any) -> None:
    accounts = list(queryset.order_by("created_at", "pk")[:3])
    if len(accounts) != 2:
        modeladmin.message_user(
            request, _("Select exactly two accounts to merge."), level=messages.ERROR
        )
        return
    target, source = accounts
    try:
        account_merge(source=source, target=target, by=request.user)
    except DomainError as exc:
        modeladmin.message_user(request, exc.message, level=messages.ERROR)
        return
    modeladmin.message_user(
        request,
        _("%(source)s was merged into %(target)s.") % {"source": source, "target": target},
    )


AccountAdmin.actions = [merge_selected]  # type: ignore[misc]


@admin.action(description=_("Undo the selected merges"))
def undo_merges(modeladmin: admin.ModelAdmin, request: Any, queryset: Any) -> None:
    for merge in queryset:
        try:
            account_merge_undo(merge=merge, by=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, f"{merge}: {exc.message}", level=messages.ERROR)


@admin.register(AccountMerge)
class AccountMergeAdmin(admin.ModelAdmin):
    """The audit of merges: who merged which duplicate into which account, and when."""

    list_display = ["merged_at", "source", "target", "merged_by", "undone_at"]
    list_select_related = ["source", "target", "merged_by"]
    search_fields = ["source__name", "target__name"]
    actions = [undo_merges]
    readonly_fields = [
        "source",
        "target",
        "merged_by",
        "merged_at",
        "moved",
        "removed",
        "undone_at",
        "undone_by",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
