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

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_noop

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
        if account.kind == Account.Kind.ESCROW:
            message = gettext("The escrow is too low for this amount.")
        else:
            message = gettext("The available balance is too low for this amount.")
        super().__init__({"amount_fen": message})
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
        raise ValidationError({field: gettext("must be a positive whole number of fen")})
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
    ref, merged = _checked(kind, reference, ((account.pk, amount) for account, amount in legs))
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
    return _write(kind, ref, merged, locked, actor=actor, memo=memo, organisation=organisation)


@transaction.atomic
def _post_by_owner(
    *,
    kind: str,
    reference: Reference,
    legs: Sequence[tuple[Organisation | None, str, int]],
    actor: Any = None,
    organisation: Organisation | None = None,
) -> Transaction:
    """post() for legs named by (owner, account kind, signed fen), as the escrow movements name
    them. Finding and locking the accounts is one query (the chain lock first, then the rows in
    ascending id, as post() does) instead of one to find them and one to lock them, which both
    ran while holding the chain lock. If one of them does not exist yet it is created as
    _account() does and the movement goes through post()."""
    moving = [(owner, account_kind, amount) for owner, account_kind, amount in legs if amount]
    lock_chain()
    query = Q()
    for owner, account_kind, _ in moving:
        query |= Q(organisation=owner, kind=account_kind)  # None: the platform's (IS NULL)
    found = {
        (a.organisation_id, a.kind): a
        for a in Account.objects.select_for_update().filter(query).order_by("pk")
    }
    wanted = [(getattr(owner, "pk", None), account_kind) for owner, account_kind, _ in moving]
    if not moving or any(key not in found for key in wanted):
        accounts = _accounts(*((owner, account_kind) for owner, account_kind, _ in legs))
        return post(
            kind=kind,
            reference=reference,
            legs=[(account, leg[2]) for account, leg in zip(accounts, legs, strict=True)],
            actor=actor,
            organisation=organisation,
        )
    ref, merged = _checked(
        kind, reference, ((found[key].pk, leg[2]) for key, leg in zip(wanted, moving, strict=True))
    )
    locked = {account.pk: account for account in found.values()}
    return _write(kind, ref, merged, locked, actor=actor, memo="", organisation=organisation)


def _checked(
    kind: str, reference: Reference, legs: Iterable[tuple[int, int]]
) -> tuple[tuple[str, str], dict[int, int]]:
    """The reference and the legs merged per account id (zero legs dropped), or ValidationError."""
    if kind not in Transaction.Kind.values:
        raise ValidationError(f"unknown ledger transaction kind {kind!r}")
    ref = _reference(reference)
    merged: dict[int, int] = {}
    for account_id, amount in legs:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValidationError("ledger amounts are whole numbers of fen")
        if abs(amount) > MAX_AMOUNT_FEN:
            raise ValidationError(
                {"amount_fen": gettext("exceeds the largest amount the ledger accepts")}
            )
        merged[account_id] = merged.get(account_id, 0) + amount
    merged = {pk: amount for pk, amount in merged.items() if amount != 0}
    if len(merged) < 2:
        raise ValidationError("a ledger transaction moves money between at least two accounts")
    if sum(merged.values()) != 0:
        raise ValidationError("a ledger transaction's postings must sum to zero")
    return ref, merged


# One statement for every balance a transaction changes, instead of one UPDATE per account. The
# arithmetic stays in the database (as with F()), so the CHECK constraint judges the real value.
_ADD_TO_BALANCES_SQL = (
    f"UPDATE {Account._meta.db_table} AS a SET balance = a.balance + d.delta "  # noqa: S608
    "FROM (VALUES {rows}) AS d(id, delta) WHERE a.id = d.id"
)


def _add_to_balances(merged: dict[int, int]) -> None:
    if connection.vendor != "postgresql":
        for pk in sorted(merged):
            Account.objects.filter(pk=pk).update(balance=F("balance") + merged[pk])
        return
    rows = ", ".join(["(%s::bigint, %s::bigint)"] * len(merged))
    with connection.cursor() as cursor:
        cursor.execute(
            _ADD_TO_BALANCES_SQL.format(rows=rows),
            [value for pk in sorted(merged) for value in (pk, merged[pk])],
        )


def _write(
    kind: str,
    ref: tuple[str, str],
    merged: dict[int, int],
    locked: dict[int, Account],
    *,
    actor: Any,
    memo: str,
    organisation: Organisation | None,
) -> Transaction:
    """The checks that need the locked rows, then the writes. `locked`: the accounts of `merged`,
    locked by this transaction, after the chain lock."""
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
    _add_to_balances(merged)
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
    ensure_not_frozen(buyer, gettext_noop("fund orders"))
    amount = _positive(amount_fen)
    return _post_by_owner(
        kind=Transaction.Kind.ESCROW_HOLD,
        reference=reference,
        legs=[(buyer, Account.Kind.AVAILABLE, -amount), (buyer, Account.Kind.ESCROW, amount)],
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
        raise ValidationError({"fee_fen": gettext("must be between 0 and the amount")})
    return _post_by_owner(
        kind=Transaction.Kind.ESCROW_RELEASE,
        reference=reference,
        legs=[
            (buyer, Account.Kind.ESCROW, -amount),
            (seller, Account.Kind.AVAILABLE, amount - fee_fen),
            (None, Account.Kind.FEE_REVENUE, fee_fen),
        ],
        actor=actor,
        organisation=buyer,
    )


def refund_escrow(
    *, buyer: Organisation, amount_fen: int, reference: Reference, actor: Any = None
) -> Transaction:
    """Buyer's escrow → buyer's available."""
    amount = _positive(amount_fen)
    return _post_by_owner(
        kind=Transaction.Kind.ESCROW_REFUND,
        reference=reference,
        legs=[(buyer, Account.Kind.ESCROW, -amount), (buyer, Account.Kind.AVAILABLE, amount)],
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
            raise ValidationError({name: gettext("must be a whole number of fen, zero or more")})
    total = to_seller_fen + to_buyer_fen + fee_fen
    _positive(total)
    return _post_by_owner(
        kind=Transaction.Kind.ESCROW_SPLIT,
        reference=reference,
        legs=[
            (buyer, Account.Kind.ESCROW, -total),
            (seller, Account.Kind.AVAILABLE, to_seller_fen),
            (buyer, Account.Kind.AVAILABLE, to_buyer_fen),
            (None, Account.Kind.FEE_REVENUE, fee_fen),
        ],
        actor=actor,
        organisation=buyer,
    )
