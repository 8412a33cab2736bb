"""Every transition of an order and its dispute. Each runs in one transaction, takes its locks in
one fixed order, writes its audit event(s) and queues its webhooks in that transaction.

Lock order, the same everywhere (so no two of these transactions deadlock):

    1. the audit chain's advisory lock (exchange.audit.services.lock_chain)
    2. the order row (SELECT ... FOR UPDATE)
    3. ledger accounts, in id order (inside exchange.ledger.services.post)
    4. licensing rows (contract, licence), inside the licensing services

Creating an order is the one exception to "chain lock first", because it locks no row: it reads
the offer and plan, renders and inserts the contract and the seller's signature, and only then
takes the chain lock (in its first record()). Until then it holds no lock another transaction
can wait for: its new rows are invisible to others, and the foreign-key checks (and the FOR KEY
SHARE row locks they take) are deferred to COMMIT, as Django declares them DEFERRABLE INITIALLY
DEFERRED, so they run with the chain lock held, exactly as they did when create_order took it
first. While waiting for the chain lock it therefore blocks nobody, and from the chain lock on it
does what it did before. It cannot add a deadlock; the expensive part (texts, ODRL policy,
hashing) has simply left the critical section that serialises every write.

Every transition re-reads the order under its lock and checks the current status, so of two
racing requests (two funds, an accept and a dispute, a release and a refund) exactly one acts and
the other is refused with IllegalTransition. The ledger's unique (kind, reference) backs this up.

Money: amounts are integer fen. The platform fee is PLATFORM_FEE_BPS basis points of what the
seller is paid, rounded down (floor) to the fen, so 0 <= fee <= amount always holds. Free orders
(0 fen) move no money (the ledger refuses zero postings) but get their contract and licence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from exchange.audit.services import lock_chain, record
from exchange.ledger import services as ledger
from exchange.participants.models import Organisation, User
from exchange.participants.services import ensure_not_frozen, require_manager
from exchange.status_words import status_word
from exchange.storage import Area, get_storage
from exchange.trading import webhooks
from exchange.trading.models import (
    Dispute,
    DownloadLink,
    Notification,
    Order,
    ReleasedVersionMarker,
    WebhookEndpoint,
    WebhookEvent,
)
from licensing import enforcement
from licensing import services as licensing
from licensing.models import Contract, Licence
from listings.models import ListingVersion, PricePlan, VersionFile

S = Order.Status

AUTO_ACCEPT_BATCH = 200
MAX_EVIDENCE_ITEMS = 20


class IllegalTransition(ValidationError):
    """The order (or dispute) is not in a state that allows this step."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="illegal_transition")


# --- helpers --------------------------------------------------------------------------------------


def fee_bps() -> int:
    bps = int(getattr(settings, "PLATFORM_FEE_BPS", 500))
    if not 0 <= bps <= 10_000:
        raise ValueError("PLATFORM_FEE_BPS must be between 0 and 10000")
    return bps


def platform_fee(amount_fen: int) -> int:
    """The platform's share of `amount_fen`, in whole fen, rounded down: floor(amount * bps / 1e4).
    Rounding down favours the seller by under one fen and keeps 0 <= fee <= amount."""
    if amount_fen <= 0:
        return 0
    return min(amount_fen, amount_fen * fee_bps() // 10_000)


def window(order: Order) -> timedelta:
    return timedelta(hours=order.acceptance_window_hours)


def _lock(order: Order | int, *, with_relations: bool = False) -> Order:
    """Chain lock, then the order row (see the module docstring for why in this order).

    with_relations: the relations the transition and the API response read (contract, listing,
    parties) come in the same query; loaded lazily they cost one query each, all while holding
    the chain lock. `of=("self",)` keeps the row lock on the order alone, exactly as without; the
    related rows are read as they are at that moment, which is what lazy loads saw too. (Not the
    dispute: a reverse relation cached as "none" would go stale on the returned order once one
    is opened.)"""
    lock_chain()
    pk = order.pk if isinstance(order, Order) else order
    if not with_relations:
        return Order.objects.select_for_update().get(pk=pk)
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("contract", "listing", "buyer", "seller")
        .only(*_LOCKED_ORDER_COLUMNS)
        .get(pk=pk)
    )


