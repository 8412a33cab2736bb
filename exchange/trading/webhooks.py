"""Webhooks for automated traders: signing, emitting inside a service's transaction, sending with
retries. See docs/WEBHOOKS.md for the receiver's side.

The secret is stored encrypted (exchange.trading.webhook_secrets) and decrypted per attempt.

Signature: `X-Exchange-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
Each attempt is signed afresh (new t); the body and `X-Exchange-Delivery` stay the same, so a
receiver rejects stale timestamps and de-duplicates on the delivery id.

Sending happens outside any database transaction: a delivery row is leased with a conditional
UPDATE (`claimed_until`), so two workers never send the same delivery at once, the HTTP call holds
no row lock, and the outcome is written in a short transaction of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from exchange.trading.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from exchange.trading.webhook_secrets import WebhookSecretError

logger = logging.getLogger(__name__)

EVENT_HEADER = "X-Exchange-Event"
DELIVERY_HEADER = "X-Exchange-Delivery"
TIMESTAMP_HEADER = "X-Exchange-Timestamp"
SIGNATURE_HEADER = "X-Exchange-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105  (a public marker, not a secret)
SIGNATURE_TOLERANCE_SECONDS = 300
USER_AGENT = "DataExchange-Webhooks/1"


# --- settings -------------------------------------------------------------------------------------


def max_attempts() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8)))


def backoff_seconds(attempt: int) -> int:
    """Wait after the `attempt`-th failed attempt: base * 2**(attempt-1), capped."""
    base = int(getattr(settings, "WEBHOOK_BACKOFF_BASE_SECONDS", 30))
    cap = int(getattr(settings, "WEBHOOK_BACKOFF_MAX_SECONDS", 6 * 3600))
    return int(min(cap, base * 2 ** max(0, attempt - 1)))


def timeout_seconds() -> float:
    return float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 5))


def lease() -> timedelta:
    return timedelta(seconds=timeout_seconds() * 4 + 30)


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


# --- signatures -----------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: parse `t=..,v1=..`, recompute, compare in constant time, and refuse
    timestamps further than `tolerance` seconds from now (replays of old captures)."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed (deterministic, so every attempt sends the same body)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- targets (SSRF) -------------------------------------------------------------------------------


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def validate_target(url: str, *, resolve: bool = True) -> None:
    """http(s) only, no credentials in the URL; unless WEBHOOK_ALLOW_PRIVATE_TARGETS, every address
    the host resolves to must be public (no loopback, private, link-local or metadata ranges)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "must be an http:// or https:// URL with a host"})
    if parts.username or parts.password:
        raise ValidationError({"url": "must not carry credentials"})
    if private_targets_allowed():
        return
    host = parts.hostname
    try:
        addresses = {ipaddress.ip_address(host).compressed}
    except ValueError:
        if not resolve:
            return
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except OSError:
            raise ValidationError({"url": "the host does not resolve"}) from None
        addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise ValidationError({"url": "must point to a public address"})


# --- emitting (inside the caller's transaction) --------------------------------------------------


def emit(event: str, organisation_ids: Iterable[int | None], data: dict[str, Any]) -> int:
    """Queue `event` for every active endpoint of these organisations that subscribed to it.
    Rows are written in the caller's transaction; the sends are enqueued after it commits, so a
    rolled-back change never announces itself. Returns how many deliveries were queued."""
    if event not in WebhookEvent.values:
        raise ValueError(f"unknown webhook event {event!r}")
    ids = {pk for pk in organisation_ids if pk}
    if not ids:
        return 0
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(organisation_id__in=ids, active=True)
        if event in (e.events or [])
    ]
    if not endpoints:
        return 0
    now = timezone.now()
    event_id = str(uuid.uuid4())
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            payload={
                "event_id": event_id,
                "type": event,
                "created_at": now.isoformat(),
                "organisation": endpoint.organisation_id,
                "data": data,
            },
            next_attempt_at=now,
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    from exchange.trading.tasks import deliver_webhook

    for delivery in deliveries:
        deliver_webhook.delay_on_commit(str(delivery.pk))
    return len(deliveries)


