"""Audit events: append-only, each carrying the hash of the one before it."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One state change. Rows are never updated or deleted (PostgreSQL triggers refuse it).

    The actor and organisation are kept as plain ids plus a label, not foreign keys: the trail
    must outlive the rows it talks about, and a foreign key would either block deletions or
    cascade into the log.
    """

    created_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=200, blank=True)
    organisation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"
