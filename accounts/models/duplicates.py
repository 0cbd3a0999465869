"""Merges of duplicate accounts (audited, undoable) and who is looking at what right now."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.core import Account


class AccountMerge(models.Model):
    """One merge of a duplicate (source) into the account that stays (target).

    `moved` lists, per kind of record, the ids that moved from the source to the target;
    `removed` holds the source's contact points and addresses that were exact duplicates
    and were deleted, with their data. Together they are enough to undo the merge.
    """

    source = models.ForeignKey(
        Account, verbose_name=_("duplicate"), on_delete=models.PROTECT, related_name="merges_out"
    )
    target = models.ForeignKey(
        Account, verbose_name=_("kept account"), on_delete=models.PROTECT, related_name="merges_in"
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("merged"), default=timezone.now)
    moved = models.JSONField(_("moved records"), default=dict)
    removed = models.JSONField(_("removed duplicates"), default=dict)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("account merge")
        verbose_name_plural = _("account merges")

    def __str__(self) -> str:
        return f"{self.source_id} → {self.target_id}"


class Presence(models.Model):
    """An agent has an account or a ticket open at the desk (refreshed while it stays open)."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Account")
        TICKET = "ticket", _("Ticket")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    is_editing = models.BooleanField(default=False)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        indexes = [models.Index(fields=["kind", "object_id", "seen_at"], name="presence_lookup")]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "object_id"], name="presence_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.object_id}"
