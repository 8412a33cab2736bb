"""Writes to the catalogue. Each runs in one transaction, locks rows in a fixed order
(listing before version) and records its audit event.

The lifecycle transitions all live here, in `VERSION_TRANSITIONS` / `LISTING_TRANSITIONS`:

    version:  draft → submitted → approved | rejected;  rejected → submitted (resubmit)
    listing:  draft → listed (first version approved) → suspended (regulator) ⇄ listed (reinstated)
              draft | listed | suspended → retired (seller; terminal, licences stay valid)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Min
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from exchange.audit.services import record
from exchange.participants.models import Membership, Organisation, User
from exchange.participants.services import ensure_not_frozen, membership_of
from exchange.status_words import status_word
from listings import schema_diff, search, search_cache
from listings.markdown import render_description
from listings.models import Listing, ListingVersion, PricePlan, VersionFile, Visibility
from listings.signals import version_released

VStatus = ListingVersion.Status
LStatus = Listing.Status
Pipeline = ListingVersion.PipelineStatus

VERSION_TRANSITIONS: dict[str, set[str]] = {
    VStatus.DRAFT: {VStatus.SUBMITTED},
    VStatus.SUBMITTED: {VStatus.APPROVED, VStatus.REJECTED},
    VStatus.REJECTED: {VStatus.SUBMITTED},
    VStatus.APPROVED: set(),
}
LISTING_TRANSITIONS: dict[str, set[str]] = {
    LStatus.DRAFT: {LStatus.LISTED, LStatus.RETIRED},
    LStatus.LISTED: {LStatus.SUSPENDED, LStatus.RETIRED},
    LStatus.SUSPENDED: {LStatus.LISTED, LStatus.RETIRED},
    LStatus.RETIRED: set(),
}

# Fields a seller may set on create/update; everything else is derived or lifecycle-owned.
EDITABLE_FIELDS = (
    "title",
    "summary",
    "description",
    "languages",
    "category",
    "keywords",
    "spatial_coverage",
    "temporal_start",
    "temporal_end",
    "update_frequency",
    "contact_name",
    "contact_email",
    "documentation_links",
    "licence_family",
    "visibility",
)


class IllegalTransition(ValidationError):
    """The object is not in a state that allows this step."""


def _check_transition(table: Mapping[str, set[str]], kind: str, current: str, target: str) -> None:
    if target not in table.get(current, set()):
        params = {"current": status_word(current), "target": status_word(target)}
        if kind == "listing":
            raise IllegalTransition(
                gettext("A listing that is %(current)s cannot become %(target)s.") % params
            )
        raise IllegalTransition(
            gettext("A version that is %(current)s cannot become %(target)s.") % params
        )


# --- who may do what ---------------------------------------------------------------------------


def _require_seller_member(
    actor: User, organisation: Organisation | None, listing: Listing | None = None
) -> Membership:
    """The actor acts for the listing's seller organisation and is one of its members."""
    if organisation is None:
        raise PermissionDenied(gettext("You act for no organisation."))
    if listing is not None and listing.seller_id != organisation.pk:
        raise PermissionDenied(gettext("Only the seller organisation may change this listing."))
    member = membership_of(actor, organisation)
    if member is None:
        raise PermissionDenied(gettext("You are not a member of this organisation."))
    return member


def _require_reviewer(actor: User, listing: Listing) -> None:
    if not (actor.is_regulator or actor.is_operator):
        raise PermissionDenied(
            gettext("Only a regulator or platform operator may review versions.")
        )
    # Nobody reviews their own organisation's data.
    if Membership.objects.filter(user=actor, organisation_id=listing.seller_id).exists():
        raise PermissionDenied(gettext("You may not review a listing of your own organisation."))


def _require_regulator(actor: User) -> None:
    if not actor.is_regulator:
        raise PermissionDenied(gettext("Only a regulator may suspend or reinstate a listing."))


# --- search index and denormalised fields ------------------------------------------------------


def search_fields(listing: Listing, column_names: Sequence[str] = ()) -> list[search.WeightedText]:
    return [
        search.WeightedText("A", [listing.title]),
        search.WeightedText("B", [str(k) for k in listing.keywords or []]),
        search.WeightedText("C", [listing.summary]),
        search.WeightedText("D", [listing.description, *column_names]),
    ]


def column_names_of(version: ListingVersion | None) -> list[str]:
    if version is None or not version.table_schema:
        return []
    names: list[str] = []
    for column in version.table_schema.get("fields") or []:
        if isinstance(column, dict):
            names.extend(str(column[k]) for k in ("name", "title") if column.get(k))
    return names


