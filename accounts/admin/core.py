"""Admin for accounts, contacts, contact points and the interaction history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from accounts.models import (
    Account,
    Address,
    Contact,
    ContactPoint,
    CustomerGroup,
    Interaction,
)
from accounts.services import contact_point_normalize
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


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


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