# What the locking query loads: the order and its parties whole, and of the contract and the
# listing only what the transitions and the order response read (the contract's texts and policy
# are re-read under the contract's own lock when licensing needs them). Any other column loads on
# access, like any deferred field. Naming the few columns kept costs less to compile and load
# than deferring the many left out.
_LOCKED_ORDER_COLUMNS = (
    *(f.name for f in Order._meta.concrete_fields),
    *(
        f"{party}__{f.name}"
        for party in ("buyer", "seller")
        for f in Organisation._meta.concrete_fields
    ),
    "contract__reference",
    "contract__content_hash",
    "contract__status",
    "contract__signed_at",
    "listing__title",
)


def _undisputed(order: Order) -> Order:
    """Note on the instance that the order has no dispute, so the API's order body does not ask
    the database. Only for an order created here or found, under its row lock, in a status a
    dispute has never been opened from: open_dispute moves a funded or delivered order to
    `disputed` under that same lock, and a disputed order never returns to created, signed,
    funded or delivered. Later disputes are not reflected on this instance (as with any loaded
    relation); the responses it serves describe the transition just made."""
    Order.dispute.related.set_cached_value(order, None)
    return order


def _require(order: Order, allowed: Iterable[str], doing: str) -> None:
    """`doing` is an English phrase marked with gettext_noop; it is translated only on refusal."""
    if order.status not in set(allowed):
        raise IllegalTransition(
            gettext("A %(status)s order cannot %(doing)s.")
            % {"status": status_word(order.status), "doing": gettext(doing)}
        )


def _require_party(order: Order, organisation: Organisation | None, party: str) -> None:
    expected = order.buyer_id if party == "buyer" else order.seller_id
    if organisation is None or organisation.pk != expected:
        if party == "buyer":
            raise PermissionDenied(gettext("Only the buyer of this order may do this."))
        raise PermissionDenied(gettext("Only the seller of this order may do this."))


def _require_staff(actor: User | None) -> User:
    if actor is None or not (actor.is_regulator or actor.is_operator):
        raise PermissionDenied(
            gettext("Only a regulator or platform operator may resolve disputes.")
        )
    return actor


def _set_status(
    order: Order,
    new: str,
    *,
    actor: Any,
    organisation: Organisation | int | None,
    changes: Mapping[str, Any] | None = None,
    fields: Sequence[str] = (),
    save: bool = True,
) -> None:
    """Move the order to `new` and audit it. save=False leaves the row to a later _set_status
    of the same transaction (which then saves `fields` of both)."""
    old = order.status
    order.status = new
    if save:
        order.save(update_fields=["status", "updated_at", *fields])
    record(
        f"order.{new}",
        order,
        actor=actor if getattr(actor, "pk", None) else None,
        organisation=organisation,
        changes={"status": [old, new], **(changes or {})},
    )


def order_summary(order: Order) -> dict[str, Any]:
    """What webhooks say about an order (ids and amounts; no personal data)."""
    return {
        "order": {
            "id": order.pk,
            "status": order.status,
            "outcome": order.outcome or None,
            "buyer": order.buyer_id,
            "seller": order.seller_id,
            "listing": order.listing_id,
            "price_plan": order.price_plan_id,
            "amount_fen": order.amount_fen,
            "currency": "CNY",
            "licence": str(order.licence_id) if order.licence_id else None,
            "accept_by": order.accept_by.isoformat() if order.accept_by else None,
        }
    }


def _announce(event: str, order: Order, extra: Mapping[str, Any] | None = None) -> None:
    webhooks.emit(
        event, [order.buyer_id, order.seller_id], {**order_summary(order), **(extra or {})}
    )


# --- create, sign, cancel -------------------------------------------------------------------------


@transaction.atomic
def create_order(
    *,
    actor: User,
    buyer: Organisation,
    price_plan: PricePlan,
    choices: Mapping[str, Any] | None = None,
    listing_version: ListingVersion | None = None,
) -> Order:
    """An order on a price plan and its contract (from the plan's active offer and the buyer's
    choices), pre-signed by the seller through the offer, awaiting the buyer's signature."""
    ensure_not_frozen(buyer, gettext_noop("place orders"))
    # No lock_chain() up front: this transaction locks no row (see "Creating an order is the one
    # exception" in the module docstring), so the chain lock is taken by the first record(),
    # after the contract's texts and policy are rendered, hashed and inserted, not around them.
    contract = licensing.create_contract_on_plan(
        price_plan=price_plan,
        buyer_org=buyer,
        actor=actor,
        choices=dict(choices or {}),
        listing_version=listing_version,
    )
    plan = contract.price_plan  # loaded by create_contract: no query under the chain lock
    order = Order.objects.create(
        buyer=buyer,
        seller=contract.seller,  # objects, not ids: the API answers from this instance
        price_plan=plan,
        listing=contract.listing,
        contract=contract,
        amount_fen=contract.price_fen,
        acceptance_window_hours=plan.acceptance_window_hours,
        created_by=actor,
    )
    record(
        "order.created",
        order,
        actor=actor,
        organisation=buyer,
        changes={
            "status": [None, S.CREATED],
            "price_plan": plan.pk,
            "amount_fen": order.amount_fen,
            "contract": contract.reference,
        },
    )
    return _undisputed(order)