def refresh_derived(listing: Listing) -> None:
    """Recompute the search document, cheapest price and formats of one (locked) listing."""
    version = listing.latest_version
    fields = search_fields(listing, column_names_of(version))
    # PostgreSQL searches the tsvector; the plain token document serves the portable path only,
    # and leaving it out keeps PostgreSQL's rows narrow (faster scans for facets).
    postgres = connection.vendor == "postgresql"
    listing.search_document = "" if postgres else search.plain_document(fields)
    listing.min_price_fen = listing.price_plans.filter(active=True).aggregate(m=Min("price_fen"))[
        "m"
    ]
    formats = sorted(set(version.files.values_list("format", flat=True))) if version else []
    listing.formats = "," + ",".join(f.lower() for f in formats) + "," if formats else ""
    listing.save(update_fields=["search_document", "min_price_fen", "formats", "updated_at"])
    search_cache.invalidate()
    if postgres:
        Listing.objects.filter(pk=listing.pk).update(
            search_vector=RawSQL("%s::tsvector", [search.tsvector_literal(fields)])
        )


# Row locks here are FOR NO KEY UPDATE: these services never change a key, and trading
# transactions check their foreign keys to listings, versions and plans (KEY SHARE) at commit
# while holding the audit chain's lock, which these services take after their row locks. A plain
# FOR UPDATE would make the two wait for each other (a deadlock PostgreSQL then breaks).
def _lock_listing(listing: Listing) -> Listing:
    return Listing.objects.select_for_update(no_key=True).get(pk=listing.pk)


def _lock_version(version: ListingVersion) -> tuple[Listing, ListingVersion]:
    """Listing first, then the version: the one order every service uses."""
    listing = Listing.objects.select_for_update(no_key=True).get(pk=version.listing_id)
    return listing, ListingVersion.objects.select_for_update(no_key=True).get(pk=version.pk)


# --- listings ----------------------------------------------------------------------------------


def _apply_fields(listing: Listing, fields: Mapping[str, Any]) -> list[str]:
    unknown = set(fields) - set(EDITABLE_FIELDS) - {"allowed_buyers"}
    if unknown:
        raise ValidationError(
            {name: gettext("This field cannot be set.") for name in sorted(unknown)}
        )
    changed = []
    for name in EDITABLE_FIELDS:
        if name in fields and getattr(listing, name) != fields[name]:
            setattr(listing, name, fields[name])
            changed.append(name)
    if "description" in changed or not listing.description_html:
        listing.description_html = render_description(listing.description)
    listing.full_clean(exclude=["seller", "created_by", "latest_version"])
    return changed


