"""A regulator walks the review queue and resolves a dispute in a real browser (Debian chromium
driven by Playwright) against the live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import expect

from exchange.trading.models import Dispute, Order
from listings.models import ListingVersion
from tests.console.factories import Platform

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="en-GB")
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # ORM calls made while Playwright's loop runs may have opened a connection of their
            # own; close it, or the test database cannot be dropped at the end of the session.
            connections.close_all()


def log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("#console-dashboard")


def test_regulator_reviews_a_version_and_resolves_a_dispute(page: Any, live_server: Any) -> None:
    platform = Platform()
    base = live_server.url
    log_in(page, base, platform.regulator.email)
    assert page.inner_text("#fig-pending-reviews") == "1"
    assert page.inner_text("#fig-open-disputes") == "1"

    # The review queue: the version's outputs side by side.
    page.click("#fig-pending-reviews")  # the card links to the queue
    page.click("a.review-link")
    for section in ("#cleaning-report", "#table-schema", "#sample", "#licence-offer"):
        assert page.is_visible(section)
    assert "pid_7f3a" in page.inner_text("#sample")

    # Rejecting needs a reason: refused without one, nothing changes.
    page.click("#reject")
    assert "Say why the version is rejected." in page.inner_text("#review-form")
    assert ListingVersion.objects.get(pk=platform.submitted.pk).status == "submitted"

    page.fill("#id_reason", "抽样检查通过")
    page.click("#approve")
    page.wait_for_selector("#review-empty")
    assert ListingVersion.objects.get(pk=platform.submitted.pk).status == "approved"

    # The dispute: open it, resolve with a split.
    dispute = platform.dispute
    amount = platform.disputed.amount_fen
    page.goto(f"{base}/admin/trading/dispute/{dispute.pk}/change/")
    page.click("text=Resolve dispute")
    # Only for a split. console.js hides the amounts after load (a deferred script), so wait for
    # it rather than read the page before the script ran.
    expect(page.locator("input[name=to_seller_fen]")).to_be_hidden()
    page.check("input[name=outcome][value=split]")
    page.fill("input[name=to_seller_fen]", str(amount - 30_00))
    page.fill("input[name=to_buyer_fen]", str(30_00))
    page.fill("textarea[name=reason]", "部分字段缺失")
    page.click("#confirm")
    page.wait_for_selector(".messagelist .success")
    assert "resolved: split" in page.inner_text(".messagelist")

    resolved = Dispute.objects.get(pk=dispute.pk)
    assert (resolved.status, resolved.outcome, resolved.to_buyer_fen) == (
        "resolved",
        "split",
        30_00,
    )
    assert Order.objects.get(pk=platform.disputed.pk).status == "settled"
    # Resolved disputes offer no further action.
    assert page.locator("text=Resolve dispute").count() == 0
