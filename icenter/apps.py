from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Apps whose models managers author in the admin; supervisors may view them.
MANAGED_APPS = ("accounts", "telephony", "knowledge", "scripting", "campaigns", "erms", "authtoken")


def sync_role_permissions(**kwargs: Any) -> None:
    """Give the manager group every permission on the project's models, supervisors view."""
    from django.contrib.auth.models import Group, Permission

    perms = Permission.objects.filter(content_type__app_label__in=MANAGED_APPS)
    manager = Group.objects.filter(name="manager").first()
    if manager is not None:
        manager.permissions.add(*perms)
        # Managers create agents and give roles; IcenterUserAdmin keeps them from
        # granting superuser, staff or single permissions.
        manager.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="auth", content_type__model="user"
            ).exclude(codename="delete_user"),
            *Permission.objects.filter(content_type__app_label="auth", codename="view_group"),
        )
    supervisor = Group.objects.filter(name="supervisor").first()
    if supervisor is not None:
        supervisor.permissions.add(*perms.filter(codename__startswith="view_"))


class IcenterConfig(AppConfig):
    name = "icenter"
    verbose_name = "icenter"

    def ready(self) -> None:
        post_migrate.connect(sync_role_permissions, dispatch_uid="icenter.sync_role_permissions")