@transaction.atomic
def sign_order(
    *,
    actor: User,
    organisation: Organisation,
    order: Order,
    signed_hash: str,
    ip: str | None = None,
    user_agent: str = "",
) -> Order:
    """The buyer signs the contract hash it was shown; the order becomes `signed`."""
    locked = _lock(order, with_relations=True)
    _require_party(locked, organisation, "buyer")
    _require(locked, [S.CREATED], gettext_noop("be signed"))
    signature = licensing.sign_contract(
        contract=locked.contract,
        actor=actor,
        organisation=organisation,
        signed_hash=signed_hash,
        ip=ip,
        user_agent=user_agent,
    )
    # The contract as sign_contract left it: it holds the contract's row lock, so no re-read.
    contract = signature.contract
    locked.contract = contract
    if contract.status != Contract.Status.SIGNED:
        raise ValidationError({"contract": gettext("the contract still lacks a signature")})
    locked.signed_at = contract.signed_at or timezone.now()
    _set_status(
        locked,
        S.SIGNED,
        actor=actor,
        organisation=organisation,
        changes={"contract_hash": contract.content_hash},
        fields=["signed_at"],
    )
    return _undisputed(locked)


@transaction.atomic
def cancel_order(
    *, actor: User, organisation: Organisation, order: Order, reason: str = ""
) -> Order:
    """Either party may cancel before funding; nothing has moved yet."""
    locked = _lock(order)
    if organisation is None or organisation.pk not in (locked.buyer_id, locked.seller_id):
        raise PermissionDenied(gettext("Only a party to this order may cancel it."))
    _require(
        locked, [S.CREATED, S.SIGNED], gettext_noop("be cancelled (only orders not yet funded can)")
    )
    locked.cancelled_at = timezone.now()
    locked.cancel_reason = (reason or "").strip()[:300]
    _set_status(
        locked,
        S.CANCELLED,
        actor=actor,
        organisation=organisation,
        changes={"reason": locked.cancel_reason},
        fields=["cancelled_at", "cancel_reason"],
    )
    return locked


# --- fund, deliver --------------------------------------------------------------------------------


@transaction.atomic
def fund_order(*, actor: User | None, organisation: Organisation, order: Order) -> Order:
    """Buyer's available → escrow (skipped for free orders), then the licence is issued."""
    locked = _lock(order, with_relations=True)
    _require_party(locked, organisation, "buyer")
    ensure_not_frozen(organisation, gettext_noop("fund orders"))
    _require(locked, [S.SIGNED], gettext_noop("be funded"))
    if locked.amount_fen > 0:
        ledger.hold_escrow(
            buyer=organisation,
            amount_fen=locked.amount_fen,
            reference=locked.reference,
            actor=actor,
        )
    licence = licensing.issue_licence(contract=locked.contract)
    locked.licence = licence
    locked.funded_at = timezone.now()
    _set_status(
        locked,
        S.FUNDED,
        actor=actor,
        organisation=organisation,
        changes={"amount_fen": locked.amount_fen, "licence": str(licence.pk)},
        fields=["licence", "funded_at"],
    )
    _announce(WebhookEvent.ORDER_FUNDED, locked)
    return _undisputed(locked)


def _deliver(locked: Order, *, actor: Any, organisation: Organisation | None, how: str) -> None:
    now = timezone.now()
    locked.delivered_at = now
    locked.accept_by = now + window(locked)
    _set_status(
        locked,
        S.DELIVERED,
        actor=actor,
        organisation=organisation,
        changes={"how": how, "accept_by": locked.accept_by.isoformat()},
        fields=["delivered_at", "accept_by"],
    )
    _announce(WebhookEvent.ORDER_DELIVERED, locked)


