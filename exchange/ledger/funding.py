"""Money in and out of the platform: deposits, withdrawals, operators' manual deposits, and the
provider callbacks that settle them. Provider-agnostic: providers only translate wire formats
(exchange.ledger.payments); the settlement rules are here, once.

Rules
- A deposit is credited once: the callback locks the Deposit row found by its unique provider
  reference; a replayed callback finds it settled and changes nothing.
- A withdrawal is debited when requested (available -> external), so the money cannot be spent
  twice while the payout is under way; a failed payout returns it (a reversal transaction).
- Frozen organisations cannot start deposits or withdrawals. Money that has already arrived at the
  bank for a started deposit is still credited: refusing would leave the books disagreeing with
  the bank, and the freeze already stops it being spent or withdrawn.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from exchange.audit.services import record
from exchange.ledger import services
from exchange.ledger.models import Deposit, Transaction, Withdrawal
from exchange.ledger.payments import CallbackRejected, DepositInstructions, PaymentEvent
from exchange.ledger.payments import get_provider as get_provider
from exchange.participants.models import Organisation
from exchange.participants.services import ensure_not_frozen

DEPOSIT_REFERENCE = "ledger.deposit"
WITHDRAWAL_REFERENCE = "ledger.withdrawal"


def _max_amount() -> int:
    from django.conf import settings

    # One yuan short of 10 billion: far above any dataset price, far below BIGINT overflow.
    return int(getattr(settings, "LEDGER_MAX_AMOUNT_FEN", 10**12 - 100))


def _amount(amount_fen: Any) -> int:
    amount = services._positive(amount_fen)
    if amount > _max_amount():
        raise ValidationError({"amount_fen": gettext("exceeds the largest single amount allowed")})
    return amount


@transaction.atomic
def start_deposit(
    *, actor: Any, organisation: Organisation, amount_fen: int
) -> tuple[Deposit, DepositInstructions]:
    """Open a pending deposit and tell the payer how to fund it. Credits nothing yet."""
    ensure_not_frozen(organisation, gettext_noop("deposit money"))
    amount = _amount(amount_fen)
    provider = get_provider()
    deposit = Deposit.objects.create(
        organisation=organisation,
        amount_fen=amount,
        provider=provider.name,
        provider_reference=provider.new_reference("deposit"),
        created_by=actor,
    )
    record(
        "ledger.deposit.started",
        deposit,
        actor=actor,
        organisation=organisation,
        changes={"amount_fen": amount, "provider": provider.name},
    )
    return deposit, provider.deposit_instructions(deposit)


@transaction.atomic
def record_manual_deposit(
    *, operator: Any, organisation: Organisation, amount_fen: int, reason: str
) -> Deposit:
    """An operator books money that arrived outside any provider (e.g. a bank statement line)."""
    if not getattr(operator, "is_operator", False):
        raise PermissionDenied(gettext("Only platform operators may record manual deposits."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": gettext("a reason is required for a manual deposit")})
    ensure_not_frozen(organisation, gettext_noop("receive deposits"))
    amount = _amount(amount_fen)
    now = timezone.now()
    deposit = Deposit.objects.create(
        organisation=organisation,
        amount_fen=amount,
        received_fen=amount,
        provider=Deposit.MANUAL_PROVIDER,
        provider_reference=f"MAN-{secrets.token_hex(8).upper()}",
        status=Deposit.Status.SUCCEEDED,
        reason=reason[:300],
        created_by=operator,
        settled_at=now,
    )
    deposit.transaction = services.transfer(
        debit=services.external_account(),
        credit=services.available_account(organisation),
        amount_fen=amount,
        kind=Transaction.Kind.MANUAL_DEPOSIT,
        reference=(DEPOSIT_REFERENCE, deposit.pk),
        actor=operator,
        memo=reason,
    )
    deposit.save(update_fields=["transaction"])
    record(
        "ledger.deposit.manual",
        deposit,
        actor=operator,
        organisation=organisation,
        changes={"amount_fen": amount, "reason": reason[:300]},
    )
    return deposit


@transaction.atomic
def request_withdrawal(*, actor: Any, organisation: Organisation, amount_fen: int) -> Withdrawal:
    """Debit the organisation's available balance now and ask the provider to pay it out."""
    ensure_not_frozen(organisation, gettext_noop("withdraw money"))
    amount = _amount(amount_fen)
    provider = get_provider()
    withdrawal = Withdrawal.objects.create(
        organisation=organisation,
        amount_fen=amount,
        provider=provider.name,
        provider_reference=provider.new_reference("withdrawal"),
        created_by=actor,
    )
    withdrawal.transaction = services.transfer(
        debit=services.available_account(organisation),
        credit=services.external_account(),
        amount_fen=amount,
        kind=Transaction.Kind.WITHDRAWAL,
        reference=(WITHDRAWAL_REFERENCE, withdrawal.pk),
        actor=actor,
    )
    withdrawal.save(update_fields=["transaction"])
    record(
        "ledger.withdrawal.requested",
        withdrawal,
        actor=actor,
        organisation=organisation,
        changes={"amount_fen": amount, "provider": provider.name},
    )
    if provider.submits_payouts:
        from exchange.ledger.tasks import submit_withdrawal

        submit_withdrawal.delay_on_commit(withdrawal.pk)
    return withdrawal


