"""The payment-provider interface: how money enters and leaves the platform.

A provider speaks one payment network's wire format (signatures, field names, references); it
never touches the ledger. The settlement rules (credit once, debit before paying out, return the
money when a payout fails) live in exchange.ledger.funding and are the same for every provider.
See docs/PAYMENTS.md for how to plug in UnionPay, Alipay, WeChat Pay or a bank's API.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from exchange.ledger.models import Deposit, Withdrawal

EventKind = Literal["deposit.succeeded", "deposit.failed", "withdrawal.paid", "withdrawal.failed"]
EVENT_KINDS: tuple[str, ...] = (
    "deposit.succeeded",
    "deposit.failed",
    "withdrawal.paid",
    "withdrawal.failed",
)


class CallbackRejected(Exception):
    """A callback failed verification (signature, age, shape). Nothing was applied. The message
    is safe to return to the caller: it never echoes secrets."""


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider notification, in the platform's terms."""

    kind: EventKind
    provider_reference: str
    amount_fen: int
    occurred_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class DepositInstructions:
    """What the payer must do to fund the deposit (for a bank transfer: where to send money and
    the reference to quote), plus, for sandboxes only, a ready-made simulated callback."""

    method: str
    details: dict[str, Any]
    sandbox_callback: dict[str, Any] | None = field(default=None)


class PaymentProvider(abc.ABC):
    name: ClassVar[str]
    #: True for providers that move no real money. The API says so in its responses.
    is_sandbox: ClassVar[bool] = False
    #: True if payouts must be submitted to the provider after the withdrawal commits
    #: (exchange.ledger.tasks.submit_withdrawal calls submit_withdrawal with retries).
    submits_payouts: ClassVar[bool] = True

    @abc.abstractmethod
    def new_reference(self, purpose: Literal["deposit", "withdrawal"]) -> str:
        """A fresh, unique reference the provider will quote back in its callbacks."""

    @abc.abstractmethod
    def deposit_instructions(self, deposit: Deposit) -> DepositInstructions:
        """How the payer funds `deposit`. Called inside the creating transaction: no network."""

    @abc.abstractmethod
    def submit_withdrawal(self, withdrawal: Withdrawal) -> None:
        """Ask the provider to pay out. Runs in a Celery task after commit; must be idempotent
        (send provider_reference as the provider's own idempotency key)."""

    @abc.abstractmethod
    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Check the signature and freshness of a notification and translate it.

        Raises CallbackRejected. Must compare signatures in constant time."""
