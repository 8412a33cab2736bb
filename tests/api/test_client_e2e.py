"""The API client end to end: `python -m exchange.client` as a subprocess against a live server,
trading as an automated buyer with a read+trade API key. Everything it does goes through the
real API, services, ledger and local storage links served by the app."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from exchange.ledger import services as ledger
from exchange.ledger.models import Transaction
from exchange.participants.models import Membership
from exchange.participants.services import create_api_key
from exchange.storage import reset_storage_cache
from exchange.trading.models import Order
from listings.models import Listing, PricePlan, VersionFile
from listings.services import refresh_derived
from tests.trading.factories import Market

ROOT = Path(__file__).resolve().parents[2]
PRICE_FEN = 100_00
FUNDS_FEN = 1_000_00


@dataclass
class Trade:
    market: Market
    plan: PricePlan
    buyer: Membership
    token: str
    base_url: str

    def run(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        # The key travels in the environment, as the docs recommend, never on the command line.
        env = {**os.environ, "EXCHANGE_API_KEY": self.token}
        return subprocess.run(
            [sys.executable, "-m", "exchange.client", "--base-url", self.base_url, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def run_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        done = self.run("--json", *args)
        assert self.token not in done.stdout + done.stderr
        return done.returncode, json.loads(done.stdout)

    def balances(self) -> tuple[int, int]:
        org = self.buyer.organisation
        return ledger.available_account(org).balance, ledger.escrow_account(org).balance


@pytest.fixture
def trade(
    transactional_db: None, live_server: Any, settings: Any, tmp_path: Path
) -> Iterator[Trade]:
    # Local storage whose signed links point at the live server (same process, same settings).
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_LOCAL_ROOT = tmp_path / "storage"
    settings.STORAGE_LOCAL_BASE_URL = live_server.url
    settings.PLATFORM_FEE_BPS = 500
    settings.DOWNLOAD_LINK_TTL_SECONDS = 300
    reset_storage_cache()
    from exchange.storage import get_storage

    market = Market(get_storage())
    plan = market.plan(price_fen=PRICE_FEN)
    searchable(market)
    buyer = market.buyer(funds_fen=FUNDS_FEN)
    issued = create_api_key(
        actor=buyer.user, organisation=buyer.organisation, name="robot", scopes=["read", "trade"]
    )
    yield Trade(market, plan, buyer, issued.token, live_server.url)
    reset_storage_cache()


def searchable(market: Market) -> None:
    """Market writes rows directly; index the listing as publishing and plan changes do."""
    with transaction.atomic():
        listing = Listing.objects.select_for_update().get(pk=market.listing.pk)
        listing.latest_version = market.v1
        listing.save(update_fields=["latest_version"])
        refresh_derived(listing)


def published(trade: Trade) -> VersionFile:
    return VersionFile.objects.get(version=trade.market.v1)


def test_an_automated_buyer_trades_step_by_step(trade: Trade, tmp_path: Path) -> None:
    listing_id = trade.market.listing.pk
    code, found = trade.run_json("search", "交通")
    assert code == 0, found
    assert [r["id"] for r in found["results"]] == [listing_id]

    key = "robot-purchase-0001"
    code, bought = trade.run_json("buy", str(listing_id), "--idempotency-key", key)
    assert code == 0, bought
    order_id = bought["order"]["id"]
    assert bought["order"]["status"] == "funded"
    assert bought["steps"] == ["ordered", "signed", "funded"]
    assert trade.balances() == (FUNDS_FEN - PRICE_FEN, PRICE_FEN)

    # The same purchase again (a retry after a lost answer): replayed, not paid twice.
    code, again = trade.run_json("buy", str(listing_id), "--idempotency-key", key)
    assert code == 0, again
    assert again["order"]["id"] == order_id and again["steps"] == ["order replayed"]
    assert Order.objects.filter(buyer=trade.buyer.organisation).count() == 1
    holds = Transaction.objects.filter(kind=Transaction.Kind.ESCROW_HOLD)
    assert holds.count() == 1
    assert trade.balances() == (FUNDS_FEN - PRICE_FEN, PRICE_FEN)

    code, waited = trade.run_json("wait", str(order_id), "--timeout", "10")
    assert code == 0 and waited["order"]["licence"], waited

    out = tmp_path / "downloads"
    code, downloaded = trade.run_json("download", str(order_id), "--out", str(out))
    assert code == 0, downloaded
    [entry] = downloaded["files"]
    path = Path(entry["path"])
    assert path.parent == out and path.name == "traffic-v1.csv"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == entry["sha256"] == published(trade).sha256
    assert sorted(p.name for p in out.iterdir()) == ["traffic-v1.csv"]  # no partial left
    assert Order.objects.get(pk=order_id).status == "delivered"

    code, accepted = trade.run_json("accept", str(order_id))
    assert code == 0, accepted
    order = Order.objects.get(pk=order_id)
    assert order.status == "settled" and order.outcome == "released"
    assert accepted["order"]["status"] == "settled"
    fee = PRICE_FEN * 500 // 10_000
    assert trade.balances() == (FUNDS_FEN - PRICE_FEN, 0)
    assert ledger.available_account(trade.market.seller.organisation).balance == PRICE_FEN - fee
    # Accepting again is done already, not an error; the money does not move again.
    code, _ = trade.run_json("accept", str(order_id))
    assert code == 0
    assert Transaction.objects.filter(kind=Transaction.Kind.ESCROW_RELEASE).count() == 1


def test_trade_in_one_go_with_human_output(trade: Trade, tmp_path: Path) -> None:
    out = tmp_path / "data"
    done = trade.run("trade", "交通", "--out", str(out), "--max-price-fen", str(PRICE_FEN))
    assert done.returncode == 0, done.stderr
    assert trade.token not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"listing {trade.market.listing.pk}: ")
    assert any(line.endswith("verified") for line in lines)
    assert "settled" in lines[-1]
    body = (out / "traffic-v1.csv").read_bytes()
    assert hashlib.sha256(body).hexdigest() == published(trade).sha256
    order = Order.objects.get(buyer=trade.buyer.organisation)
    assert order.status == "settled"


def test_a_tampered_checksum_fails_the_download_and_leaves_no_file(
    trade: Trade, tmp_path: Path
) -> None:
    code, bought = trade.run_json("buy", str(trade.market.listing.pk))
    assert code == 0, bought
    order_id = bought["order"]["id"]
    # The published checksum no longer matches the bytes in storage.
    VersionFile.objects.filter(version=trade.market.v1).update(sha256="0" * 64)

    out = tmp_path / "downloads"
    code, failed = trade.run_json("download", str(order_id), "--out", str(out))
    assert code == 5, failed
    assert failed["error"]["kind"] == "checksum_mismatch"
    assert list(out.iterdir()) == []


def test_trade_never_accepts_a_delivery_that_fails_its_checksum(
    trade: Trade, tmp_path: Path
) -> None:
    VersionFile.objects.filter(version=trade.market.v1).update(sha256="f" * 64)
    out = tmp_path / "data"
    done = trade.run("trade", "交通", "--out", str(out))
    assert done.returncode == 5, done.stdout + done.stderr
    assert "does not match the published" in done.stderr
    assert list(out.iterdir()) == []
    order = Order.objects.get(buyer=trade.buyer.organisation)
    # Delivered (links were issued), still in escrow: the buyer can dispute, the seller is unpaid.
    assert order.status == "delivered"
    assert trade.balances() == (FUNDS_FEN - PRICE_FEN, PRICE_FEN)


def test_api_errors_exit_3_in_the_api_format_without_the_key(trade: Trade) -> None:
    code, body = trade.run_json("buy", str(trade.market.listing.pk), "--plan", "999999")
    assert code == 1 and "no active plan 999999" in body["error"]["message"]
    code, body = trade.run_json("--lang", "en", "accept", "999999")
    assert code == 3
    assert body["error"]["api"] == {
        "status": 404,
        "type": "not_found",
        "code": "not_found",
        "message": "Not found.",
        "field_errors": {},
    }
    done = trade.run("--api-key", "dx_nope_wrong", "search", "交通")
    assert done.returncode == 3 and "authentication_error" in done.stderr
    assert "dx_nope_wrong" not in done.stdout + done.stderr
    assert trade.token not in done.stdout + done.stderr


def test_the_client_imports_no_django() -> None:
    probe = (
        "import sys, exchange.client.__main__; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