# --- Callbacks -----------------------------------------------------------------------------------


@transaction.atomic
def apply_payment_event(provider_name: str, event: PaymentEvent) -> str:
    """Settle what a verified provider callback reports. Returns "applied" or "already applied";
    raises CallbackRejected when the event contradicts what the platform knows."""
    if event.kind.startswith("deposit."):
        return _apply_deposit_event(provider_name, event)
    return _apply_withdrawal_event(provider_name, event)


def _apply_deposit_event(provider_name: str, event: PaymentEvent) -> str:
    deposit = (
        Deposit.objects.select_for_update()
        .select_related("organisation")
        .filter(provider=provider_name, provider_reference=event.provider_reference)
        .first()
    )
    if deposit is None:
        raise CallbackRejected("unknown deposit reference")
    succeeded = event.kind == "deposit.succeeded"
    target = Deposit.Status.SUCCEEDED if succeeded else Deposit.Status.FAILED
    if deposit.status == target:
        return "already applied"
    if deposit.status != Deposit.Status.PENDING:
        raise CallbackRejected(f"deposit is already {deposit.status}")
    deposit.status = target
    deposit.settled_at = timezone.now()
    changes: dict[str, Any] = {"status": ["pending", target]}
    if succeeded:
        # Credit what actually arrived; a payer may send more or less than asked.
        deposit.received_fen = event.amount_fen
        deposit.transaction = services.transfer(
            debit=services.external_account(),
            credit=services.available_account(deposit.organisation),
            amount_fen=event.amount_fen,
            kind=Transaction.Kind.DEPOSIT,
            reference=(DEPOSIT_REFERENCE, deposit.pk),
        )
        changes["received_fen"] = event.amount_fen
    else:
        deposit.failure_reason = event.reason or "reported failed by the provider"
        changes["reason"] = deposit.failure_reason
    deposit.save(
        update_fields=["status", "settled_at", "received_fen", "transaction", "failure_reason"]
    )
    record(
        f"ledger.deposit.{target}",
        deposit,
        organisation=deposit.organisation,
        changes=changes,
    )
    return "applied"


def _apply_withdrawal_event(provider_name: str, event: PaymentEvent) -> str:
    withdrawal = (
        Withdrawal.objects.select_for_update()
        .select_related("organisation")
        .filter(provider=provider_name, provider_reference=event.provider_reference)
        .first()
    )
    if withdrawal is None:
        raise CallbackRejected("unknown withdrawal reference")
    paid = event.kind == "withdrawal.paid"
    target = Withdrawal.Status.PAID if paid else Withdrawal.Status.FAILED
    if withdrawal.status == target:
        return "already applied"
    if withdrawal.status != Withdrawal.Status.PENDING:
        raise CallbackRejected(f"withdrawal is already {withdrawal.status}")
    if event.amount_fen != withdrawal.amount_fen:
        raise CallbackRejected("amount does not match the withdrawal")
    withdrawal.status = target
    withdrawal.settled_at = timezone.now()
    changes: dict[str, Any] = {"status": ["pending", target]}
    if not paid:
        withdrawal.failure_reason = event.reason or "reported failed by the provider"
        changes["reason"] = withdrawal.failure_reason
        withdrawal.reversal_transaction = services.transfer(
            debit=services.external_account(),
            credit=services.available_account(withdrawal.organisation),
            amount_fen=withdrawal.amount_fen,
            kind=Transaction.Kind.WITHDRAWAL_REVERSAL,
            reference=(WITHDRAWAL_REFERENCE, withdrawal.pk),
        )
    withdrawal.save(
        update_fields=["status", "settled_at", "failure_reason", "reversal_transaction"]
    )
    record(
        f"ledger.withdrawal.{target}",
        withdrawal,
        organisation=withdrawal.organisation,
        changes=changes,
    )
    return "applied"
