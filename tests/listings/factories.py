"""Synthetic catalogue data built through the services (so derived fields and audit are real)."""

from __future__ import annotations

import hashlib
from typing import Any

from exchange.participants.models import Membership, Organisation
from listings import services
from listings.models import Listing, ListingVersion
from tests.factories import MembershipFactory, regulator

DEFAULT_SCHEMA = {
    "fields": [
        {"name": "record_id", "type": "string"},
        {"name": "visit_date", "type": "date"},
        {"name": "amount", "type": "number"},
    ],
    "primaryKey": ["record_id"],
}


def seller_member(role: str = "owner", **org: Any) -> Membership:
    org.setdefault("status", "verified")
    return MembershipFactory(role=role, **{f"organisation__{k}": v for k, v in org.items()})


def make_listing(member: Membership, **fields: Any) -> Listing:
    fields.setdefault("title", "测试数据集")
    return services.create_listing(actor=member.user, organisation=member.organisation, **fields)


def publish(
    version: ListingVersion,
    *,
    schema: dict[str, Any] | None = None,
    fmt: str = "csv",
    name: str | None = None,
) -> ListingVersion:
    """What the pipeline does when it finishes: files, schema, sample, report."""
    body = f"{version.pk}-{fmt}".encode()
    return services.mark_version_published(
        version,
        files=[
            services.PublishedFile(
                name=name or f"data-v{version.number}.{fmt}",
                format=fmt,
                size=1234,
                sha256=hashlib.sha256(body).hexdigest(),
                storage_key=f"published/{version.listing_id}/{version.number}/data.{fmt}",
                row_count=10,
            )
        ],
        table_schema=schema if schema is not None else DEFAULT_SCHEMA,
        row_count=10,
        sample_rows=[{"record_id": "R-0001", "visit_date": "2024-01-01", "amount": "1.5"}],
        cleaning_report={"columns": [], "rows": 10},
        engine_version="test-1",
    )


def new_version(member: Membership, listing: Listing, notes: str = "") -> ListingVersion:
    return services.create_version(
        actor=member.user, organisation=member.organisation, listing=listing, release_notes=notes
    )


def listed(
    member: Membership,
    reviewer: Any = None,
    *,
    schema: dict[str, Any] | None = None,
    fmt: str = "csv",
    plans: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Listing:
    """A listing with one approved version (so it shows in the catalogue)."""
    listing = make_listing(member, **fields)
    for plan in plans or []:
        services.create_price_plan(
            actor=member.user, organisation=member.organisation, listing=listing, **plan
        )
    version = publish(new_version(member, listing), schema=schema, fmt=fmt)
    services.submit_version(actor=member.user, organisation=member.organisation, version=version)
    services.approve_version(actor=reviewer or regulator(), version=version)
    listing.refresh_from_db()
    return listing


def buyer_org(**kwargs: Any) -> Organisation:
    return MembershipFactory(organisation__kind="buyer", **kwargs).organisation
