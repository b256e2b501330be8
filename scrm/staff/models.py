"""Per-brand staff records: the audit log and the worker's proof of life in this schema."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who changed what: staff, roles, configuration, merges, data requests."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept if the user is deleted
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [GinIndex(fields=["changes"], name="audit_changes_gin")]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.object_repr}"


class BrandHeartbeat(models.Model):
    """One row per brand schema, touched by a fanned-out Celery task: proves a worker ran
    in *this* brand's schema (the system page shows it; the isolation test reads it)."""

    key = models.CharField(max_length=32, unique=True, default="worker")
    beats = models.PositiveIntegerField(default=0)
    last_beat_at = models.DateTimeField(null=True)
    last_worker = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.beats} beats, last {self.last_beat_at}"