@transaction.atomic
def deliver_order(*, actor: User, organisation: Organisation, order: Order) -> Order:
    """The seller declares delivery (e.g. data handed over outside the platform); the acceptance
    window starts now."""
    locked = _lock(order)
    _require_party(locked, organisation, "seller")
    ensure_not_frozen(organisation, gettext_noop("deliver data"))
    _require(locked, [S.FUNDED], gettext_noop("be delivered"))
    _deliver(locked, actor=actor, organisation=organisation, how="seller")
    return locked


@dataclass(frozen=True)
class IssuedLink:
    link: DownloadLink
    url: str
    file: VersionFile
    version: ListingVersion


@dataclass(frozen=True)
class IssuedLinks:
    """What issue_download_links() issued. `delivered`: these were the order's first links and
    delivered it; `order` is then the row that call locked and changed, with its contract,
    listing and parties loaded (no dispute can exist: it was funded under the lock). Otherwise
    `order` is as read before the licensing check."""

    links: list[IssuedLink]
    order: Order
    delivered: bool


def covered_versions(order: Order) -> list[ListingVersion]:
    """The versions the order's licence may cover, newest first (licensing has the last word)."""
    licence = order.licence
    if licence is None:
        return []
    versions = ListingVersion.objects.filter(
        listing_id=order.listing_id, status=ListingVersion.Status.APPROVED
    ).order_by("-number")
    if licence.plan_kind != PricePlan.Kind.SUBSCRIPTION and licence.listing_version_id:
        versions = versions.filter(pk=licence.listing_version_id)
    return list(versions[:50])


def link_ttl() -> int:
    return min(300, int(getattr(settings, "DOWNLOAD_LINK_TTL_SECONDS", 300)))