def _set_allowed_buyers(listing: Listing, buyer_ids: Iterable[int] | None) -> bool:
    if buyer_ids is None:
        return False
    ids = sorted(set(buyer_ids))
    found = list(Organisation.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if len(found) != len(ids):
        raise ValidationError({"allowed_buyers": gettext("Unknown organisation.")})
    if listing.seller_id in ids:
        raise ValidationError({"allowed_buyers": gettext("The seller need not name itself.")})
    before = set(listing.allowed_buyers.values_list("pk", flat=True))
    listing.allowed_buyers.set(ids)
    return before != set(ids)


def _check_private(listing: Listing) -> None:
    if listing.visibility == Visibility.PRIVATE and not listing.allowed_buyers.exists():
        raise ValidationError(
            {
                "allowed_buyers": gettext(
                    "A private listing must name at least one buyer organisation."
                )
            }
        )


@transaction.atomic
def create_listing(
    *, actor: User, organisation: Organisation | None, allowed_buyers: Any = None, **fields: Any
) -> Listing:
    _require_seller_member(actor, organisation)
    assert organisation is not None
    ensure_not_frozen(organisation, gettext_noop("publish listings"))
    if not organisation.can_sell:
        raise PermissionDenied(
            gettext("This organisation is registered as a buyer only and cannot sell.")
        )
    listing = Listing(seller=organisation, created_by=actor)
    _apply_fields(listing, fields)
    listing.save()
    _set_allowed_buyers(listing, allowed_buyers)
    _check_private(listing)
    refresh_derived(listing)
    record(
        "listing.created",
        listing,
        actor=actor,
        organisation=organisation,
        changes={"title": listing.title, "category": listing.category},
    )
    return listing


@transaction.atomic
def update_listing(
    *,
    actor: User,
    organisation: Organisation | None,
    listing: Listing,
    allowed_buyers: Any = None,
    **fields: Any,
) -> Listing:
    _require_seller_member(actor, organisation, listing)
    assert organisation is not None
    ensure_not_frozen(organisation, gettext_noop("change listings"))
    locked = _lock_listing(listing)
    if locked.status == LStatus.RETIRED:
        raise IllegalTransition(gettext("A retired listing cannot be changed."))
    changed = _apply_fields(locked, fields)
    locked.save()
    if _set_allowed_buyers(locked, allowed_buyers):
        changed.append("allowed_buyers")
    _check_private(locked)
    refresh_derived(locked)
    if changed:
        # Field names only: descriptions and contacts are not audit material.
        record(
            "listing.updated",
            locked,
            actor=actor,
            organisation=organisation,
            changes={"fields": changed},
        )
    return locked


def _set_listing_status(
    listing: Listing, target: str, *, actor: User | None, reason: str, action: str
) -> None:
    _check_transition(LISTING_TRANSITIONS, "listing", listing.status, target)
    old = listing.status
    listing.status = target
    listing.status_reason = reason
    listing.status_changed_at = timezone.now()
    listing.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    search_cache.invalidate()
    record(
        action,
        listing,
        actor=actor,
        organisation=listing.seller_id,
        changes={"status": [old, target], "reason": reason},
    )


@transaction.atomic
def retire_listing(
    *, actor: User, organisation: Organisation | None, listing: Listing, reason: str = ""
) -> Listing:
    """The seller takes the listing off the catalogue for good. Licences already granted stay
    valid (licensing never looks at listing status to honour them)."""
    member = _require_seller_member(actor, organisation, listing)
    if not member.can_manage:
        raise PermissionDenied(
            gettext("Only an owner or admin of the seller may retire a listing.")
        )
    locked = _lock_listing(listing)
    _set_listing_status(
        locked, LStatus.RETIRED, actor=actor, reason=reason, action="listing.retired"
    )
    return locked


@transaction.atomic
def suspend_listing(*, actor: User, listing: Listing, reason: str) -> Listing:
    _require_regulator(actor)
    if not reason.strip():
        raise ValidationError({"reason": gettext("Say why the listing is suspended.")})
    locked = _lock_listing(listing)
    _set_listing_status(
        locked, LStatus.SUSPENDED, actor=actor, reason=reason, action="listing.suspended"
    )
    return locked


@transaction.atomic
def reinstate_listing(*, actor: User, listing: Listing, reason: str = "") -> Listing:
    _require_regulator(actor)
    locked = _lock_listing(listing)
    if locked.status != LStatus.SUSPENDED:
        raise IllegalTransition(
            gettext("A listing that is %(status)s cannot be reinstated.")
            % {"status": status_word(locked.status)}
        )
    _set_listing_status(
        locked, LStatus.LISTED, actor=actor, reason=reason, action="listing.reinstated"
    )
    return locked


# --- price plans -------------------------------------------------------------------------------


@transaction.atomic
def create_price_plan(
    *,
    actor: User,
    organisation: Organisation | None,
    listing: Listing,
    kind: str,
    price_fen: int = 0,
    term_months: int | None = None,
    acceptance_window_hours: int = 72,
    name: str = "",
) -> PricePlan:
    _require_seller_member(actor, organisation, listing)
    assert organisation is not None
    ensure_not_frozen(organisation, gettext_noop("change prices"))
    locked = _lock_listing(listing)
    if locked.status == LStatus.RETIRED:
        raise IllegalTransition(gettext("A retired listing cannot get new price plans."))
    plan = PricePlan(
        listing=locked,
        name=name,
        kind=kind,
        price_fen=price_fen,
        term_months=term_months,
        acceptance_window_hours=acceptance_window_hours,
    )
    errors: dict[str, str] = {}
    if kind == PricePlan.Kind.FREE and price_fen != 0:
        errors["price_fen"] = gettext("A free plan costs 0.")
    if kind != PricePlan.Kind.FREE and price_fen <= 0:
        errors["price_fen"] = gettext("A paid plan costs more than 0 fen.")
    if kind == PricePlan.Kind.SUBSCRIPTION and not term_months:
        errors["term_months"] = gettext("A subscription needs a term in months.")
    if kind != PricePlan.Kind.SUBSCRIPTION and term_months is not None:
        errors["term_months"] = gettext("Only subscriptions have a term.")
    if errors:
        raise ValidationError(errors)
    plan.full_clean(exclude=["listing"])
    plan.save()
    refresh_derived(locked)
    record(
        "price_plan.created",
        plan,
        actor=actor,
        organisation=organisation,
        changes={"listing_id": locked.pk, "kind": kind, "price_fen": price_fen},
    )
    return plan


@transaction.atomic
def deactivate_price_plan(
    *, actor: User, organisation: Organisation | None, plan: PricePlan
) -> PricePlan:
    """Plans are never deleted (orders and contracts point at them); they stop being offered."""
    locked_listing = _lock_listing(plan.listing)
    _require_seller_member(actor, organisation, locked_listing)
    locked = PricePlan.objects.select_for_update(no_key=True).get(pk=plan.pk)
    if locked.active:
        locked.active = False
        locked.save(update_fields=["active"])
        refresh_derived(locked_listing)
        record(
            "price_plan.deactivated",
            locked,
            actor=actor,
            organisation=organisation,
            changes={"listing_id": locked_listing.pk},
        )
    return locked


# --- versions ----------------------------------------------------------------------------------


@transaction.atomic
def create_version(
    *, actor: User, organisation: Organisation | None, listing: Listing, release_notes: str = ""
) -> ListingVersion:
    _require_seller_member(actor, organisation, listing)
    assert organisation is not None
    ensure_not_frozen(organisation, gettext_noop("publish new versions"))
    locked = _lock_listing(listing)  # serialises numbering
    if locked.status in (LStatus.RETIRED, LStatus.SUSPENDED):
        raise IllegalTransition(
            gettext("A %(status)s listing cannot get new versions.")
            % {"status": status_word(locked.status)}
        )
    last = locked.versions.order_by("-number").values_list("number", flat=True).first()
    version = ListingVersion.objects.create(
        listing=locked, number=(last or 0) + 1, release_notes=release_notes, created_by=actor
    )
    record(
        "listing.version_created",
        version,
        actor=actor,
        organisation=organisation,
        changes={"listing_id": locked.pk, "number": version.number},
    )
    return version


@dataclass(frozen=True)
class PublishedFile:
    """What the pipeline reports for each file it wrote to the PUBLISHED area."""

    name: str
    format: str
    size: int
    sha256: str
    storage_key: str
    media_type: str = ""
    row_count: int | None = None


def _previous_published(version: ListingVersion) -> ListingVersion | None:
    return (
        ListingVersion.objects.filter(
            listing_id=version.listing_id,
            number__lt=version.number,
            pipeline_status=Pipeline.PUBLISHED,
        )
        .order_by("-number")
        .first()
    )


@transaction.atomic
def mark_version_processing(version: ListingVersion) -> ListingVersion:
    """The pipeline has started. Idempotent; never moves a published version back."""
    _, locked = _lock_version(version)
    if locked.pipeline_status in (Pipeline.PENDING, Pipeline.FAILED):
        old = locked.pipeline_status
        locked.pipeline_status = Pipeline.RUNNING
        locked.pipeline_error = ""
        locked.save(update_fields=["pipeline_status", "pipeline_error"])
        record(
            "listing.version_processing",
            locked,
            changes={"pipeline_status": [old, Pipeline.RUNNING]},
        )
    return locked


@transaction.atomic
def mark_version_published(
    version: ListingVersion,
    *,
    files: Sequence[PublishedFile | Mapping[str, Any]],
    table_schema: dict[str, Any],
    row_count: int,
    sample_rows: list[Any],
    cleaning_report: dict[str, Any],
    engine_version: str,
) -> ListingVersion:
    """Record the pipeline's outputs. Idempotent: a redelivered task finds the version already
    published and changes nothing (the first result stands; outputs use fixed keys anyway)."""
    _, locked = _lock_version(version)
    if locked.pipeline_status == Pipeline.PUBLISHED:
        return locked
    if locked.status != VStatus.DRAFT:
        raise IllegalTransition("Only a draft version can receive pipeline results.")
    parsed = [f if isinstance(f, PublishedFile) else PublishedFile(**f) for f in files]
    if not parsed:
        raise ValidationError({"files": "A published version has at least one file."})
    locked.files.all().delete()  # leftovers of an earlier failed attempt, if any
    VersionFile.objects.bulk_create(
        VersionFile(
            version=locked,
            name=f.name,
            format=f.format.lower(),
            media_type=f.media_type,
            size=f.size,
            sha256=f.sha256.lower(),
            storage_key=f.storage_key,
            row_count=f.row_count,
        )
        for f in parsed
    )
    previous = _previous_published(locked)
    diff = schema_diff.diff_schemas(previous.table_schema if previous else None, table_schema)
    old = locked.pipeline_status
    locked.pipeline_status = Pipeline.PUBLISHED
    locked.pipeline_error = ""
    locked.table_schema = table_schema
    locked.row_count = row_count
    locked.sample_rows = sample_rows
    locked.cleaning_report = cleaning_report
    locked.engine_version = engine_version
    locked.published_at = timezone.now()
    locked.schema_diff = dict(diff) if previous else None
    locked.save()
    record(
        "listing.version_published",
        locked,
        organisation=locked.listing.seller_id,
        changes={
            "pipeline_status": [old, Pipeline.PUBLISHED],
            "files": [{"name": f.name, "sha256": f.sha256} for f in parsed],
            "row_count": row_count,
            "engine_version": engine_version,
            "schema_diff": schema_diff.summary(diff) if previous else None,
        },
    )
    return locked


@transaction.atomic
def mark_version_failed(version: ListingVersion, reason: str) -> ListingVersion:
    """The pipeline gave up. Idempotent; a published version stays published."""
    _, locked = _lock_version(version)
    if locked.pipeline_status in (Pipeline.PUBLISHED, Pipeline.FAILED):
        return locked
    old = locked.pipeline_status
    locked.pipeline_status = Pipeline.FAILED
    locked.pipeline_error = reason[:2000]
    locked.save(update_fields=["pipeline_status", "pipeline_error"])
    record(
        "listing.version_failed",
        locked,
        organisation=locked.listing.seller_id,
        changes={"pipeline_status": [old, Pipeline.FAILED], "reason": reason[:500]},
    )
    return locked


def _set_version_status(
    version: ListingVersion, target: str, *, actor: User, action: str, reason: str = ""
) -> None:
    _check_transition(VERSION_TRANSITIONS, "version", version.status, target)
    old = version.status
    version.status = target
    version.save()
    record(
        action,
        version,
        actor=actor,
        organisation=version.listing.seller_id,
        changes={
            "listing_id": version.listing_id,
            "number": version.number,
            "status": [old, target],
            "reason": reason,
        },
    )


@transaction.atomic
def submit_version(
    *, actor: User, organisation: Organisation | None, version: ListingVersion
) -> ListingVersion:
    listing, locked = _lock_version(version)
    _require_seller_member(actor, organisation, listing)
    assert organisation is not None
    ensure_not_frozen(organisation, gettext_noop("submit versions for review"))
    if listing.status in (LStatus.RETIRED, LStatus.SUSPENDED):
        raise IllegalTransition(
            gettext("A %(status)s listing cannot have versions submitted.")
            % {"status": status_word(listing.status)}
        )
    if locked.pipeline_status != Pipeline.PUBLISHED:
        raise IllegalTransition(
            gettext(
                "A version can be submitted only once its upload has been processed and "
                "published (it is %(status)s)."
            )
            % {"status": status_word(locked.pipeline_status)}
        )
    locked.listing = listing
    locked.submitted_at = timezone.now()
    _set_version_status(locked, VStatus.SUBMITTED, actor=actor, action="listing.version_submitted")
    return locked


@transaction.atomic
def approve_version(*, actor: User, version: ListingVersion, reason: str = "") -> ListingVersion:
    listing, locked = _lock_version(version)
    _require_reviewer(actor, listing)
    ensure_not_frozen(listing.seller, gettext_noop("have versions approved"))
    if listing.status in (LStatus.RETIRED, LStatus.SUSPENDED):
        raise IllegalTransition(
            gettext("A version of a %(status)s listing cannot be approved.")
            % {"status": status_word(listing.status)}
        )
    now = timezone.now()
    locked.listing = listing
    locked.reviewed_at = locked.approved_at = now
    locked.reviewed_by = actor
    locked.review_reason = reason
    _set_version_status(
        locked, VStatus.APPROVED, actor=actor, action="listing.version_approved", reason=reason
    )
    if listing.latest_version_id is None or (
        listing.latest_version is not None and listing.latest_version.number < locked.number
    ):
        listing.latest_version = locked
        listing.save(update_fields=["latest_version", "updated_at"])
    if listing.status == LStatus.DRAFT:
        listing.first_listed_at = now
        listing.save(update_fields=["first_listed_at"])
        _set_listing_status(
            listing, LStatus.LISTED, actor=actor, reason="", action="listing.listed"
        )
    refresh_derived(listing)
    diff = locked.schema_diff
    transaction.on_commit(
        lambda: version_released.send(sender=ListingVersion, version=locked, schema_diff=diff)
    )
    return locked


@transaction.atomic
def reject_version(*, actor: User, version: ListingVersion, reason: str) -> ListingVersion:
    listing, locked = _lock_version(version)
    _require_reviewer(actor, listing)
    if not reason.strip():
        raise ValidationError({"reason": gettext("Say why the version is rejected.")})
    locked.listing = listing
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = actor
    locked.review_reason = reason
    _set_version_status(
        locked, VStatus.REJECTED, actor=actor, action="listing.version_rejected", reason=reason
    )
    return locked
