"""Webhook signing secrets at rest: encrypted in the database, still signing what we send, bound
to their endpoint, rotatable between keys, migrated from plain text, and never shown again after
their creation (API, portal, console). All keys and secrets here are synthetic."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from exchange.audit.models import AuditEvent
from exchange.trading import services, webhook_secrets, webhooks
from exchange.trading.models import WebhookDelivery, WebhookEndpoint
from exchange.trading.webhook_secrets import WebhookSecretError
from tests.factories import OrganisationFactory, UserFactory, regulator
from tests.trading.conftest import Receiver, client_for
from tests.trading.factories import Market

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(100, 132))).decode()


def raw_row(endpoint_id: int) -> list[str]:
    """Every column of the endpoint's row as the database returns it (no model in between)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM trading_webhookendpoint WHERE id = %s", [endpoint_id])
        row = cursor.fetchone()
    assert row is not None
    return [str(value) for value in row]


def raw_columns() -> list[str]:
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(
            cursor, "trading_webhookendpoint"
        )
    return [column.name for column in description]


def new_endpoint(market: Market, url: str = "https://hooks.example.test/in") -> WebhookEndpoint:
    return services.create_webhook_endpoint(
        actor=market.seller.user,
        organisation=market.seller.organisation,
        url=url,
        events=["order.funded"],
    )


@pytest.mark.django_db
def test_the_database_holds_no_plain_secret(market: Market, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    buyer = market.buyer()
    client = client_for(buyer)
    created = client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.test/in", "events": ["order.funded"]},
        format="json",
    ).json()
    rotated = client.patch(
        f"/api/v1/webhooks/{created['id']}/", {"rotate_secret": True}, format="json"
    ).json()
    assert created["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]

    assert "secret" not in raw_columns()  # the plain column is gone
    row = raw_row(created["id"])
    for secret in (created["secret"], rotated["secret"]):
        assert not any(secret in value for value in row)
        # Nor in the audit trail or the logs.
        changes = AuditEvent.objects.values_list("changes", flat=True)
        assert not any(secret in json.dumps(c) for c in changes)
        assert secret not in caplog.text
    [ciphertext] = [value for value in row if value.startswith("v1:")]
    assert webhook_secrets.key_id_of(ciphertext) == webhook_secrets.current_key_id()
    assert WebhookEndpoint.objects.get(pk=created["id"]).signing_secret() == rotated["secret"]


@pytest.mark.django_db
def test_the_api_shows_the_secret_only_in_the_creating_response(market: Market) -> None:
    buyer = market.buyer()
    client = client_for(buyer)
    created = client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.test/in", "events": ["order.funded"]},
        format="json",
    )
    secret = created.json()["secret"]
    ciphertext = WebhookEndpoint.objects.get(pk=created.json()["id"]).secret_ciphertext
    endpoint_url = f"/api/v1/webhooks/{created.json()['id']}/"
    later = [
        client.get("/api/v1/webhooks/"),
        client.get(endpoint_url),
        client.patch(endpoint_url, {"description": "renamed"}, format="json"),
        client.get(f"{endpoint_url}deliveries/"),
    ]
    for response in later:
        assert response.status_code == 200
        body = response.content.decode()
        assert secret not in body and ciphertext not in body and '"secret"' not in body


