"""User administration for managers: they create agents and give roles, nothing more."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import CustomerGroupAccess
from icenter import roles

# Only a superuser may grant these; managers would otherwise make themselves superusers.
PRIVILEGED_FIELDS = ("is_superuser", "is_staff", "user_permissions")


class CustomerGroupAccessInline(admin.TabularInline):
    """The customer groups (mandants) whose accounts and tickets the user works on."""

    model = CustomerGroupAccess
    extra = 1
    fields = ["customer_group", "read_only"]
    verbose_name = _("customer group access")
    verbose_name_plural = _(
        "Customer groups: agents and supervisors see only accounts without a customer group "
        "and those of the groups listed here (managers see all)"
    )


class IcenterUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "is_active", "roles"]
    list_filter = ["groups", "is_active", "is_staff", "customer_group_access__customer_group"]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return [] if obj is None else [CustomerGroupAccessInline]

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += list(PRIVILEGED_FIELDS)
        return fields

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=roles.ALL)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


admin.site.unregister(User)
admin.site.register(User, IcenterUserAdmin)


UPLOAD_MAX_BYTES = 10 * 1024 * 1024


def posted_text(request: HttpRequest) -> tuple[str, str]:
    """The text of an admin import form: the uploaded file ("file"), else the pasted "text".

    Returns (text, problem); the problem names a file that is too large or not UTF-8.
    """
    text = request.POST.get("text", "")
    upload = request.FILES.get("file")
    if upload is None:
        return text, ""
    if upload.size and upload.size > UPLOAD_MAX_BYTES:
        return text, str(_("The file is larger than 10 MB."))
    try:
        return upload.read().decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return text, str(_("The file is not UTF-8 text."))
