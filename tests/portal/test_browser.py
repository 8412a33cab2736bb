"""End-to-end journeys in a real browser: seller → operator → buyer, in Chinese and English;
a dispute; form errors. No console errors and no request leaves the site on any page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from exchange.ledger import funding
from exchange.portal import demo
from exchange.trading.models import Order
from listings.models import Listing, ListingVersion
from tests.factories import MembershipFactory, make_uscc, operator
from tests.portal.browser import PASSWORD, Actor
from tests.portal.factories import listed_market

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUERIES = {"zh-CN": "门诊", "en-US": "outpatient"}
TITLES = {"zh-CN": "门诊病历样本数据集", "en-US": "Outpatient visits sample"}


@pytest.fixture
def actors(chromium: Any, browser_env: Any) -> Iterator[Any]:
    made: list[Actor] = []

    def make(name: str, locale: str) -> Actor:
        actor = Actor(chromium, browser_env, locale, name)
        made.append(actor)
        return actor

    yield make
    for actor in made:
        actor.close()


def _buyer(email: str) -> Any:
    membership = MembershipFactory(
        role="owner", organisation__kind="buyer", organisation__name="测试买方研究院",
        user__email=email,
    )  # fmt: skip
    membership.user.set_password(PASSWORD)
    membership.user.save()
    return membership


def _operator(email: str) -> Any:
    user = operator(email=email)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_seller_operator_buyer_journey(actors: Any, locale: str) -> None:
    tag = locale[:2]
    seller = actors("seller", locale)
    page = seller.page
    # A seller signs up with its organisation.
    seller.go("/signup/")
    page.fill("#id_email", f"seller-{tag}@example.test")
    page.fill("#id_display_name", "Seller")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_organisation_name", f"华康数据 {tag}")
    page.select_option("#id_organisation_kind", "seller")
    page.fill("#id_uscc", make_uscc())
    seller.shot("signup")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/seller/")
    # ... creates a listing ...
    page.click("#new-listing")
    page.fill("#id_title", TITLES[locale])
    page.fill("#id_summary", "门诊 outpatient records, cleaned")
    page.fill("#id_description", "Outpatient visits with diagnoses. 门诊就诊记录。")
    page.select_option("#id_category", "medical_health")
    page.fill("#id_keywords", "门诊, outpatient, 医疗")
    page.select_option("#id_licence_family", "commercial")
    seller.shot("listing-form")
    page.click("#listing-form button[type=submit]")
    page.wait_for_selector("#plan-form")
    listing = Listing.objects.get(title=TITLES[locale])
    # ... with a price plan under a commercial licence ...
    page.select_option("#id_kind", "one_time")
    page.fill("#id_price_yuan", "88.50")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#new-version")
    assert listing.price_plans.get().price_fen == 8850
    # ... uploads a CSV with personal data and watches the pipeline finish ...
    page.click("#new-version")
    page.wait_for_selector("#upload-form")
    data, secrets = demo.pii_csv("medical", rows=50, seed=11)
    page.set_input_files(
        "#id_file", files=[{"name": "patients.csv", "mimeType": "text/csv", "buffer": data}]
    )
    page.click("#upload-button")
    page.wait_for_selector("#progress-panel:not([hidden])")
    page.wait_for_selector("#submit-review", timeout=60_000)  # the page reloads once published
    assert page.locator("#report-columns tbody tr").count() >= 5
    version = ListingVersion.objects.get(listing=listing)
    assert version.pipeline_status == "published"
    seller.shot("version-published")
    # ... and submits it for review.
    page.click("#submit-review")
    page.wait_for_selector("#version-status")
    version.refresh_from_db()
    assert version.status == "submitted"

    # An operator approves it in the console.
    staff = actors("operator", locale)
    _operator(f"op-{tag}@example.test")
    staff.login(f"op-{tag}@example.test")
    staff.go(reverse("admin:console_review", args=[version.pk]))
    staff.shot("review")
    staff.page.fill("#id_reason", "ok")
    staff.page.click("#approve")
    staff.page.wait_for_load_state()
    version.refresh_from_db()
    assert version.status == "approved"

    # A buyer funds its wallet through the sandbox, finds the listing with a query in the
    # page's language, signs, funds, downloads and accepts.
    buyer = actors("buyer", locale)
    _buyer(f"buyer-{tag}@example.test")
    buyer.login(f"buyer-{tag}@example.test")
    bp = buyer.page
    buyer.go("/wallet/")
    bp.fill("#id_deposit-amount_yuan", "500")
    bp.click("#deposit-button")
    bp.click("#simulate-button")
    bp.wait_for_selector("#balance-available")
    assert "500.00" in bp.inner_text("#balance-available")
    buyer.shot("wallet")
    buyer.go("/")
    bp.fill("#home-q", QUERIES[locale])
    bp.press("#home-q", "Enter")
    bp.wait_for_selector(".listing-card")
    buyer.shot("catalogue")
    bp.click(f".listing-card a:text('{TITLES[locale]}')")
    bp.wait_for_selector("#cleaning-summary")
    buyer.shot("listing")
    bp.click(".plan button.buy")
    bp.wait_for_selector("#sign-form")
    buyer.shot("contract")
    bp.check("#id_agree")
    bp.click("#sign-button")
    bp.click("#fund-button")
    bp.click("#links-button")
    with bp.expect_download() as info:
        bp.click(".download-link")
    content = open(info.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    rows = list(csv.reader(io.StringIO(content)))
    assert len(rows) == 51
    leaked = [s for s in secrets if s in content]
    assert leaked == [], f"{len(leaked)} personal values reached the buyer"
    buyer.shot("downloads")
    bp.wait_for_selector("#countdown")
    bp.click("#accept-button")
    bp.wait_for_selector("#order-status[data-status=settled]")
    buyer.shot("settled")
    order = Order.objects.get(listing=listing)
    assert order.status == "settled" and order.seller_received_fen

    # The seller sees the earnings.
    seller.go("/seller/")
    assert seller.page.inner_text("#earnings-total") != "¥0.00"
    seller.shot("dashboard")


def test_dispute(actors: Any) -> None:
    market = listed_market()
    for m in (market.buyer, market.seller):
        m.user.set_password(PASSWORD)
        m.user.save()
    funding.record_manual_deposit(
        operator=market.operator, organisation=market.buyer.organisation, amount_fen=1000_00,
        reason="test",
    )  # fmt: skip
    buyer = actors("dispute-buyer", "zh-CN")
    buyer.login(market.buyer.user.email)
    buyer.go(f"/catalogue/{market.listing.pk}/")
    page = buyer.page
    page.click(".plan button.buy")
    page.check("#id_agree")
    page.click("#sign-button")
    page.click("#fund-button")
    page.click("#links-button")
    page.click("#dispute-panel summary")
    page.click("#dispute-button")  # empty: the error shows next to the field
    page.wait_for_selector("#id_reason[aria-invalid=true]")
    assert page.locator("#id_reason_error").is_visible()
    page.fill("#id_reason", "字段与描述不符")
    page.click("#dispute-button")
    page.wait_for_selector("#order-status[data-status=disputed]")
    buyer.shot("disputed")
    order = Order.objects.get(listing=market.listing)
    seller = actors("dispute-seller", "zh-CN")
    seller.login(market.seller.user.email)
    seller.go(f"/seller/sales/{order.pk}/dispute/")
    seller.page.fill("#id_reason", "数据与说明一致，见字段说明。")
    seller.page.click("#dispute-response-form button[type=submit]")
    seller.page.wait_for_load_state()
    order.dispute.refresh_from_db()
    assert order.dispute.status == "responded"
    seller.shot("dispute-response")


def test_form_errors_keep_typed_values(actors: Any) -> None:
    visitor = actors("visitor", "en-US")
    page = visitor.page
    visitor.go("/signup/")
    page.fill("#id_email", "not-an-email")
    page.fill("#id_display_name", "Typed Name")
    page.fill("#id_password", "123")
    page.fill("#id_organisation_name", "Acme 数据")
    page.click("#signup-form button[type=submit]")
    page.wait_for_selector("#id_email_error")
    assert page.get_attribute("#id_email", "aria-describedby") is not None
    assert "id_email_error" in (page.get_attribute("#id_email", "aria-describedby") or "")
    assert page.input_value("#id_email") == "not-an-email"
    assert page.input_value("#id_display_name") == "Typed Name"
    assert page.input_value("#id_organisation_name") == "Acme 数据"
    assert page.locator("#id_password_error").is_visible()
    assert page.locator("#id_uscc_error").is_visible()
    visitor.shot("signup-errors")
    # A listing without a title keeps the rest of what was typed.
    seller = MembershipFactory(role="owner", organisation__kind="seller")
    seller.user.set_password(PASSWORD)
    seller.user.save()
    visitor.login(seller.user.email)
    visitor.go("/seller/listings/new/")
    page.fill("#id_summary", "kept summary")
    page.fill("#id_temporal_start", "2025-05-01")
    page.fill("#id_temporal_end", "2024-01-01")
    page.click("#listing-form button[type=submit]")
    page.wait_for_selector("#id_title_error")
    assert page.locator("#id_temporal_end_error").is_visible()
    assert page.input_value("#id_summary") == "kept summary"
    visitor.shot("listing-errors")
