"""Synthetic licensing scenarios built with plain rows (catalogue) and the licensing services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from exchange.participants.models import Membership
from licensing import services
from licensing.models import Contract, Licence, LicenceTemplate, Offer
from listings.models import Listing, ListingVersion, PricePlan
from tests.factories import MembershipFactory


def member(role: str = "owner", **org: Any) -> Membership:
    org.setdefault("status", "verified")
    return MembershipFactory(role=role, **{f"organisation__{k}": v for k, v in org.items()})


def listing_for(seller: Membership, **fields: Any) -> Listing:
    fields.setdefault("title", "城市交通流量数据集")
    fields.setdefault("status", Listing.Status.LISTED)
    return Listing.objects.create(seller=seller.organisation, **fields)


def approved_version(
    listing: Listing, number: int, released: datetime | None = None
) -> ListingVersion:
    released = released or timezone.now() - timedelta(days=30)
    return ListingVersion.objects.create(
        listing=listing,
        number=number,
        status=ListingVersion.Status.APPROVED,
        pipeline_status=ListingVersion.PipelineStatus.PUBLISHED,
        published_at=released - timedelta(hours=1),
        approved_at=released,
    )


def plan_for(listing: Listing, kind: str = "one_time", **fields: Any) -> PricePlan:
    if kind == "free":
        fields.setdefault("price_fen", 0)
    else:
        fields.setdefault("price_fen", 1_000_00)
    if kind == "subscription":
        fields.setdefault("term_months", 12)
    return PricePlan.objects.create(listing=listing, kind=kind, **fields)


def template(key: str) -> LicenceTemplate:
    return LicenceTemplate.objects.get(key=key, is_current=True)


def offer_for(
    seller: Membership, plan: PricePlan, key: str = "commercial-internal-use", **allowed: Any
) -> Offer:
    return services.create_offer(
        actor=seller.user,
        price_plan=plan,
        template=template(key),
        allowed=allowed,
        ip="198.51.100.7",
        user_agent="pytest-seller",
    )


def signed_contract(offer: Offer, buyer: Membership, **choices: Any) -> Contract:
    contract = services.create_contract(
        offer=offer, buyer_org=buyer.organisation, actor=buyer.user, choices=choices
    )
    services.sign_contract(
        contract=contract,
        actor=buyer.user,
        organisation=buyer.organisation,
        signed_hash=contract.content_hash,
        ip="203.0.113.9",
        user_agent="pytest-buyer",
    )
    contract.refresh_from_db()
    return contract


class Scenario:
    """A seller with a listed dataset (v1 approved), a buyer, and handy builders."""

    def __init__(self) -> None:
        self.seller = member(name="测试数据供应有限公司")
        self.buyer = member(name="测试数据买方有限公司")
        self.listing = listing_for(self.seller)
        self.v1 = approved_version(self.listing, 1)

    def licence(
        self,
        *,
        kind: str = "one_time",
        key: str = "commercial-internal-use",
        starts_at: datetime | None = None,
        allowed: dict[str, Any] | None = None,
        **choices: Any,
    ) -> Licence:
        plan = plan_for(self.listing, kind)
        offer = offer_for(self.seller, plan, key, **(allowed or {}))
        contract = signed_contract(offer, self.buyer, **choices)
        return services.issue_licence(contract=contract, starts_at=starts_at)
