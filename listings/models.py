"""Catalogue rows: listings (dataset products), their versions and files, and price plans.

Status lives in two places on purpose:

* a *version* moves draft → submitted → approved | rejected (a rejected version may be resubmitted);
  independently its `pipeline_status` (pending → running → published | failed) is filled by the
  upload pipeline, and a version can be submitted only once that is `published`;
* a *listing* is `draft` until its first version is approved, then `listed`; a regulator may
  `suspend` it (and reinstate it); the seller may `retire` it (terminal; licences stay valid).

Buyers see a listing when it is `listed` and either public or private to their organisation.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exchange.participants.models import Organisation


class Category(models.TextChoices):
    MEDICAL_HEALTH = "medical_health", _("medical and health")
    DRUG_RESEARCH = "drug_research", _("drug research")
    FINANCE_RISK = "finance_risk", _("finance and risk")
    TRANSPORT = "transport", _("transport")
    URBAN_MANAGEMENT = "urban_management", _("urban management")
    ENERGY = "energy", _("energy")
    AGRICULTURE = "agriculture", _("agriculture")
    EDUCATION = "education", _("education")
    COMMERCE = "commerce", _("commerce")
    GEOSPATIAL = "geospatial", _("geospatial")
    OTHER = "other", _("other")


class UpdateFrequency(models.TextChoices):
    ONCE = "once", _("one-off")
    CONTINUOUS = "continuous", _("continuous")
    DAILY = "daily", _("daily")
    WEEKLY = "weekly", _("weekly")
    MONTHLY = "monthly", _("monthly")
    QUARTERLY = "quarterly", _("quarterly")
    ANNUALLY = "annually", _("annually")
    IRREGULAR = "irregular", _("irregular")


class LicenceFamily(models.TextChoices):
    CDLA_PERMISSIVE_2 = "cdla-permissive-2.0", "CDLA-Permissive-2.0"
    CDLA_SHARING_1 = "cdla-sharing-1.0", "CDLA-Sharing-1.0"
    ODC_BY_1 = "odc-by-1.0", "ODC-By-1.0"
    CC_BY_4 = "cc-by-4.0", "CC-BY-4.0"
    COMMERCIAL = "commercial", _("commercial")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("public")
    PRIVATE = "private", _("private to named buyers")


class Listing(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        LISTED = "listed", _("listed")
        SUSPENDED = "suspended", _("suspended")
        RETIRED = "retired", _("retired")

    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="listings")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    description = models.TextField(_("description (Markdown)"), blank=True)
    # Rendered once on save (markdown + nh3) so pages and exports never render untrusted input.
    description_html = models.TextField(blank=True, editable=False)
    languages = models.JSONField(default=list, blank=True)  # BCP 47 tags, e.g. ["zh", "en"]
    category = models.CharField(max_length=32, choices=Category.choices, default=Category.OTHER)
    keywords = models.JSONField(default=list, blank=True)
    spatial_coverage = models.CharField(max_length=200, blank=True)
    temporal_start = models.DateField(null=True, blank=True)
    temporal_end = models.DateField(null=True, blank=True)
    update_frequency = models.CharField(
        max_length=16, choices=UpdateFrequency.choices, default=UpdateFrequency.ONCE
    )
    contact_name = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField(blank=True)
    documentation_links = models.JSONField(default=list, blank=True)  # [{"title", "url"}]
    licence_family = models.CharField(
        max_length=24, choices=LicenceFamily.choices, default=LicenceFamily.COMMERCIAL
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    allowed_buyers = models.ManyToManyField(
        Organisation, related_name="private_listings", blank=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    latest_version = models.ForeignKey(
        "ListingVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_listed_at = models.DateTimeField(null=True, blank=True)  # dct:issued

    # Denormalised for search and facets; maintained by listings.services, never by hand.
    search_document = models.TextField(blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)  # PostgreSQL only
    min_price_fen = models.BigIntegerField(null=True, blank=True, editable=False)
    formats = models.CharField(max_length=200, blank=True, editable=False)  # ",csv,parquet,"

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "visibility"], name="listing_status_vis_idx"),
            models.Index(fields=["category"], name="listing_category_idx"),
            models.Index(fields=["-first_listed_at"], name="listing_listed_at_idx"),
            models.Index(fields=["min_price_fen"], name="listing_min_price_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "listed", "suspended", "retired"]),
                name="listing_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=["public", "private"]), name="listing_visibility_valid"
            ),
            models.CheckConstraint(
                condition=Q(temporal_start__isnull=True)
                | Q(temporal_end__isnull=True)
                | Q(temporal_start__lte=models.F("temporal_end")),
                name="listing_temporal_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_listed(self) -> bool:
        return self.status == self.Status.LISTED


class ListingVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted for review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    class PipelineStatus(models.TextChoices):
        PENDING = "pending", _("waiting for upload")
        RUNNING = "running", _("processing")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    release_notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    review_reason = models.TextField(blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    # Filled by the upload pipeline through services.mark_version_published / _failed.
    pipeline_status = models.CharField(
        max_length=10, choices=PipelineStatus.choices, default=PipelineStatus.PENDING
    )
    pipeline_error = models.TextField(blank=True)
    table_schema = models.JSONField(null=True, blank=True)  # Frictionless Table Schema
    row_count = models.BigIntegerField(null=True, blank=True)
    sample_rows = models.JSONField(default=list, blank=True)  # anonymised
    cleaning_report = models.JSONField(null=True, blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Against the previous published version: {"added": [...], "removed": [...], "retyped": [...]}
    schema_diff = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("listing version")
        verbose_name_plural = _("listing versions")
        ordering = ["listing_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "number"], name="version_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "approved", "rejected"]),
                name="version_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(pipeline_status__in=["pending", "running", "published", "failed"]),
                name="version_pipeline_status_valid",
            ),
            # Nothing unpublished can be in review or approved.
            models.CheckConstraint(
                condition=Q(status="draft") | Q(pipeline_status="published"),
                name="version_reviewed_only_when_published",
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="version_review_idx")]

    def __str__(self) -> str:
        return f"{self.listing} v{self.number}"


class VersionFile(models.Model):
    """One published file of a version (in the storage PUBLISHED area, written by the pipeline)."""

    version = models.ForeignKey(ListingVersion, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    format = models.CharField(max_length=20)  # csv, xlsx, json, parquet...
    media_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=500)
    row_count = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("version file")
        verbose_name_plural = _("version files")
        ordering = ["version_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="version_file_name_unique"),
            models.CheckConstraint(condition=Q(size__gte=0), name="version_file_size_nonneg"),
        ]

    def __str__(self) -> str:
        return self.name


class PricePlan(models.Model):
    class Kind(models.TextChoices):
        ONE_TIME = "one_time", _("one-time purchase of a version")
        SUBSCRIPTION = "subscription", _("subscription (every version published in the term)")
        FREE = "free", _("free")

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="price_plans")
    name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    price_fen = models.BigIntegerField(default=0)  # CNY fen; never floats
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    acceptance_window_hours = models.PositiveIntegerField(default=72)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("price plan")
        verbose_name_plural = _("price plans")
        ordering = ["listing_id", "price_fen", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["one_time", "subscription", "free"]),
                name="price_plan_kind_valid",
            ),
            models.CheckConstraint(condition=Q(price_fen__gte=0), name="price_plan_price_nonneg"),
            models.CheckConstraint(
                condition=~Q(kind="free") | Q(price_fen=0), name="price_plan_free_is_zero"
            ),
            models.CheckConstraint(
                condition=Q(kind="free", price_fen=0) | Q(price_fen__gt=0),
                name="price_plan_paid_is_positive",
            ),
            models.CheckConstraint(
                condition=(Q(kind="subscription") & Q(term_months__gte=1))
                | (~Q(kind="subscription") & Q(term_months__isnull=True)),
                name="price_plan_term_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing} – {self.get_kind_display()} {self.price_yuan_text} CNY"

    @property
    def price_yuan_text(self) -> str:
        """ "123.45" from 12345 fen, by integer arithmetic (money is never a float)."""
        return f"{self.price_fen // 100}.{self.price_fen % 100:02d}"