@pytest.mark.django_db
def test_signatures_sent_verify_with_the_secret_shown_at_creation(
    market: Market, receiver: Receiver
) -> None:
    plan = market.plan()
    buyer = market.buyer()
    created = client_for(buyer).post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["order.funded"]}, format="json"
    )
    shown = created.json()["secret"]
    market.funded(buyer, plan)
    [delivery] = WebhookDelivery.objects.filter(endpoint_id=created.json()["id"])
    result = webhooks.attempt_delivery(delivery.pk)
    assert result is not None and result.delivered
    [(headers, body)] = receiver.received
    assert webhooks.verify_signature(shown, headers["x-exchange-signature"], body)


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_endpoint_does_not_decrypt(
    market: Market, receiver: Receiver, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    source = new_endpoint(market, receiver.url)
    target = new_endpoint(market, receiver.url)
    secrets = [source.signing_secret(), target.signing_secret()]
    # What an attacker with write access to one column could try: reuse a known row's secret.
    WebhookEndpoint.objects.filter(pk=target.pk).update(secret_ciphertext=source.secret_ciphertext)
    target.refresh_from_db()
    with pytest.raises(WebhookSecretError, match=f"#{target.pk}.*another endpoint") as caught:
        target.signing_secret()
    assert not any(s in str(caught.value) for s in secrets)
    assert source.secret_ciphertext not in str(caught.value)

    market.funded(market.buyer(), market.plan())
    delivery = WebhookDelivery.objects.get(endpoint=target)
    result = webhooks.attempt_delivery(delivery.pk)
    assert result is not None and not result.delivered and result.retry_in is None
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempts == 1
    assert "does not decrypt" in delivery.last_error
    assert delivery.attempt_log.get().error == delivery.last_error
    assert receiver.received == []  # nothing went out unsigned or signed with a wrong key
    for text in (delivery.last_error, caplog.text):
        assert not any(s in text for s in secrets) and source.secret_ciphertext not in text
    # The untouched endpoint still delivers.
    source_delivery = WebhookDelivery.objects.get(endpoint=source)
    assert webhooks.attempt_delivery(source_delivery.pk).delivered


@pytest.mark.django_db
def test_key_rotation_re_encrypts_under_the_new_key(market: Market, settings: Any) -> None:
    settings.WEBHOOK_SECRET_KEYS = [KEY_A]
    endpoint = new_endpoint(market)
    secret = endpoint.signing_secret()
    under_a = endpoint.secret_ciphertext

    settings.WEBHOOK_SECRET_KEYS = [KEY_B, KEY_A]  # B encrypts from now on, A still decrypts
    assert endpoint.signing_secret() == secret
    out = io.StringIO()
    call_command("rotate_webhook_secret_key", stdout=out)
    assert out.getvalue().strip() == "re-encrypted 1, already current 0, undecryptable 0"
    out = io.StringIO()
    call_command("rotate_webhook_secret_key", stdout=out)  # idempotent
    assert out.getvalue().strip() == "re-encrypted 0, already current 1, undecryptable 0"
    assert secret not in out.getvalue()

    settings.WEBHOOK_SECRET_KEYS = [KEY_B]  # A retired
    endpoint.refresh_from_db()
    assert endpoint.secret_ciphertext != under_a
    assert endpoint.signing_secret() == secret

    # With only the retired key, the row is reported (counts only) and the command fails.
    settings.WEBHOOK_SECRET_KEYS = [KEY_A]
    with pytest.raises(WebhookSecretError, match="not in WEBHOOK_SECRET_KEYS"):
        endpoint.signing_secret()
    with pytest.raises(CommandError, match="undecryptable 1") as caught:
        call_command("rotate_webhook_secret_key", stdout=io.StringIO())
    assert secret not in str(caught.value)


def test_a_malformed_key_is_refused_without_echoing_it(settings: Any) -> None:
    bad = "c2hvcnQ="  # base64 of 5 bytes: the wrong length for AES-256
    settings.WEBHOOK_SECRET_KEYS = [KEY_A, bad]
    with pytest.raises(ImproperlyConfigured, match="key #2") as caught:
        webhook_secrets.keys()
    assert bad not in str(caught.value)
    [error] = webhook_secrets.check_keys()
    assert error.id == "trading.E001" and bad not in error.msg
    settings.WEBHOOK_SECRET_KEYS = []  # development default: derived from SECRET_KEY
    assert webhook_secrets.keys()[0][1] == webhook_secrets.derived_key(settings.SECRET_KEY)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_plain_rows_and_skips_encrypted_ones() -> None:
    before = [("trading", "0003_webhook_secret_ciphertext")]
    after = [("trading", "0005_remove_webhookendpoint_secret")]
    organisation = OrganisationFactory()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps.get_model("trading", "WebhookEndpoint")
        plain = old.objects.create(
            organisation_id=organisation.pk,
            url="https://hooks.example.test/old",
            events=["order.funded"],
            secret="whsec_plain-before-the-migration",
        )
        done = old.objects.create(
            organisation_id=organisation.pk,
            url="https://hooks.example.test/new",
            events=["order.funded"],
        )
        done_ciphertext = webhook_secrets.encrypt("whsec_already-encrypted", done.pk)
        old.objects.filter(pk=done.pk).update(secret_ciphertext=done_ciphertext)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        assert not any("whsec_plain" in value for value in raw_row(plain.pk))
        assert WebhookEndpoint.objects.get(pk=plain.pk).signing_secret() == plain.secret
        migrated = WebhookEndpoint.objects.get(pk=done.pk)
        assert migrated.secret_ciphertext == done_ciphertext  # skipped, not encrypted twice
        assert migrated.signing_secret() == "whsec_already-encrypted"

        # And back: the reverse decrypts into the plain column again.
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, secret FROM trading_webhookendpoint ORDER BY id")
            assert cursor.fetchall() == [
                (plain.pk, "whsec_plain-before-the-migration"),
                (done.pk, "whsec_already-encrypted"),
            ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("trading"))


@pytest.mark.django_db
def test_the_console_never_shows_the_secret(market: Market) -> None:
    endpoint = new_endpoint(market)
    secret, ciphertext = endpoint.signing_secret(), endpoint.secret_ciphertext
    pages = [
        reverse("admin:trading_webhookendpoint_changelist"),
        reverse("admin:trading_webhookendpoint_change", args=[endpoint.pk]),
        reverse("admin:trading_webhookdelivery_changelist"),
    ]
    for user in (UserFactory(is_staff=True, is_superuser=True), regulator()):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            html = response.content.decode()
            assert secret not in html and ciphertext not in html, page
            assert "secret_ciphertext" not in html and "v1:" not in html, page
