"""Uploads and their way through the pipeline."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Upload(models.Model):
    """One file a seller uploads for a version. The raw bytes live only in quarantine, under a
    generated key; the seller's file name is kept for display, never used as a key."""

    class Status(models.TextChoices):
        AWAITING = "awaiting_upload", _("awaiting upload")
        UPLOADED = "uploaded", _("uploaded")
        PROCESSING = "processing", _("processing")
        PUBLISHED = "published", _("published")
        REJECTED = "rejected", _("rejected")  # the file itself is bad: the seller must fix it
        FAILED = "failed", _("failed")  # the platform could not finish: retrying may help

    class Stage(models.TextChoices):
        UPLOAD = "upload", _("upload")
        VALIDATE = "validate", _("validate")
        PROFILE = "profile", _("profile")
        ANONYMISE = "anonymise", _("anonymise")
        PUBLISH = "publish", _("publish")
        DONE = "done", _("done")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.ForeignKey(
        "listings.ListingVersion", on_delete=models.CASCADE, related_name="uploads"
    )
    organisation = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="uploads"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    display_name = models.CharField(max_length=255)
    format = models.CharField(max_length=10)
    archive = models.CharField(max_length=5, blank=True)
    declared_size = models.BigIntegerField()
    size = models.BigIntegerField(null=True, blank=True)
    quarantine_key = models.CharField(max_length=300, unique=True)
    multipart_upload_id = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.UPLOAD)
    progress = models.FloatField(default=0.0)  # share of the current stage done, 0..1
    chunks_total = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error_reason = models.TextField(blank=True)
    # The uploader's language when the upload was registered: the pipeline words its refusals in
    # it (the site's default when empty).
    language = models.CharField(max_length=16, blank=True)
    policy = models.JSONField(null=True, blank=True)  # the seller's cleaning policy adjustments
    plan = models.JSONField(null=True, blank=True)  # pinned column classes, shared by all chunks
    report = models.JSONField(null=True, blank=True)
    raw_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    quarantine_purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="upload_status_idx")]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.PUBLISHED, self.Status.REJECTED, self.Status.FAILED)


class ChunkResult(models.Model):
    """The outcome of one chunk's anonymisation. Unique per (upload, index): a redelivered chunk
    task finds its row and does nothing twice."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    output_key = models.CharField(max_length=300)
    rows = models.BigIntegerField(default=0)
    report = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chunk result")
        verbose_name_plural = _("chunk results")
        constraints = [
            models.UniqueConstraint(fields=["upload", "index"], name="chunk_unique_per_upload")
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.upload_id}"


class DatasetKey(models.Model):
    """The salt from which a listing's pseudonym key is derived. The key itself is
    HMAC(PSEUDONYM_MASTER_KEY, salt): the database alone does not reveal it, and the same listing
    keeps the same key across versions so buyers' joins survive."""

    listing = models.OneToOneField(
        "listings.Listing", on_delete=models.CASCADE, related_name="pseudonym_key"
    )
    salt = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dataset key")
        verbose_name_plural = _("dataset keys")

    def __str__(self) -> str:
        return f"pseudonym key of listing {self.listing_id}"
