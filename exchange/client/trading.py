"""A buyer's trade over the API: search, buy (order, sign, fund), wait, download, accept.

Each step is safe to run again. `buy` derives one Idempotency-Key per POST from the logical
operation's key, so re-running it with the same key replays the order and the funding instead
of paying twice; it also reads the order's state and skips what is already done. `accept` treats
an order that is already accepted or settled as done.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exchange.client.files import (
    ChecksumMismatch,
    Downloaded,
    LinkExpired,
    fetch_verified,
    safe_name,
)
from exchange.client.http import ApiClient, ApiError, ClientError

#: Order states in which the licence is issued and files can be fetched (or already were).
READY = frozenset({"funded", "delivered", "accepted", "settled"})
#: States from which an order will never become ready.
DEAD = frozenset({"cancelled", "disputed", "resolved"})
DONE = frozenset({"accepted", "settled"})


class TradeError(ClientError):
    """The trade cannot go on (no plan to buy, order cancelled...)."""


class WaitTimeout(ClientError):
    pass


@dataclass
class Purchase:
    order: dict[str, Any]
    idempotency_key: str
    steps: list[str] = field(default_factory=list)  # what this run did: created, signed, funded


def new_key() -> str:
    return str(uuid.uuid4())


def step_key(operation_key: str, step: str) -> str:
    # One key per POST: the server compares method, path and body under a key, so the order
    # creation and its funding cannot share one. Derived, so a re-run derives the same keys.
    return f"{operation_key}:{step}"


class Trader:
    def __init__(
        self,
        api: ApiClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.sleep = sleep
        self.clock = clock

    # --- reading -------------------------------------------------------------------------------

    def search(self, query: str, *, page_size: int = 20, **filters: Any) -> list[dict[str, Any]]:
        body = self.api.get("listings/", {"q": query, "page_size": page_size, **filters})
        return list(body["results"])

    def listing(self, listing_id: int) -> dict[str, Any]:
        return dict(self.api.get(f"listings/{listing_id}/"))

    def order(self, order_id: int) -> dict[str, Any]:
        return dict(self.api.get(f"orders/{order_id}/"))

    def wallet(self) -> dict[str, Any]:
        return dict(self.api.get("wallet/"))

    def choose_plan(self, listing: Mapping[str, Any], plan_id: int | None) -> dict[str, Any]:
        plans = [p for p in listing.get("price_plans", []) if p.get("active", True)]
        if plan_id is not None:
            for plan in plans:
                if plan["id"] == plan_id:
                    return dict(plan)
            raise TradeError(f"listing {listing['id']} offers no active plan {plan_id}")
        if len(plans) == 1:
            return dict(plans[0])
        if not plans:
            raise TradeError(f"listing {listing['id']} has no active price plan")
        ids = ", ".join(str(p["id"]) for p in plans)
        raise TradeError(f"listing {listing['id']} has several plans ({ids}): choose one")

    # --- buying --------------------------------------------------------------------------------

    def buy(
        self,
        listing_id: int | None = None,
        *,
        plan_id: int | None = None,
        choices: Mapping[str, Any] | None = None,
        order_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Purchase:
        """Order (unless `order_id` names one), sign the contract hash shown, fund from the
        wallet. Returns the funded order."""
        key = idempotency_key or new_key()
        purchase = Purchase(order={}, idempotency_key=key)
        if order_id is not None:
            order = self.order(order_id)
        else:
            if listing_id is None:
                raise TradeError("name a listing or an order")
            plan = self.choose_plan(self.listing(listing_id), plan_id)
            reply = self.api.request(
                "POST",
                "orders/",
                body={"price_plan": plan["id"], "choices": dict(choices or {})},
                idempotency_key=step_key(key, "order"),
            )
            order = reply.data
            if reply.replayed:
                # The replay shows the order as first created; later steps may have happened.
                order = self.order(int(order["id"]))
                purchase.steps.append("order replayed")
            else:
                purchase.steps.append("ordered")
        if order["status"] == "created":
            order = self._sign(order)
            purchase.steps.append("signed")
        if order["status"] == "signed":
            reply = self.api.request(
                "POST", f"orders/{order['id']}/fund/", idempotency_key=step_key(key, "fund")
            )
            order = reply.data
            purchase.steps.append("funding replayed" if reply.replayed else "funded")
        if order["status"] not in READY:
            raise TradeError(f"order {order['id']} is {order['status']}, not funded")
        purchase.order = order
        return purchase

    def _sign(self, order: Mapping[str, Any]) -> dict[str, Any]:
        # Sign exactly the hash the API showed us with the order (the frozen contract text).
        try:
            return dict(
                self.api.post(
                    f"orders/{order['id']}/sign/",
                    {"contract_hash": order["contract"]["content_hash"]},
                )
            )
        except ApiError as error:
            # Already signed by an earlier run whose answer we never saw: carry on from there.
            if error.status == 409:
                return self.order(int(order["id"]))
            raise

    # --- after funding -------------------------------------------------------------------------

    def wait_for_delivery(
        self, order_id: int, *, timeout: float = 300.0, poll: float = 2.0
    ) -> dict[str, Any]:
        """Poll until the order's files can be fetched (funded, licence issued) or later."""
        deadline = self.clock() + timeout
        while True:
            order = self.order(order_id)
            if order["status"] in READY and order.get("licence"):
                return order
            if order["status"] in DEAD:
                raise TradeError(f"order {order_id} is {order['status']}: nothing to wait for")
            if self.clock() >= deadline:
                raise WaitTimeout(f"order {order_id} still {order['status']} after {timeout:g}s")
            self.sleep(poll)

    def download_links(self, order_id: int, version: int | None = None) -> dict[str, Any]:
        body = {} if version is None else {"version": version}
        # Asking again only issues fresh links (each recorded); no money moves.
        return dict(self.api.post(f"orders/{order_id}/download-links/", body, retry_safe=True))

    def download(
        self, order_id: int, out_dir: Path, *, version: int | None = None
    ) -> list[Downloaded]:
        """Fetch every file the licence covers into `out_dir`, each verified against the
        SHA-256 the API publishes; a mismatch raises ChecksumMismatch and leaves no file."""
        out_dir.mkdir(parents=True, exist_ok=True)
        links = self.download_links(order_id, version)["links"]
        done: list[Downloaded] = []
        for index, link in enumerate(links):
            name = safe_name(str(link["file"]), f"file-{link['id']}")
            if len(links) > 1 and any(lk["version"] != link["version"] for lk in links):
                name = f"v{link['version']}-{name}"
            target = out_dir / name
            try:
                done.append(self._fetch(link, target))
            except LinkExpired:
                # Links live minutes: a slow earlier file may have outlived this one's.
                fresh = self.download_links(order_id, version)["links"]
                done.append(self._fetch(fresh[index], target))
        return done

    def _fetch(self, link: Mapping[str, Any], target: Path) -> Downloaded:
        return fetch_verified(
            str(link["url"]),
            target,
            expected_sha256=str(link["sha256"]),
            expected_size=link.get("size"),
            timeout=self.api.timeout,
        )

    def accept(self, order_id: int, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Accept the delivery (escrow goes to the seller). Already accepted counts as done."""
        try:
            return dict(
                self.api.post(
                    f"orders/{order_id}/accept/", idempotency_key=idempotency_key or new_key()
                )
            )
        except ApiError as error:
            if error.status == 409 and error.code == "illegal_transition":
                order = self.order(order_id)
                if order["status"] in DONE:
                    return order
            raise


__all__ = [
    "DEAD",
    "READY",
    "ChecksumMismatch",
    "Purchase",
    "TradeError",
    "Trader",
    "WaitTimeout",
]
