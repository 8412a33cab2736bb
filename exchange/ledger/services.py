"""Moving money. Every function here runs inside the caller's transaction (or opens one), locks the
accounts it touches in id order, refuses overdrafts and writes its audit event.

The building blocks trading calls:

    hold_escrow(buyer=, amount_fen=, reference=("trading.order", order.pk), actor=)
    release_escrow(buyer=, seller=, amount_fen=, fee_fen=, reference=..., actor=)
    refund_escrow(buyer=, amount_fen=, reference=..., actor=)
    split_escrow(buyer=, seller=, to_seller_fen=, to_buyer_fen=, fee_fen=, reference=..., actor=)

Each writes one ledger transaction; (kind, reference) is unique, so the same order cannot be held,
released or refunded twice (DuplicateLedgerTransaction). Funding (deposits, withdrawals) lives in
exchange.ledger.funding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q

from exchange.audit.services import lock_chain, record
from exchange.ledger.models import Account, Posting, Transaction
from exchange.participants.models import Organisation
from exchange.participants.services import ensure_not_frozen

Reference = tuple[str, Any]

# Far beyond any real amount (10 trillion yuan) yet far from BIGINT overflow, so an absurd amount is
# a clean validation error, never a database error.
MAX_AMOUNT_FEN = 10**15


class InsufficientFunds(ValidationError):
    """The debited account would go below zero."""

    def __init__(self, account: Account) -> None:
        what = "escrow" if account.kind == Account.Kind.ESCROW else "available balance"
        super().__init__(
            {"amount_fen": f"The {what} is too low for this amount."},
        )
        self.account = account


class DuplicateLedgerTransaction(ValidationError):
    """A transaction of this kind already exists for this reference (e.g. an order released
    twice)."""

    def __init__(self, kind: str, reference: tuple[str, str]) -> None:
        super().__init__(
            f"A {kind} for {reference[0]} {reference[1]} has already been recorded.",
            code="duplicate",
        )


# --- Accounts ------------------------------------------------------------------------------------


def _account(organisation: Organisation | None, kind: str) -> Account:
    # get_or_create is race-safe here: it inserts inside a savepoint and, when a concurrent
    # insert wins the unique constraint, fetches the winner's row instead.
    account, _ = Account.objects.get_or_create(organisation=organisation, kind=kind)
    return account


def _accounts(*wanted: tuple[Organisation | None, str]) -> list[Account]:
    """The accounts for these (organisation, kind) pairs, in order: one query when they all exist
    (as they do after an organisation's first movement), instead of one per account. Escrow
    transitions call this while holding the audit chain lock, where every query counts. A missing
    account is created exactly as _account() does."""
    query = Q()
    for organisation, kind in wanted:
        query |= Q(organisation=organisation, kind=kind)  # None: the platform's (IS NULL)
    found = {(a.organisation_id, a.kind): a for a in Account.objects.filter(query)}
    return [
        found.get((getattr(organisation, "pk", None), kind)) or _account(organisation, kind)
        for organisation, kind in wanted
    ]


def available_account(organisation: Organisation) -> Account:
    return _account(organisation, Account.Kind.AVAILABLE)


def escrow_account(organisation: Organisation) -> Account:
    return _account(organisation, Account.Kind.ESCROW)


def fee_account() -> Account:
    return _account(None, Account.Kind.FEE_REVENUE)


def external_account() -> Account:
    return _account(None, Account.Kind.EXTERNAL)


# --- The one primitive ---------------------------------------------------------------------------


def _positive(amount: Any, field: str = "amount_fen") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError({field: "must be a positive whole number of fen"})
    return amount


def _reference(reference: Reference) -> tuple[str, str]:
    ref_type, ref_id = reference
    ref_type, ref_id = str(ref_type), str(ref_id)
    if not ref_type or not ref_id:
        raise ValidationError("a ledger transaction needs a reference (type, id)")
    return ref_type, ref_id


@transaction.atomic
def post(
    *,
    kind: str,
    reference: Reference,
    legs: Iterable[tuple[Account, int]],
    actor: Any = None,
    memo: str = "",
    organisation: Organisation | None = None,
) -> Transaction:
    """Write one balanced transaction: `legs` are (account, signed fen), positive = credit.

    Runs inside the caller's transaction (as a savepoint), so the caller's other writes and these
    postings commit or roll back together; the account row locks are held until that commit.
    Raises InsufficientFunds, DuplicateLedgerTransaction or ValidationError; nothing is written
    then.
    """
    if kind not in Transaction.Kind.values:
        raise ValidationError(f"unknown ledger transaction kind {kind!r}")
    ref = _reference(reference)
    merged: dict[int, int] = {}
    for account, amount in legs:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValidationError("ledger amounts are whole numbers of fen")
        if abs(amount) > MAX_AMOUNT_FEN:
            raise ValidationError({"amount_fen": "exceeds the largest amount the ledger accepts"})
        merged[account.pk] = merged.get(account.pk, 0) + amount
    merged = {pk: amount for pk, amount in merged.items() if amount != 0}
    if len(merged) < 2:
        raise ValidationError("a ledger transaction moves money between at least two accounts")
    if sum(merged.values()) != 0:
        raise ValidationError("a ledger transaction's postings must sum to zero")

    # Lock order, the same in every transaction: the audit chain's advisory lock first (record()
    # below takes it anyway and holds it to commit; taking it after the account rows could
    # deadlock with a caller that recorded an audit event before calling us), then the accounts
    # in ascending id, so two transfers in opposite directions cannot deadlock either.
    lock_chain()
    locked = {
        a.pk: a for a in Account.objects.select_for_update().filter(pk__in=merged).order_by("pk")
    }
    if len(locked) != len(merged):
        raise ValidationError("unknown ledger account")
    # Checked after taking the locks: a concurrent duplicate has committed (and is visible) or
    # is still waiting behind us. The unique constraint backs this up.
    if Transaction.objects.filter(kind=kind, reference_type=ref[0], reference_id=ref[1]).exists():
        raise DuplicateLedgerTransaction(kind, ref)
    for pk in sorted(merged):
        account = locked[pk]
        if account.kind != Account.Kind.EXTERNAL and account.balance + merged[pk] < 0:
            raise InsufficientFunds(account)

    txn = Transaction.objects.create(
        kind=kind,
        reference_type=ref[0],
        reference_id=ref[1],
        memo=memo[:300],
        actor=actor if getattr(actor, "pk", None) else None,
    )
    postings = []
    for pk in sorted(merged):
        account = locked[pk]
        account.balance += merged[pk]
        postings.append(
            Posting(
                transaction=txn,
                account=account,
                amount=merged[pk],
                balance_after=account.balance,
            )
        )
        # F() keeps the arithmetic in the database: the CHECK constraint judges the real value.
        Account.objects.filter(pk=pk).update(balance=F("balance") + merged[pk])
    Posting.objects.bulk_create(postings)

    if organisation is None:
        owners = [locked[pk].organisation_id for pk in sorted(merged) if merged[pk] < 0]
        owners += [locked[pk].organisation_id for pk in sorted(merged)]
        organisation_id = next((o for o in owners if o), None)
    else:
        organisation_id = organisation.pk
    record(
        f"ledger.{kind}",
        txn,
        actor=actor,
        organisation=organisation_id,
        changes={
            "reference": list(ref),
            "postings": [
                {"account": pk, "kind": locked[pk].kind, "amount_fen": merged[pk]}
                for pk in sorted(merged)
            ],
            **({"memo": memo[:300]} if memo else {}),
        },
    )
    return txn


def transfer(
    *,
    debit: Account,
    credit: Account,
    amount_fen: int,
    kind: str = Transaction.Kind.TRANSFER,
    reference: Reference,
    actor: Any = None,
    memo: str = "",
) -> Transaction:
    """Move `amount_fen` from `debit` to `credit` in the caller's transaction."""
    amount = _positive(amount_fen)
    if debit.pk == credit.pk:
        raise ValidationError("cannot transfer from an account to itself")
    return post(
        kind=kind,
        reference=reference,
        legs=[(debit, -amount), (credit, amount)],
        actor=actor,
        memo=memo,
    )


# --- Escrow building blocks (trading calls these inside its order transitions) -------------------


def hold_escrow(
    *, buyer: Organisation, amount_fen: int, reference: Reference, actor: Any = None
) -> Transaction:
    """Buyer's available → buyer's escrow."""
    ensure_not_frozen(buyer, "fund orders")
    available, escrow = _accounts((buyer, Account.Kind.AVAILABLE), (buyer, Account.Kind.ESCROW))
    return transfer(
        debit=available,
        credit=escrow,
        amount_fen=amount_fen,
        kind=Transaction.Kind.ESCROW_HOLD,
        reference=reference,
        actor=actor,
    )


def release_escrow(
    *,
    buyer: Organisation,
    seller: Organisation,
    amount_fen: int,
    fee_fen: int,
    reference: Reference,
    actor: Any = None,
) -> Transaction:
    """Buyer's escrow pays out `amount_fen`: the seller gets amount - fee, the platform the fee."""
    amount = _positive(amount_fen)
    if isinstance(fee_fen, bool) or not isinstance(fee_fen, int) or not 0 <= fee_fen <= amount:
        raise ValidationError({"fee_fen": "must be between 0 and the amount"})
    escrow, seller_available, fees = _accounts(
        (buyer, Account.Kind.ESCROW),
        (seller, Account.Kind.AVAILABLE),
        (None, Account.Kind.FEE_REVENUE),
    )
    legs = [(escrow, -amount), (seller_available, amount - fee_fen), (fees, fee_fen)]
    return post(
        kind=Transaction.Kind.ESCROW_RELEASE,
        reference=reference,
        legs=legs,
        actor=actor,
        organisation=buyer,
    )


def refund_escrow(
    *, buyer: Organisation, amount_fen: int, reference: Reference, actor: Any = None
) -> Transaction:
    """Buyer's escrow → buyer's available."""
    return transfer(
        debit=escrow_account(buyer),
        credit=available_account(buyer),
        amount_fen=amount_fen,
        kind=Transaction.Kind.ESCROW_REFUND,
        reference=reference,
        actor=actor,
    )


def split_escrow(
    *,
    buyer: Organisation,
    seller: Organisation,
    to_seller_fen: int,
    to_buyer_fen: int,
    fee_fen: int,
    reference: Reference,
    actor: Any = None,
) -> Transaction:
    """A dispute decided both ways. The buyer's escrow pays out to_seller + to_buyer + fee in
    total: to_seller to the seller's available, to_buyer back to the buyer's available, the fee
    to the platform. Any part may be zero, not all."""
    parts = {"to_seller_fen": to_seller_fen, "to_buyer_fen": to_buyer_fen, "fee_fen": fee_fen}
    for name, value in parts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError({name: "must be a whole number of fen, zero or more"})
    total = to_seller_fen + to_buyer_fen + fee_fen
    _positive(total)
    legs = [
        (escrow_account(buyer), -total),
        (available_account(seller), to_seller_fen),
        (available_account(buyer), to_buyer_fen),
        (fee_account(), fee_fen),
    ]
    return post(
        kind=Transaction.Kind.ESCROW_SPLIT,
        reference=reference,
        legs=legs,
        actor=actor,
        organisation=buyer,
    )
