"""Synthetic trading scenarios: a seller with an approved version whose file sits in the
PUBLISHED area, price plans with licence offers, funded buyers, and orders at any stage."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from exchange.ledger import funding
from exchange.participants.models import Membership, User
from exchange.storage import Area, ObjectStorage
from exchange.trading import services
from exchange.trading.models import Order
from licensing import services as licensing
from licensing.models import LicenceTemplate
from listings.models import Listing, ListingVersion, PricePlan, VersionFile
from tests.factories import MembershipFactory, operator

_seq = itertools.count(1)


def member(role: str = "owner", **org: Any) -> Membership:
    org.setdefault("status", "verified")
    return MembershipFactory(role=role, **{f"organisation__{k}": v for k, v in org.items()})


class Market:
    """One seller, one listed dataset with v1 approved and published (one CSV file)."""

    def __init__(self, storage: ObjectStorage | None = None) -> None:
        self.storage = storage
        self.ops: User = operator()
        self.seller = member(name=f"数据卖方{next(_seq)}有限公司")
        self.listing = Listing.objects.create(
            seller=self.seller.organisation, title="城市交通流量数据集", status="listed"
        )
        self.v1 = self.version(1)

    def version(self, number: int, released: Any = None) -> ListingVersion:
        released = released or timezone.now() - timedelta(days=30)
        version = ListingVersion.objects.create(
            listing=self.listing,
            number=number,
            status=ListingVersion.Status.APPROVED,
            pipeline_status=ListingVersion.PipelineStatus.PUBLISHED,
            published_at=released - timedelta(hours=1),
            approved_at=released,
        )
        body = f"record_id,amount\nR-{number:04d},1.5\n".encode()
        key = f"listings/{self.listing.pk}/v{number}/data.csv"
        if self.storage is not None:
            self.storage.put_stream(Area.PUBLISHED, key, io.BytesIO(body))
        VersionFile.objects.create(
            version=version,
            name=f"traffic-v{number}.csv",
            format="csv",
            media_type="text/csv",
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            storage_key=key,
            row_count=1,
        )
        return version

    def plan(
        self,
        kind: str = "one_time",
        price_fen: int = 100_00,
        window_hours: int = 72,
        term_months: int | None = None,
    ) -> PricePlan:
        if kind == "free":
            price_fen = 0
        if kind == "subscription":
            term_months = term_months or 12
        plan = PricePlan.objects.create(
            listing=self.listing,
            kind=kind,
            price_fen=price_fen,
            term_months=term_months,
            acceptance_window_hours=window_hours,
        )
        licensing.create_offer(
            actor=self.seller.user,
            price_plan=plan,
            template=LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True),
            allowed={},
        )
        return plan

    def buyer(self, funds_fen: int = 1_000_00) -> Membership:
        buyer = member(name=f"数据买方{next(_seq)}有限公司", kind="buyer")
        if funds_fen:
            self.deposit(buyer, funds_fen)
        return buyer

    def deposit(self, buyer: Membership, amount_fen: int) -> None:
        funding.record_manual_deposit(
            operator=self.ops,
            organisation=buyer.organisation,
            amount_fen=amount_fen,
            reason="test funding",
        )

    # --- orders at each stage (through the services) ---

    def order(self, buyer: Membership, plan: PricePlan) -> Order:
        return services.create_order(
            actor=buyer.user, buyer=buyer.organisation, price_plan=plan, choices={}
        )

    def signed(self, buyer: Membership, plan: PricePlan) -> Order:
        order = self.order(buyer, plan)
        return services.sign_order(
            actor=buyer.user,
            organisation=buyer.organisation,
            order=order,
            signed_hash=order.contract.content_hash,
        )

    def funded(self, buyer: Membership, plan: PricePlan) -> Order:
        order = self.signed(buyer, plan)
        return services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)

    def delivered(self, buyer: Membership, plan: PricePlan) -> Order:
        order = self.funded(buyer, plan)
        return services.deliver_order(
            actor=self.seller.user, organisation=self.seller.organisation, order=order
        )
