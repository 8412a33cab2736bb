"""The account pages and the wallet in a real browser, driven from the keyboard: every control
has a label, Tab reaches the submit button through the fields in order, errors show next to the
field with what was typed kept, and what the page says matches the database and the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from exchange.ledger import funding
from exchange.ledger import selectors as ledger_selectors
from exchange.ledger.models import Withdrawal
from exchange.participants.models import ApiKey
from exchange.trading.models import WebhookEndpoint
from tests.factories import MembershipFactory, operator
from tests.portal.browser import PASSWORD, Actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTROLS = "input:not([type=hidden]), select, textarea, button[type=submit]"


@pytest.fixture
def owner_actor(chromium: Any, browser_env: Any) -> Iterator[tuple[Actor, Any]]:
    owner = MembershipFactory(
        role="owner", organisation__kind="both", organisation__status="verified"
    )
    owner.user.set_password(PASSWORD)
    owner.user.save()
    funding.record_manual_deposit(
        operator=operator(), organisation=owner.organisation, amount_fen=100_00, reason="test"
    )
    actor = Actor(chromium, browser_env, "en-US", "account")
    actor.login(owner.user.email)
    yield actor, owner
    actor.close()


def assert_keyboard_accessible(page: Any, form: str) -> None:
    """Every control of the form is labelled; Tab from the first one visits each control in
    document order and ends on the submit button."""
    controls = page.evaluate(
        """([form, selector]) =>
           Array.from(document.querySelectorAll(form + " :is(" + selector + ")")).map(el => ({
               key: el.id || el.name || el.textContent.trim(),
               label: el.tagName === "BUTTON" ? el.textContent.trim()
                 : Array.from(el.labels || []).map(l => l.textContent.trim()).join(" ")
                   || el.getAttribute("aria-label") || "",
             }))""",
        [form, CONTROLS],
    )
    assert controls, form
    assert [c["key"] for c in controls if not c["label"]] == [], f"unlabelled controls in {form}"
    page.focus(f"{form} #{controls[0]['key']}")
    visited = [controls[0]["key"]]
    for _ in range(3 * len(controls) + 6):  # a date input takes a Tab per segment
        page.keyboard.press("Tab")
        here = page.evaluate(
            """form => { const el = document.activeElement;
                 return {inside: document.querySelector(form).contains(el),
                         key: el.id || el.name || el.textContent.trim(),
                         submit: el.matches("button[type=submit]")}; }""",
            form,
        )
        assert here["inside"], f"Tab left {form} before its submit button (at {here['key']})"
        if here["key"] != visited[-1]:
            visited.append(here["key"])
        if here["submit"]:
            break
    assert visited == [c["key"] for c in controls], (form, visited)


def _me(server: Any, token: str) -> int:
    request = urllib.request.Request(
        server.url + "/api/v1/me/", headers={"Authorization": f"Api-Key {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["api_key_scopes"] == ["read"]
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_api_keys_from_the_keyboard(owner_actor: tuple[Actor, Any]) -> None:
    actor, owner = owner_actor
    page = actor.page
    actor.go("/account/organisation/")
    page.click("#account-links a[href='/account/api-keys/']")
    page.wait_for_selector("#api-key-form")
    assert_keyboard_accessible(page, "#api-key-form")
    page.focus("#id_name")
    page.keyboard.type("nightly sync")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the first scope: read
    page.focus("#api-key-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#api-token")
    token = page.inner_text("#api-token").strip()
    key = ApiKey.objects.get(organisation=owner.organisation)
    assert key.matches(token) and key.scopes == ["read"]
    actor.shot("api-key-created")
    assert _me(actor.server, token) == 200
    actor.go("/account/api-keys/")  # shown once: now only the prefix
    assert page.locator("#api-token").count() == 0
    assert token not in page.content() and key.prefix in page.inner_text("#api-keys")
    page.click(f"#api-keys tr[data-prefix='{key.prefix}'] button")
    page.wait_for_load_state()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert _me(actor.server, token) == 401


def test_webhooks_refuse_private_targets_then_log_and_delete(
    owner_actor: tuple[Actor, Any], settings: Any
) -> None:
    actor, owner = owner_actor
    page = actor.page
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    actor.go("/account/webhooks/")
    assert_keyboard_accessible(page, "#webhook-form")
    page.fill("#id_url", "http://127.0.0.1:9/hook")
    page.check("#webhook-form input[value='order.funded']")
    page.click("#webhook-form button[type=submit]")
    page.wait_for_selector("#id_url_error")
    assert "public internet addresses" in page.inner_text("#id_url_error")
    assert page.get_attribute("#id_url", "aria-invalid") == "true"
    assert "id_url_error" in (page.get_attribute("#id_url", "aria-describedby") or "")
    assert page.input_value("#id_url") == "http://127.0.0.1:9/hook"
    assert page.is_checked("#webhook-form input[value='order.funded']")
    actor.shot("webhook-private-refused")
    assert not WebhookEndpoint.objects.exists()

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # e.g. a receiver inside a private network
    page.click("#webhook-form button[type=submit]")
    page.wait_for_selector("#webhook-secret")
    endpoint = WebhookEndpoint.objects.get(organisation=owner.organisation)
    assert page.inner_text("#webhook-secret").strip() == endpoint.signing_secret()
    assert page.inner_text(f"#log-{endpoint.pk}")  # the (empty) delivery log is there
    actor.go("/account/webhooks/")
    assert page.locator("#webhook-secret").count() == 0
    page.click(f"#endpoint-{endpoint.pk} button.toggle")
    page.wait_for_load_state()
    endpoint.refresh_from_db()
    assert endpoint.active is False
    page.click(f"#endpoint-{endpoint.pk} button.delete")
    page.wait_for_load_state()
    assert not WebhookEndpoint.objects.exists()
    assert page.locator(f"#endpoint-{endpoint.pk}").count() == 0


def test_withdrawals_in_the_wallet(owner_actor: tuple[Actor, Any]) -> None:
    actor, owner = owner_actor
    page = actor.page
    actor.go("/wallet/")
    assert_keyboard_accessible(page, "#deposit-form")
    assert_keyboard_accessible(page, "#withdraw-form")
    page.fill("#id_withdraw-amount_yuan", "150")
    page.press("#id_withdraw-amount_yuan", "Enter")
    page.wait_for_selector("#id_withdraw-amount_yuan_error")
    assert "too low" in page.inner_text("#id_withdraw-amount_yuan_error")
    assert page.input_value("#id_withdraw-amount_yuan") == "150"
    assert page.get_attribute("#id_withdraw-amount_yuan", "aria-invalid") == "true"
    actor.shot("withdraw-refused")
    page.fill("#id_withdraw-amount_yuan", "40")
    page.press("#id_withdraw-amount_yuan", "Enter")
    page.wait_for_selector("#balance-available:text('¥60.00')")
    withdrawal = Withdrawal.objects.get(organisation=owner.organisation)
    assert (withdrawal.amount_fen, withdrawal.status) == (40_00, "pending")
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 60_00
    assert withdrawal.provider_reference in page.inner_text("main")
    actor.shot("withdraw-pending")