def issue_download_links(
    *,
    actor: User,
    organisation: Organisation,
    order: Order,
    api_key: Any = None,
    version_number: int | None = None,
) -> IssuedLinks:
    """Presigned links (at most 5 minutes) for every published file of every version the order's
    licence covers, each asked of licensing first (active licence, right organisation, seats).
    Every link is recorded. The first links deliver a funded order."""
    current = Order.objects.select_related("licence").get(pk=order.pk)
    _require_party(current, organisation, "buyer")
    ensure_not_frozen(organisation, gettext_noop("download data"))
    if current.status in (S.CREATED, S.SIGNED, S.CANCELLED) or current.licence is None:
        raise IllegalTransition(gettext("Download links are issued only once the order is funded."))
    candidates = covered_versions(current)
    if version_number is not None:
        candidates = [v for v in candidates if v.number == version_number]
    # Asked before any lock: the decision (and a seat) is logged in its own transaction.
    allowed = []
    refusal = "no_licence"
    for version in candidates:
        decision = enforcement.may_download(organisation, version, user=actor)
        if decision.allowed:
            allowed.append(version)
        else:
            refusal = decision.reason
    if not allowed:
        raise PermissionDenied(
            gettext("No download is allowed under this order (%(refusal)s).") % {"refusal": refusal}
        )
    files = list(VersionFile.objects.filter(version__in=allowed).order_by("version_id", "name"))
    by_version = {v.pk: v for v in allowed}
    storage = get_storage()
    ttl = link_ttl()
    with transaction.atomic():
        # Only a funded order changes state here: then chain lock, then the order row (with
        # what the API answers with, so it need not read the order again).
        locked = _lock(current, with_relations=True) if current.status == S.FUNDED else current
        if locked.status in (S.CANCELLED, S.CREATED, S.SIGNED):
            raise IllegalTransition(gettext("This order cannot be downloaded."))
        assert locked.licence_id is not None
        # A refund or revocation may have landed since the licensing check: check again.
        if not Licence.objects.filter(pk=locked.licence_id, status=Licence.Status.ACTIVE).exists():
            raise PermissionDenied(gettext("The licence of this order is no longer active."))
        now = timezone.now()
        issued = []
        for f in files:
            url = storage.download_url(Area.PUBLISHED, f.storage_key, filename=f.name, ttl=ttl)
            link = DownloadLink.objects.create(
                order=locked,
                licence_id=locked.licence_id,
                version_id=f.version_id,
                file=f,
                organisation=organisation,
                user=actor,
                api_key=api_key if getattr(api_key, "pk", None) else None,
                issued_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
            issued.append(IssuedLink(link, url, f, by_version[f.version_id]))
        delivered = bool(issued) and locked.status == S.FUNDED
        if delivered:
            _deliver(locked, actor=actor, organisation=organisation, how="first download")
            _undisputed(locked)
    return IssuedLinks(links=issued, order=locked, delivered=delivered)


# --- accept, settle -------------------------------------------------------------------------------


def _settle_release(
    locked: Order, *, actor: Any, organisation: Any, fields: Sequence[str] = ()
) -> None:
    fee = platform_fee(locked.amount_fen)
    if locked.amount_fen > 0:
        ledger.release_escrow(
            buyer=locked.buyer,
            seller=locked.seller,
            amount_fen=locked.amount_fen,
            fee_fen=fee,
            reference=locked.reference,
            actor=actor,
        )
    _settled(
        locked,
        outcome=Order.Outcome.RELEASED,
        seller=locked.amount_fen - fee,
        buyer=0,
        fee=fee,
        actor=actor,
        organisation=organisation,
        fields=fields,
    )


def _settled(
    locked: Order,
    *,
    outcome: str,
    seller: int,
    buyer: int,
    fee: int,
    actor: Any,
    organisation: Any,
    fields: Sequence[str] = (),
) -> None:
    locked.outcome = outcome
    locked.seller_received_fen = seller
    locked.buyer_refunded_fen = buyer
    locked.fee_fen = fee
    locked.settled_at = timezone.now()
    _set_status(
        locked,
        S.SETTLED,
        actor=actor,
        organisation=organisation,
        changes={
            "outcome": outcome,
            "seller_received_fen": seller,
            "buyer_refunded_fen": buyer,
            "fee_fen": fee,
        },
        fields=[
            "outcome",
            "seller_received_fen",
            "buyer_refunded_fen",
            "fee_fen",
            "settled_at",
            *fields,
        ],
    )
    _announce(WebhookEvent.ORDER_SETTLED, locked)


def _accept(locked: Order, *, actor: Any, organisation: Any, automatic: bool) -> None:
    locked.accepted_at = timezone.now()
    # Acceptance settles at once, in the same transaction, so no other transaction can see the
    # row as `accepted`: it is written once, as settled with its accepted_at, while the chain
    # still records both transitions, in order, around the release of the escrow.
    _set_status(
        locked,
        S.ACCEPTED,
        actor=actor,
        organisation=organisation,
        changes={"automatic": automatic},
        save=False,
    )
    _settle_release(locked, actor=actor, organisation=organisation, fields=["accepted_at"])


@transaction.atomic
def accept_order(*, actor: User, organisation: Organisation, order: Order) -> Order:
    """The buyer accepts the delivery: escrow goes to the seller minus the platform fee."""
    locked = _lock(order, with_relations=True)
    _require_party(locked, organisation, "buyer")
    ensure_not_frozen(organisation, gettext_noop("accept deliveries"))
    _require(locked, [S.DELIVERED], gettext_noop("be accepted (only a delivered order can)"))
    _accept(locked, actor=actor, organisation=organisation, automatic=False)
    return _undisputed(locked)


def auto_accept_due_orders(now: datetime | None = None, *, limit: int = AUTO_ACCEPT_BATCH) -> int:
    """Accept and settle delivered orders whose acceptance window has closed. Each order is
    claimed and settled in its own transaction: chain lock, then the order row with SKIP LOCKED
    and the status guard re-checked, so concurrent runs (or a buyer accepting at the same moment)
    settle every order exactly once. Orders of a frozen party wait until it is unfrozen."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(status=S.DELIVERED, accept_by__lte=now)
        .order_by("accept_by", "id")
        .values_list("pk", flat=True)[:limit]
    )
    settled = 0
    for pk in due:
        with transaction.atomic():
            lock_chain()
            locked = (
                Order.objects.select_for_update(skip_locked=True)
                .select_related("buyer", "seller")
                .filter(pk=pk, status=S.DELIVERED, accept_by__lte=now)
                .first()
            )
            if locked is None or locked.buyer.is_frozen or locked.seller.is_frozen:
                continue
            _accept(locked, actor=None, organisation=locked.buyer_id, automatic=True)
            settled += 1
    return settled


# --- disputes -------------------------------------------------------------------------------------


def _evidence(items: Any) -> list[dict[str, str]]:
    if items in (None, ""):
        return []
    if not isinstance(items, list) or len(items) > MAX_EVIDENCE_ITEMS:
        raise ValidationError(
            {
                "evidence": gettext("a list of at most %(count)d items")
                % {"count": MAX_EVIDENCE_ITEMS}
            }
        )
    cleaned = []
    for item in items:
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise ValidationError({"evidence": gettext("each item is a text or {text, url}")})
        text = str(item.get("text") or "")[:2000]
        url = str(item.get("url") or "")[:500]
        if url and not url.startswith(("https://", "http://")):
            raise ValidationError({"evidence": gettext("links must be http(s) URLs")})
        if text or url:
            cleaned.append({k: v for k, v in (("text", text), ("url", url)) if v})
    return cleaned


@transaction.atomic
def open_dispute(
    *,
    actor: User,
    organisation: Organisation,
    order: Order,
    reason: str,
    evidence: Any = None,
) -> Dispute:
    """The buyer disputes a funded order (not delivered) or a delivered one within its acceptance
    window. The escrow stays held until a regulator or operator resolves it."""
    if not (reason or "").strip():
        raise ValidationError({"reason": gettext("say what is wrong")})
    items = _evidence(evidence)
    locked = _lock(order)
    _require_party(locked, organisation, "buyer")
    ensure_not_frozen(organisation, gettext_noop("open disputes"))
    _require(locked, [S.FUNDED, S.DELIVERED], gettext_noop("be disputed"))
    now = timezone.now()
    if locked.status == S.DELIVERED and locked.accept_by and now >= locked.accept_by:
        raise IllegalTransition(gettext("The acceptance window of this order has closed."))
    dispute = Dispute.objects.create(
        order=locked,
        reason=reason.strip()[:5000],
        evidence=items,
        opened_by=actor,
        opened_at=now,
    )
    _set_status(
        locked, S.DISPUTED, actor=actor, organisation=organisation, changes={"dispute": dispute.pk}
    )
    record(
        "dispute.opened",
        dispute,
        actor=actor,
        organisation=organisation,
        changes={"order": locked.pk, "evidence_items": len(items)},
    )
    _announce(WebhookEvent.DISPUTE_OPENED, locked, {"dispute": {"id": dispute.pk}})
    return dispute


def _lock_dispute(dispute: Dispute) -> tuple[Order, Dispute]:
    locked_order = _lock(dispute.order_id)
    return locked_order, Dispute.objects.select_for_update().get(pk=dispute.pk)


@transaction.atomic
def respond_to_dispute(
    *,
    actor: User,
    organisation: Organisation,
    dispute: Dispute,
    response: str,
    evidence: Any = None,
) -> Dispute:
    """The seller answers once, with its side and evidence."""
    if not (response or "").strip():
        raise ValidationError({"response": gettext("say what the seller's position is")})
    items = _evidence(evidence)
    order, locked = _lock_dispute(dispute)
    _require_party(order, organisation, "seller")
    if locked.status != Dispute.Status.OPEN:
        raise IllegalTransition(
            gettext("A %(status)s dispute takes no response.")
            % {"status": status_word(locked.status)}
        )
    locked.status = Dispute.Status.RESPONDED
    locked.seller_response = response.strip()[:5000]
    locked.seller_evidence = items
    locked.responded_by = actor
    locked.responded_at = timezone.now()
    locked.save()
    record(
        "dispute.responded",
        locked,
        actor=actor,
        organisation=organisation,
        changes={"status": ["open", "responded"], "evidence_items": len(items)},
    )
    return locked


def _whole(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError({field: gettext("a whole number of fen, zero or more")})
    return value


@transaction.atomic
def resolve_dispute(
    *,
    actor: User,
    dispute: Dispute,
    outcome: str,
    to_seller_fen: int | None = None,
    to_buyer_fen: int | None = None,
    note: str = "",
) -> Dispute:
    """A regulator or operator decides. refund: escrow back to the buyer, licence revoked;
    release: escrow to the seller minus the fee; split: `to_seller_fen` + `to_buyer_fen` must add
    up to the order amount, the fee is taken from the seller's part, the licence stays."""
    _require_staff(actor)
    if outcome not in Dispute.Outcome.values:
        raise ValidationError(
            {
                "outcome": gettext("one of %(choices)s")
                % {"choices": ", ".join(Dispute.Outcome.values)}
            }
        )
    order, locked = _lock_dispute(dispute)
    if locked.status == Dispute.Status.RESOLVED or order.status != S.DISPUTED:
        raise IllegalTransition(gettext("This dispute has already been resolved."))
    amount = order.amount_fen
    if outcome == Dispute.Outcome.SPLIT:
        seller_part = _whole(to_seller_fen, "to_seller_fen")
        buyer_part = _whole(to_buyer_fen, "to_buyer_fen")
        if seller_part + buyer_part != amount:
            raise ValidationError(
                {
                    "to_seller_fen": gettext(
                        "the two parts must add up to the order amount (%(amount)s fen)"
                    )
                    % {"amount": amount}
                }
            )
    elif outcome == Dispute.Outcome.REFUND:
        seller_part, buyer_part = 0, amount
    else:
        seller_part, buyer_part = amount, 0
    now = timezone.now()
    previous = locked.status
    locked.status = Dispute.Status.RESOLVED
    locked.outcome = outcome
    locked.to_seller_fen = seller_part
    locked.to_buyer_fen = buyer_part
    locked.resolution_note = (note or "").strip()[:5000]
    locked.resolved_by = actor
    locked.resolved_at = now
    locked.save()
    record(
        "dispute.resolved",
        locked,
        actor=actor,
        organisation=order.buyer_id,
        changes={
            "status": [previous, "resolved"],
            "outcome": outcome,
            "to_seller_fen": seller_part,
            "to_buyer_fen": buyer_part,
        },
    )
    _set_status(order, S.RESOLVED, actor=actor, organisation=order.buyer_id,
                changes={"outcome": outcome})  # fmt: skip
    fee = platform_fee(seller_part)
    reference = order.reference
    if outcome == Dispute.Outcome.RELEASE:
        _settle_release(order, actor=actor, organisation=order.buyer_id)
    else:
        if outcome == Dispute.Outcome.REFUND:
            if amount > 0:
                ledger.refund_escrow(
                    buyer=order.buyer, amount_fen=amount, reference=reference, actor=actor
                )
            _revoke(order, reason=f"dispute {locked.pk} resolved with a refund")
            kind = Order.Outcome.REFUNDED
        else:
            if amount > 0:
                ledger.split_escrow(
                    buyer=order.buyer,
                    seller=order.seller,
                    to_seller_fen=seller_part - fee,
                    to_buyer_fen=buyer_part,
                    fee_fen=fee,
                    reference=reference,
                    actor=actor,
                )
            kind = Order.Outcome.SPLIT
        _settled(
            order,
            outcome=kind,
            seller=seller_part - fee,
            buyer=buyer_part,
            fee=fee,
            actor=actor,
            organisation=order.buyer_id,
        )
    webhooks.emit(
        WebhookEvent.DISPUTE_RESOLVED,
        [order.buyer_id, order.seller_id],
        {**order_summary(order), "dispute": {"id": locked.pk, "outcome": outcome}},
    )
    return locked


def _revoke(order: Order, *, reason: str) -> None:
    if order.licence is None:
        return
    # The `licence.revoked` webhook goes out from announce_licence_revoked (licensing's signal),
    # the same path as a regulator's revocation.
    licensing.revoke_licence(licence=order.licence, actor=None, reason=reason)


def announce_licence_revoked(licence: Licence, reason: str) -> int:
    """Tell the licensee, by webhook, that its licence was revoked, whoever revoked it. Runs in
    the revoking transaction."""
    order = Order.objects.filter(licence=licence).only("pk", "buyer_id").first()
    return webhooks.emit(
        WebhookEvent.LICENCE_REVOKED,
        [licence.buyer_id],
        {
            "licence": {
                "id": str(licence.pk),
                "order": order.pk if order else None,
                "reason": reason,
            }
        },
    )


# --- subscriptions: new versions -----------------------------------------------------------------


def notify_version_released(version: ListingVersion) -> int:
    """Tell every subscriber whose licence covers this newly approved version (a notification and
    a `version.published` webhook). Claimed by inserting the version's marker row: whoever inserts
    it does the work in the same transaction, so it happens once however many callers race."""
    if version.status != ListingVersion.Status.APPROVED:
        return 0
    try:
        with transaction.atomic():
            marker = ReleasedVersionMarker.objects.create(version=version)
            count = _notify_subscribers(version)
            marker.notified = count
            marker.save(update_fields=["notified"])
            return count
    except IntegrityError:
        return 0  # another run has (or is) handling it


def _notify_subscribers(version: ListingVersion) -> int:
    released = enforcement.released_at(version) or timezone.now()
    orders = (
        Order.objects.filter(
            listing_id=version.listing_id,
            licence__plan_kind=PricePlan.Kind.SUBSCRIPTION,
            licence__status=Licence.Status.ACTIVE,
            licence__starts_at__lte=released,
        )
        .exclude(licence__ends_at__lte=released)
        .exclude(status__in=[S.CANCELLED, S.CREATED, S.SIGNED])
        .select_related("listing")
    )
    count = 0
    for order in orders:
        Notification.objects.create(
            organisation_id=order.buyer_id,
            kind=Notification.Kind.VERSION_PUBLISHED,
            order=order,
            version=version,
            message=(
                f"Version {version.number} of “{order.listing.title}” is available under "
                f"your subscription (order #{order.pk})."
            )[:500],
        )
        webhooks.emit(
            WebhookEvent.VERSION_PUBLISHED,
            [order.buyer_id],
            {
                "order": {"id": order.pk},
                "listing": {"id": version.listing_id},
                "version": {"id": version.pk, "number": version.number},
            },
        )
        count += 1
    return count


def notify_recent_versions(now: datetime | None = None, *, days: int = 7) -> int:
    """The beat job's catch-up: approved versions of the last `days` not yet handled."""
    now = now or timezone.now()
    handled = ReleasedVersionMarker.objects.values("version_id")
    pending = (
        ListingVersion.objects.filter(
            status=ListingVersion.Status.APPROVED, approved_at__gte=now - timedelta(days=days)
        )
        .exclude(pk__in=handled)
        .order_by("approved_at")[:500]
    )
    return sum(notify_version_released(v) for v in pending)


@transaction.atomic
def mark_notifications_read(*, organisation: Organisation, ids: Iterable[int]) -> int:
    return Notification.objects.filter(
        organisation=organisation, pk__in=list(ids), read_at__isnull=True
    ).update(read_at=timezone.now())


# --- webhook endpoints ----------------------------------------------------------------------------


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": gettext("name one or more events")})
    unknown = sorted(set(map(str, events)) - set(WebhookEvent.values))
    if unknown:
        raise ValidationError(
            {"events": gettext("unknown: %(names)s") % {"names": ", ".join(unknown)}}
        )
    return sorted(set(map(str, events)))


@transaction.atomic
def create_webhook_endpoint(
    *,
    actor: User,
    organisation: Organisation,
    url: str,
    events: list[str],
    description: str = "",
) -> WebhookEndpoint:
    """Register an endpoint; its signing secret is generated here and shown to the caller once.

    Only an owner or admin may: an endpoint sends the organisation's trade events to any URL.
    """
    require_manager(actor, organisation)
    ensure_not_frozen(organisation, gettext_noop("register webhooks"))
    webhooks.validate_target(url)
    endpoint = WebhookEndpoint(
        organisation=organisation,
        url=url,
        events=_clean_events(events),
        description=(description or "")[:200],
        created_by=actor,
    )
    # Stored encrypted; the caller reads it back once with endpoint.signing_secret().
    endpoint.set_secret(webhooks.new_secret())
    endpoint.save()
    record(
        "webhook_endpoint.created",
        endpoint,
        actor=actor,
        organisation=organisation,
        changes={"events": endpoint.events},
    )
    return endpoint


@transaction.atomic
def update_webhook_endpoint(
    *, actor: User, endpoint: WebhookEndpoint, **fields: Any
) -> WebhookEndpoint:
    require_manager(actor, endpoint.organisation)
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = {}
    if "url" in fields:
        webhooks.validate_target(fields["url"])
        locked.url = fields["url"]
        changed["url"] = True
    if "events" in fields:
        locked.events = _clean_events(fields["events"])
        changed["events"] = locked.events
    if "description" in fields:
        locked.description = (fields["description"] or "")[:200]
    if "active" in fields:
        locked.active = bool(fields["active"])
        changed["active"] = locked.active
    if fields.get("rotate_secret"):
        locked.set_secret(webhooks.new_secret())
        changed["secret_rotated"] = True
    locked.save()
    record(
        "webhook_endpoint.updated",
        locked,
        actor=actor,
        organisation=locked.organisation_id,
        changes=changed,
    )
    return locked


@transaction.atomic
def delete_webhook_endpoint(*, actor: User, endpoint: WebhookEndpoint) -> None:
    require_manager(actor, endpoint.organisation)
    record(
        "webhook_endpoint.deleted",
        endpoint,
        actor=actor,
        organisation=endpoint.organisation_id,
        changes={},
    )
    endpoint.delete()
