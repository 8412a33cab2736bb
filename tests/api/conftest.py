"""A small market seen through API keys: the seeded organisations, orders at several stages and
keys with every scope, for fuzzing, cross-tenant checks and the client's end-to-end trade."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from exchange.participants.models import ApiKey, Membership
from exchange.participants.services import create_api_key
from exchange.trading.models import Order
from exchange.trading.services import open_dispute
from tests.trading.factories import Market

ALL_SCOPES = ["publish", "read", "trade"]


def issue_key(membership: Membership, name: str = "robot") -> tuple[ApiKey, str]:
    issued = create_api_key(
        actor=membership.user,
        organisation=membership.organisation,
        name=name,
        scopes=ALL_SCOPES,
    )
    return issued.key, issued.token


@dataclass
class Tenant:
    membership: Membership
    key: ApiKey
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.token}"}

    def refresh(self) -> None:
        """Fuzzing may revoke the key (a POST to its own revoke URL): issue a fresh one."""
        self.key.refresh_from_db()
        if self.key.unusable_reason():
            self.key, self.token = issue_key(self.membership)


@dataclass
class SeededMarket:
    market: Market
    buyer: Tenant
    seller: Tenant
    stranger: Tenant
    orders: dict[str, Order] = field(default_factory=dict)


def seed_market(market: Market) -> SeededMarket:
    plan = market.plan(price_fen=100_00)
    buyer = market.buyer(funds_fen=10_000_00)
    stranger = market.buyer(funds_fen=10_000_00)
    orders = {
        "created": market.order(buyer, plan),
        "signed": market.signed(buyer, plan),
        "funded": market.funded(buyer, plan),
        "delivered": market.delivered(buyer, plan),
    }
    disputed = market.delivered(buyer, plan)
    open_dispute(
        actor=buyer.user,
        organisation=buyer.organisation,
        order=disputed,
        reason="the file is empty",
        evidence=[],
    )
    orders["disputed"] = disputed
    # The stranger trades too, so every kind of object exists on both sides of the wall.
    orders["stranger"] = market.funded(stranger, plan)
    return SeededMarket(
        market=market,
        buyer=Tenant(buyer, *issue_key(buyer)),
        seller=Tenant(market.seller, *issue_key(market.seller)),
        stranger=Tenant(stranger, *issue_key(stranger)),
        orders=orders,
    )


@pytest.fixture
def market(db: None, local_storage: Any, settings: Any) -> Market:
    settings.PLATFORM_FEE_BPS = 500
    settings.DOWNLOAD_LINK_TTL_SECONDS = 300
    return Market(local_storage)


@pytest.fixture
def seeded(market: Market) -> SeededMarket:
    return seed_market(market)


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Requests served in-process (schemathesis' WSGI transport) must not close the test's
    database connection at request end, as Django's own test client also arranges."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def no_throttling(monkeypatch: Any) -> None:
    """Fuzzing sends far more requests a minute than any key may; 429 has its own test."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
