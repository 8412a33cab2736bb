"""A seller with a listed dataset published through the real pipeline, and a funded buyer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.participants.models import Membership
from exchange.portal import demo
from licensing import services as licensing
from licensing.models import LicenceTemplate
from listings import services
from listings.models import Listing, ListingVersion, PricePlan
from tests.factories import MembershipFactory, operator


@dataclass
class Market:
    seller: Membership
    buyer: Membership
    operator: Any
    listing: Listing
    version: ListingVersion
    plan: PricePlan
    secrets: set[str]


def member(kind: str, name: str) -> Membership:
    return MembershipFactory(
        role="owner",
        organisation__kind=kind,
        organisation__status="verified",
        organisation__name=name,
    )


def listed_market(*, price_fen: int = 500_00, title: str = "门诊就诊记录样本") -> Market:
    seller = member("seller", "华康医疗数据科技有限公司")
    buyer = member("buyer", "测试买方研究院")
    staff = operator()
    listing = services.create_listing(
        actor=seller.user,
        organisation=seller.organisation,
        title=title,
        summary="脱敏后的门诊记录",
        category="medical_health",
        keywords=["门诊", "医疗"],
        licence_family="commercial",
    )
    data, secrets = demo.pii_csv("medical", rows=40, seed=3)
    with demo.eager_pipeline():
        version = demo.publish_file(
            actor=seller.user,
            organisation=seller.organisation,
            listing=listing,
            filename="records.csv",
            data=data,
        )
    assert version.pipeline_status == "published", version.pipeline_error
    plan = services.create_price_plan(
        actor=seller.user,
        organisation=seller.organisation,
        listing=listing,
        kind="one_time",
        price_fen=price_fen,
    )
    licensing.create_offer(
        actor=seller.user,
        price_plan=plan,
        template=LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True),
        allowed={},
    )
    services.submit_version(actor=seller.user, organisation=seller.organisation, version=version)
    services.approve_version(actor=staff, version=version, reason="ok")
    listing.refresh_from_db()
    return Market(seller, buyer, staff, listing, version, plan, secrets)
