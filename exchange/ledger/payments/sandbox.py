"""SANDBOX payment provider: simulates a bank transfer. Moves no real money.

Deposits: the payer is told to transfer the amount to a (fictitious) platform bank account quoting
a reference; the "bank" then notifies the platform with an HMAC-SHA256-signed callback. In the
sandbox nobody runs that bank, so the API hands back a ready-signed callback the client can POST
to /api/v1/payments/sandbox/callback/ to simulate the transfer arriving.

Withdrawals: debited at once; the payout completes (or fails) when a signed `withdrawal.paid` /
`withdrawal.failed` callback arrives, exactly like a real bank's asynchronous payout.

Signature (Stripe-style): header `X-Sandbox-Signature: t=<unix seconds>,v1=<hex>` where
v1 = HMAC-SHA256(secret, f"{t}." + raw body). Checked in constant time; t must be within
PAYMENT_CALLBACK_TOLERANCE_SECONDS (default 300) of now, so a captured callback cannot be replayed
later (and a replay within the window is harmless: settlement is idempotent per reference).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from django.conf import settings
from django.urls import reverse

from exchange.ledger.models import Deposit, Withdrawal
from exchange.ledger.payments.base import (
    EVENT_KINDS,
    CallbackRejected,
    DepositInstructions,
    PaymentEvent,
    PaymentProvider,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"


def sandbox_secret() -> bytes:
    configured = getattr(settings, "PAYMENT_SANDBOX_SECRET", "")
    if configured:
        return str(configured).encode()
    # Derived, not reused: knowing the sandbox secret must not reveal SECRET_KEY.
    return hmac.new(settings.SECRET_KEY.encode(), b"payment-sandbox-callback", "sha256").digest()


def tolerance_seconds() -> int:
    return int(getattr(settings, "PAYMENT_CALLBACK_TOLERANCE_SECONDS", 300))


def _signature(timestamp: int, body: bytes) -> str:
    return hmac.new(sandbox_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(payload: dict[str, Any], timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a callback as the sandbox bank would send it."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    t = int(time.time()) if timestamp is None else timestamp
    return body, {SIGNATURE_HEADER: f"t={t},v1={_signature(t, body)}"}


def simulated_callback(event: str, reference: str, amount_fen: int) -> dict[str, Any]:
    body, headers = sign({"event": event, "reference": reference, "amount_fen": amount_fen})
    return {
        "url": reverse("ledger-sandbox-callback"),
        "method": "POST",
        "headers": headers | {"Content-Type": "application/json"},
        "body": body.decode(),
        "valid_for_seconds": tolerance_seconds(),
    }


class SandboxBankTransferProvider(PaymentProvider):
    name = "sandbox_bank_transfer"
    is_sandbox = True
    submits_payouts: ClassVar[bool] = False  # the payout "happens" when its callback is simulated

    def new_reference(self, purpose: Literal["deposit", "withdrawal"]) -> str:
        prefix = "SBXD" if purpose == "deposit" else "SBXW"
        return f"{prefix}-{secrets.token_hex(8).upper()}"

    def deposit_instructions(self, deposit: Deposit) -> DepositInstructions:
        return DepositInstructions(
            method="bank_transfer",
            details={
                "note": "SANDBOX: no real money moves; POST sandbox_callback to simulate it.",
                "beneficiary": "数据交易平台（沙箱）客户备付金账户",
                "bank": "Sandbox Bank",
                "account_number": "6200000000000000000",
                "amount_fen": deposit.amount_fen,
                "reference": deposit.provider_reference,
            },
            sandbox_callback=simulated_callback(
                "deposit.succeeded", deposit.provider_reference, deposit.amount_fen
            ),
        )

    def withdrawal_callback(self, withdrawal: Withdrawal) -> dict[str, Any]:
        return simulated_callback(
            "withdrawal.paid", withdrawal.provider_reference, withdrawal.amount_fen
        )

    def submit_withdrawal(self, withdrawal: Withdrawal) -> None:
        return None

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise CallbackRejected("missing or malformed signature header") from None
        given = parts.get("v1", "")
        if not hmac.compare_digest(given.encode(), _signature(timestamp, body).encode()):
            raise CallbackRejected("signature does not match")
        if abs(time.time() - timestamp) > tolerance_seconds():
            raise CallbackRejected("callback timestamp is outside the allowed window")
        try:
            payload = json.loads(body)
            kind = payload["event"]
            reference = str(payload["reference"])
            amount = payload["amount_fen"]
        except (ValueError, KeyError, TypeError):
            raise CallbackRejected("callback body is not a valid event") from None
        if kind not in EVENT_KINDS:
            raise CallbackRejected("unknown event")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise CallbackRejected("amount_fen must be a positive integer")
        return PaymentEvent(
            kind=kind,
            provider_reference=reference,
            amount_fen=amount,
            occurred_at=datetime.fromtimestamp(timestamp, tz=UTC),
            reason=str(payload.get("reason", ""))[:300],
        )