# --- sending -------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead past the target check (e.g. to an internal address): never follow.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class AttemptResult:
    delivered: bool
    status_code: int | None
    error: str
    retry_in: int | None  # seconds until the next attempt; None: no further attempt


def _post(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, secret: str
) -> tuple[int | None, str]:
    body = encode(delivery.payload)
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310  (scheme checked by validate_target)
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: str(delivery.pk),
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        },
    )
    try:
        validate_target(endpoint.url)  # again at send time: DNS may have changed
        with _opener.open(request, timeout=timeout_seconds()) as response:
            response.read(1024)
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except ValidationError as exc:
        return None, "; ".join(exc.messages)[:300]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:300]


def claim(delivery_id: Any, now: datetime) -> bool:
    """Lease a pending delivery for one sender (conditional UPDATE: one winner)."""
    with transaction.atomic():
        return bool(
            WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + lease())
        )


def attempt_delivery(delivery_id: Any, *, now: datetime | None = None) -> AttemptResult | None:
    """One attempt: claim, POST, log, decide the retry. None when there was nothing to do."""
    now = now or timezone.now()
    if not claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    started = time.monotonic()
    unsignable = False
    if endpoint.active:
        try:
            secret = endpoint.signing_secret()
        except WebhookSecretError as exc:
            # Nothing is sent unsigned, and retrying cannot help until an operator fixes the
            # keys or rotates the endpoint's secret: give up now. The message names the endpoint
            # and key id only, never the secret or the ciphertext.
            logger.error("webhook delivery %s not sent: %s", delivery.pk, exc)
            status_code, error, unsignable = None, str(exc)[:300], True
        else:
            status_code, error = _post(endpoint, delivery, secret)
    else:
        status_code, error = None, "endpoint disabled"
    duration_ms = int((time.monotonic() - started) * 1000)
    delivered = status_code is not None and 200 <= status_code < 300
    attempt = delivery.attempts + 1
    retry_in: int | None = None
    if not delivered and endpoint.active and not unsignable and attempt < max_attempts():
        retry_in = backoff_seconds(attempt)
    finished = timezone.now()
    with transaction.atomic():
        fields: dict[str, Any] = {
            "attempts": attempt,
            "claimed_until": None,
            "last_status_code": status_code,
            "last_error": error,
        }
        if delivered:
            fields |= {"status": WebhookDelivery.Status.DELIVERED, "delivered_at": finished}
        elif retry_in is None:
            fields["status"] = WebhookDelivery.Status.FAILED
        else:
            fields["next_attempt_at"] = finished + timedelta(seconds=retry_in)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=attempt,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            next_retry_in_seconds=retry_in,
        )
    if not delivered:
        logger.info(
            "webhook delivery %s attempt %d failed (%s); %s",
            delivery.pk,
            attempt,
            error or status_code,
            f"retry in {retry_in}s" if retry_in is not None else "giving up",
        )
    return AttemptResult(delivered, status_code, error, retry_in)


def claim_overdue(now: datetime, *, grace_seconds: int = 60, limit: int = 500) -> list[str]:
    """For the beat job: pending deliveries whose retry is overdue (its Celery message was lost,
    e.g. a broker restart). Each is claimed by moving `next_attempt_at` with a conditional
    UPDATE, so two schedulers never enqueue the same one."""
    cutoff = now - timedelta(seconds=grace_seconds)
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    claimed = []
    for pk, seen in due:
        with transaction.atomic():
            won = WebhookDelivery.objects.filter(
                pk=pk, status=WebhookDelivery.Status.PENDING, next_attempt_at=seen
            ).update(next_attempt_at=now + lease())
        if won:
            claimed.append(str(pk))
    return claimed
