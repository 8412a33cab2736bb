"""Writes about licensing. Each runs in one transaction and records its audit event.

Called by other apps: trading creates contracts (`create_contract`), issues licences when an order
is funded (`issue_licence`) and revokes them on refunds (`revoke_licence`). Licensing never imports
trading.
"""

# Row locks here are FOR NO KEY UPDATE (no service changes a key): trading transactions check
# their foreign keys to offers, contracts and licences (KEY SHARE) at commit while holding the
# audit chain's lock, which these services take after their row locks; a plain FOR UPDATE would
# let the two deadlock.

from __future__ import annotations

import calendar
import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from exchange.audit.services import lock_chain, record
from exchange.participants.models import Organisation, User
from exchange.participants.services import ensure_not_frozen, membership_of
from exchange.status_words import status_word
from licensing import hashing, odrl
from licensing.catalogue import TEMPLATES, TemplateDefinition, resolved_values
from licensing.models import (
    Contract,
    ContractSignature,
    Licence,
    LicenceTemplate,
    Offer,
)
from licensing.parameters import normalise_allowed, resolve_choices
from licensing.rendering import ContractContext, PartyInfo, render_text
from licensing.signals import licence_revoked
from listings.models import Listing, ListingVersion, PricePlan, Visibility

EXPIRY_BATCH = 500


def _base_url() -> str:
    return str(getattr(settings, "SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


def _clip(value: str | None, length: int) -> str:
    return (value or "")[:length]


# --- templates -----------------------------------------------------------------------------------


def definition_hash(definition: TemplateDefinition) -> str:
    return hashing.sha256_hex(definition.to_json())


@transaction.atomic
def sync_templates(definitions: Iterable[TemplateDefinition] = TEMPLATES) -> list[LicenceTemplate]:
    """Store each shipped definition; a changed one becomes a new version (old rows untouched
    apart from `is_current`), so offers and contracts keep the version they were made from.
    Idempotent; returns the versions it published."""
    published = []
    for definition in definitions:
        digest = definition_hash(definition)
        current = (
            LicenceTemplate.objects.select_for_update(no_key=True)
            .filter(key=definition.key, is_current=True)
            .first()
        )
        if current is not None and current.definition_hash == digest:
            continue
        latest = LicenceTemplate.objects.filter(key=definition.key).order_by("-version").first()
        if current is not None:
            current.is_current = False
            current.save(update_fields=["is_current"])
        row = LicenceTemplate.objects.create(
            key=definition.key,
            version=(latest.version + 1) if latest else 1,
            family=definition.family,
            name_zh=definition.name_zh,
            name_en=definition.name_en,
            definition=definition.to_json(),
            definition_hash=digest,
            is_current=True,
        )
        record(
            "licence_template.published",
            row,
            changes={"key": row.key, "version": row.version, "definition_hash": digest},
        )
        published.append(row)
    return published


def template_policy(template: LicenceTemplate) -> dict[str, Any]:
    """The template's ODRL Set with its default values (what the catalogue shows)."""
    spec = template.spec
    return odrl.build_policy(
        resolved_values(spec, spec.defaults()),
        uid=f"{_base_url()}/api/v1/licence-templates/{template.pk}/#policy",
        policy_type="Set",
        target=f"{_base_url()}/datasets/#any",
        title=spec.name_en,
        source_url=spec.official_url or None,
    )


def template_text(template: LicenceTemplate, lang: str) -> str:
    spec = template.spec
    return render_text(spec, template.version, resolved_values(spec, spec.defaults()), None, lang)


# --- offers --------------------------------------------------------------------------------------


def _require_member(actor: User, organisation: Organisation, *, manager: bool = False) -> None:
    membership = membership_of(actor, organisation)
    if membership is None or (manager and not membership.can_manage):
        raise PermissionDenied(
            gettext("Only an owner or admin of the organisation may do this.")
            if manager
            else gettext("You do not act for this organisation.")
        )


def _party_node(organisation: Organisation) -> dict[str, Any]:
    return odrl.party(f"{_base_url()}/organisations/{organisation.pk}#org", organisation.name)


def _subscription_narrowing(plan: PricePlan, template: LicenceTemplate) -> dict[str, Any]:
    """A subscription's licence term is the plan's term: force it where the template has one."""
    if plan.kind == PricePlan.Kind.SUBSCRIPTION and "term_months" in template.spec.specs:
        return {"term_months": {"fixed": plan.term_months}}
    return {}


@transaction.atomic
def create_offer(
    *,
    actor: User,
    price_plan: PricePlan,
    template: LicenceTemplate,
    allowed: Mapping[str, Any],
    ip: str | None = None,
    user_agent: str = "",
) -> Offer:
    """The seller's licence offer for a price plan; withdraws the plan's previous offer. Creating it
    is the seller's acceptance of every contract generated from it (see Offer)."""
    lock_chain()  # before any row lock: every transaction takes the chain lock first
    plan = (
        PricePlan.objects.select_for_update(no_key=True)
        .select_related("listing__seller")
        .get(pk=price_plan.pk)
    )
    seller = plan.listing.seller
    _require_member(actor, seller, manager=True)
    ensure_not_frozen(seller, gettext_noop("offer licences"))
    if not plan.active:
        raise ValidationError({"price_plan": gettext("this price plan is inactive")})
    if not template.is_current:
        raise ValidationError(
            {"template": gettext("a newer version of this template exists; use it")}
        )
    spec = template.spec
    declared = plan.listing.licence_family
    if declared and declared != spec.family:
        # The catalogue (and its DCAT export) advertises the listing's licence family.
        raise ValidationError(
            {
                "template": gettext(
                    "the listing declares the %(family)s licence; pick a template of it"
                )
                % {"family": declared}
            }
        )
    forced = _subscription_narrowing(plan, template)
    if (
        "term_months" in forced
        and "term_months" in allowed
        and allowed["term_months"] != forced["term_months"]
    ):
        raise ValidationError(
            {"allowed.term_months": gettext("a subscription's term is the price plan's term")}
        )
    normal = normalise_allowed(spec.specs, {**allowed, **forced})
    # The offer's policy shows the choice a buyer gets by default (free-text ones left out).
    defaults = resolve_choices(spec.specs, normal, {}, partial=True)
    for offer in Offer.objects.select_for_update(no_key=True).filter(
        price_plan=plan, status=Offer.Status.ACTIVE
    ):
        offer.status = Offer.Status.WITHDRAWN
        offer.withdrawn_at = timezone.now()
        offer.save(update_fields=["status", "withdrawn_at"])
        record("offer.withdrawn", offer, actor=actor, organisation=seller,
               changes={"reason": "replaced by a new offer"})  # fmt: skip
    now = timezone.now()
    terms = {
        "template": {"key": template.key, "version": template.version},
        "template_definition_hash": template.definition_hash,
        "price_plan": {
            "id": plan.pk,
            "kind": plan.kind,
            "price_fen": plan.price_fen,
            "term_months": plan.term_months,
        },
        "allowed": normal,
    }
    policy = odrl.build_policy(
        resolved_values(spec, defaults),
        uid=f"urn:uuid:{uuid.uuid4()}",
        policy_type="Offer",
        target=f"{_base_url()}/datasets/{plan.listing_id}#dataset",
        title=spec.name_en,
        assigner=_party_node(seller),
        source_url=spec.official_url or None,
    )
    offer = Offer.objects.create(
        price_plan=plan,
        seller=seller,
        template=template,
        allowed=normal,
        policy=policy,
        terms_hash=hashing.sha256_hex(terms),
        accepted_by=actor,
        accepted_at=now,
        acceptance_ip=ip or None,
        acceptance_user_agent=_clip(user_agent, 300),
    )
    record(
        "offer.created",
        offer,
        actor=actor,
        organisation=seller,
        changes={
            "price_plan_id": plan.pk,
            "template": f"{template.key} v{template.version}",
            "terms_hash": offer.terms_hash,
        },
    )
    return offer


@transaction.atomic
def withdraw_offer(*, actor: User, offer: Offer) -> Offer:
    lock_chain()
    locked = Offer.objects.select_for_update(no_key=True).get(pk=offer.pk)
    _require_member(actor, locked.seller, manager=True)
    if locked.status != Offer.Status.ACTIVE:
        raise ValidationError({"status": gettext("this offer is already withdrawn")})
    locked.status = Offer.Status.WITHDRAWN
    locked.withdrawn_at = timezone.now()
    locked.save(update_fields=["status", "withdrawn_at"])
    record("offer.withdrawn", locked, actor=actor, organisation=locked.seller, changes={})
    return locked


# --- contracts -----------------------------------------------------------------------------------


def _buyer_may_buy(listing: Listing, buyer: Organisation) -> bool:
    if listing.status != Listing.Status.LISTED:
        return False
    if listing.visibility == Visibility.PUBLIC:
        return True
    return listing.allowed_buyers.filter(pk=buyer.pk).exists()


def _contract_version(
    plan: PricePlan, listing: Listing, listing_version: ListingVersion | None
) -> ListingVersion | None:
    if listing_version is None:
        listing_version = (
            listing.versions.filter(status=ListingVersion.Status.APPROVED)
            .order_by("-number")
            .first()
        )
        if listing_version is None and plan.kind != PricePlan.Kind.SUBSCRIPTION:
            raise ValidationError(
                {"listing_version": gettext("this listing has no approved version yet")}
            )
        return listing_version
    if listing_version.listing_id != listing.pk:
        raise ValidationError(
            {"listing_version": gettext("this version belongs to another listing")}
        )
    if listing_version.status != ListingVersion.Status.APPROVED:
        raise ValidationError(
            {"listing_version": gettext("only approved versions can be licensed")}
        )
    return listing_version


def _reference(now: datetime) -> str:
    return f"C{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


@transaction.atomic
def create_contract(
    *,
    offer: Offer,
    buyer_org: Organisation,
    actor: User | None,
    choices: Mapping[str, Any],
    listing_version: ListingVersion | None = None,
    replaces: Contract | None = None,
) -> Contract:
    """A contract from the offer and the buyer's choices within it: texts and ODRL policy
    rendered from the same values, frozen and hashed, pre-signed by the seller through the offer.

    `actor` is the buyer's user (a member of `buyer_org`), or None when another service acts for
    the buyer after checking that itself. The buyer signs separately (`sign_contract`)."""
    offer = Offer.objects.select_related(*_CONTRACT_OFFER_RELATIONS).get(pk=offer.pk)
    return _contract_from(
        offer,
        buyer_org=buyer_org,
        actor=actor,
        choices=choices,
        listing_version=listing_version,
        replaces=replaces,
    )


@transaction.atomic
def create_contract_on_plan(
    *,
    price_plan: PricePlan,
    buyer_org: Organisation,
    actor: User | None,
    choices: Mapping[str, Any],
    listing_version: ListingVersion | None = None,
) -> Contract:
    """create_contract() under the price plan's active offer (what a new order contracts under).
    Finding the offer and loading what the contract reads from it is one query, where looking
    the offer up first and then calling create_contract() made two."""
    offer = (
        Offer.objects.select_related(*_CONTRACT_OFFER_RELATIONS)
        .filter(price_plan=price_plan, status=Offer.Status.ACTIVE)
        .first()
    )
    if offer is None:
        raise ValidationError({"price_plan": gettext("this price plan has no licence offer yet")})
    return _contract_from(
        offer, buyer_org=buyer_org, actor=actor, choices=choices, listing_version=listing_version
    )


# What a contract reads from its offer, loaded with it.
_CONTRACT_OFFER_RELATIONS = ("template", "price_plan__listing__seller", "accepted_by", "seller")


def _contract_from(
    offer: Offer,
    *,
    buyer_org: Organisation,
    actor: User | None,
    choices: Mapping[str, Any],
    listing_version: ListingVersion | None = None,
    replaces: Contract | None = None,
) -> Contract:
    """create_contract()'s work, for an offer just read with _CONTRACT_OFFER_RELATIONS."""
    plan = offer.price_plan
    listing = plan.listing
    seller = offer.seller
    if actor is not None:
        _require_member(actor, buyer_org)
    ensure_not_frozen(buyer_org, gettext_noop("sign contracts"))
    ensure_not_frozen(seller, gettext_noop("sign contracts"))
    if offer.status != Offer.Status.ACTIVE:
        raise ValidationError({"offer": gettext("this offer has been withdrawn")})
    if not plan.active:
        raise ValidationError({"offer": gettext("this price plan is no longer offered")})
    if buyer_org.pk == seller.pk:
        raise ValidationError({"buyer": gettext("an organisation cannot license its own data")})
    if not buyer_org.can_buy:
        raise ValidationError({"buyer": gettext("this organisation is not registered as a buyer")})
    if not _buyer_may_buy(listing, buyer_org):
        raise ValidationError(
            {"offer": gettext("this listing is not available to your organisation")}
        )
    version = _contract_version(plan, listing, listing_version)

    template = offer.template
    spec = template.spec
    parameters = resolve_choices(spec.specs, offer.allowed, choices)
    values = resolved_values(spec, parameters)
    subscription_months = plan.term_months if plan.kind == PricePlan.Kind.SUBSCRIPTION else None

    now = timezone.now()
    reference = _reference(now)
    context = ContractContext(
        reference=reference,
        seller=PartyInfo(seller.name, seller.uscc),
        buyer=PartyInfo(buyer_org.name, buyer_org.uscc),
        dataset_title=listing.title,
        dataset_ref=f"{_base_url()}/datasets/{listing.pk}/",
        version_number=version.number if version else None,
        plan_kind=plan.kind,
        price_fen=plan.price_fen,
        subscription_months=subscription_months,
    )
    target = (
        f"{_base_url()}/datasets/{listing.pk}#dataset"
        if plan.kind == PricePlan.Kind.SUBSCRIPTION or version is None
        else f"{_base_url()}/datasets/{listing.pk}/v{version.number}"
    )
    policy = odrl.build_policy(
        values,
        uid=f"urn:uuid:{uuid.uuid4()}",
        policy_type="Agreement",
        target=target,
        title=f"{spec.name_en} ({reference})",
        assigner=_party_node(seller),
        assignee=_party_node(buyer_org),
        source_url=spec.official_url or None,
    )
    contract = Contract(
        reference=reference,
        offer=offer,
        template=template,
        price_plan=plan,
        listing=listing,
        listing_version=version,
        seller=seller,
        buyer=buyer_org,
        choices=dict(choices),
        parameters=parameters,
        plan_kind=plan.kind,
        price_fen=plan.price_fen,
        term_months=subscription_months or values.get("term_months"),
        subscription_months=subscription_months,
        seats=values.get("seats"),
        text_zh=render_text(spec, template.version, values, context, "zh"),
        text_en=render_text(spec, template.version, values, context, "en"),
        policy=policy,
        replaces=replaces,
        created_by=actor,
        created_at=now,
    )
    contract.content_hash = contract.compute_hash()
    contract.save()
    # The seller's signature derived from its accepted offer (see ContractSignature).
    ContractSignature.objects.create(
        contract=contract,
        party=ContractSignature.Party.SELLER,
        organisation=seller,
        user=offer.accepted_by,
        method=ContractSignature.Method.OFFER,
        offer=offer,
        signed_hash=contract.content_hash,
        signed_at=now,
        ip=offer.acceptance_ip,
        user_agent=offer.acceptance_user_agent,
    )
    record(
        "contract.created",
        contract,
        actor=actor,
        organisation=buyer_org,
        changes={
            "reference": reference,
            "offer_id": offer.pk,
            "content_hash": contract.content_hash,
            "replaces": replaces.reference if replaces else None,
        },
    )
    record(
        "contract.signed",
        contract,
        actor=offer.accepted_by,
        organisation=seller,
        changes={"party": "seller", "method": "offer", "hash": contract.content_hash},
    )
    return contract


@transaction.atomic
def replace_contract(
    *,
    contract: Contract,
    actor: User | None,
    choices: Mapping[str, Any],
    listing_version: ListingVersion | None = None,
) -> Contract:
    """Any change makes a new contract. An unsigned contract it replaces becomes void; a signed
    one stays as it is, and its licence is superseded when the new contract's licence is issued."""
    # Chain first, then the contract: funding takes them in that order (it issues the licence
    # under the chain lock), and the opposite order here deadlocked with it.
    lock_chain()
    locked = Contract.objects.select_for_update(no_key=True).get(pk=contract.pk)
    if locked.status == Contract.Status.VOID:
        raise ValidationError({"contract": gettext("this contract is void")})
    new = create_contract(
        offer=locked.offer,
        buyer_org=locked.buyer,
        actor=actor,
        choices=choices,
        listing_version=listing_version or locked.listing_version,
        replaces=locked,
    )
    if locked.status == Contract.Status.AWAITING_SIGNATURE:
        locked.status = Contract.Status.VOID
        locked.save(update_fields=["status"])
        record(
            "contract.voided",
            locked,
            actor=actor,
            organisation=locked.buyer,
            changes={"replaced_by": new.reference},
        )
    return new


@transaction.atomic
def sign_contract(
    *,
    contract: Contract,
    actor: User,
    organisation: Organisation,
    signed_hash: str,
    ip: str | None = None,
    user_agent: str = "",
    method: str = ContractSignature.Method.API,
) -> ContractSignature:
    """The buyer's signature over the hash it was shown. Refused when the hash is not the
    contract's current hash (the text changed, or the signer saw something else)."""
    lock_chain()
    # The template (read by integrity_ok) in the same query; the row lock stays on the contract.
    locked = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("template")
        .get(pk=contract.pk)
    )
    if organisation.pk != locked.buyer_id:
        raise PermissionDenied(gettext("Only the buyer organisation signs here."))
    _require_member(actor, organisation)
    ensure_not_frozen(organisation, gettext_noop("sign contracts"))
    if method not in (ContractSignature.Method.API, ContractSignature.Method.BROWSER):
        raise ValidationError({"method": gettext("sign through the browser or the API")})
    if locked.status == Contract.Status.VOID:
        raise ValidationError(
            {"contract": gettext("this contract is void; sign the contract replacing it")}
        )
    if not locked.integrity_ok():
        raise ValidationError({"contract": gettext("this contract fails its integrity check")})
    if not secrets.compare_digest((signed_hash or "").lower(), locked.content_hash):
        raise ValidationError(
            {"hash": gettext("the hash does not match the contract; reload it and review it again")}
        )
    # Read once, under the contract's lock: they answer "signed already?" now and "signed by
    # both?" once the buyer's signature is added.
    signatures = list(locked.signatures.all())
    if any(s.party == ContractSignature.Party.BUYER for s in signatures):
        raise ValidationError({"contract": gettext("the buyer has already signed this contract")})
    now = timezone.now()
    signature = ContractSignature.objects.create(
        contract=locked,
        party=ContractSignature.Party.BUYER,
        organisation=organisation,
        user=actor,
        method=method,
        signed_hash=locked.content_hash,
        signed_at=now,
        ip=ip or None,
        user_agent=_clip(user_agent, 300),
    )
    if locked.signed_by_both([*signatures, signature]):
        locked.status = Contract.Status.SIGNED
        locked.signed_at = now
        locked.save(update_fields=["status", "signed_at"])
    record(
        "contract.signed",
        locked,
        actor=actor,
        organisation=organisation,
        changes={"party": "buyer", "method": method, "hash": locked.content_hash},
    )
    return signature


# --- licences ------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@transaction.atomic
def issue_licence(*, contract: Contract, starts_at: datetime | None = None) -> Licence:
    """Issue the licence for a fully signed contract (trading calls this when the order is
    funded). Idempotent: a contract has one licence; calling again returns it."""
    lock_chain()
    # The template (read by integrity_ok) in the same query; the row lock stays on the contract.
    locked = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("template")
        .get(pk=contract.pk)
    )
    existing = Licence.objects.filter(contract=locked).first()
    if existing is not None:
        return existing
    if locked.status != Contract.Status.SIGNED or not locked.is_fully_signed:
        raise ValidationError({"contract": gettext("the contract must be signed by both parties")})
    if not locked.integrity_ok():
        raise ValidationError({"contract": gettext("this contract fails its integrity check")})
    now = timezone.now()
    starts_at = starts_at or now
    ends_at = add_months(starts_at, locked.term_months) if locked.term_months else None
    licence = Licence.objects.create(
        contract=locked,
        buyer_id=locked.buyer_id,
        seller_id=locked.seller_id,
        listing_id=locked.listing_id,
        listing_version_id=locked.listing_version_id,
        plan_kind=locked.plan_kind,
        seats=locked.seats,
        starts_at=starts_at,
        ends_at=ends_at,
        issued_at=now,
    )
    record(
        "licence.issued",
        licence,
        organisation=locked.buyer_id,
        changes={
            "contract": locked.reference,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat() if ends_at else None,
        },
    )
    if locked.replaces_id:
        previous = (
            Licence.objects.select_for_update(no_key=True)
            .filter(contract_id=locked.replaces_id, status=Licence.Status.ACTIVE)
            .first()
        )
        if previous is not None:
            previous.status = Licence.Status.SUPERSEDED
            previous.superseded_by = licence
            previous.status_changed_at = now
            previous.status_reason = f"superseded by contract {locked.reference}"
            previous.save(
                update_fields=["status", "superseded_by", "status_changed_at", "status_reason"]
            )
            record(
                "licence.superseded",
                previous,
                organisation=locked.buyer_id,
                changes={"status": ["active", "superseded"], "by": str(licence.pk)},
            )
    return licence


@transaction.atomic
def revoke_licence(*, licence: Licence, actor: User | None, reason: str) -> Licence:
    """Revoke (regulator or operator, or a dispute outcome). `actor` None means the system, e.g.
    trading applying a refund it has already authorised."""
    if actor is not None and not (actor.is_regulator or actor.is_operator):
        raise PermissionDenied(
            gettext("Only a regulator or platform operator may revoke a licence.")
        )
    if not (reason or "").strip():
        raise ValidationError({"reason": gettext("a reason is required to revoke a licence")})
    lock_chain()
    locked = Licence.objects.select_for_update(no_key=True).get(pk=licence.pk)
    if locked.status == Licence.Status.REVOKED:
        return locked
    if locked.status != Licence.Status.ACTIVE:
        raise ValidationError(
            {
                "status": gettext("a %(status)s licence cannot be revoked")
                % {"status": status_word(locked.status)}
            }
        )
    locked.status = Licence.Status.REVOKED
    locked.status_changed_at = timezone.now()
    locked.status_reason = reason.strip()[:500]
    locked.save(update_fields=["status", "status_changed_at", "status_reason"])
    record(
        "licence.revoked",
        locked,
        actor=actor,
        organisation=locked.buyer_id,
        changes={"status": ["active", "revoked"], "reason": locked.status_reason},
    )
    licence_revoked.send(sender=Licence, licence=locked, reason=locked.status_reason)
    return locked


def expire_due_licences(now: datetime | None = None) -> int:
    """Mark active licences whose term is over as expired; returns how many. Batches claim rows
    with SKIP LOCKED, so concurrent runs (or a revoke in flight) never block or double-count."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            lock_chain()
            batch = list(
                Licence.objects.select_for_update(skip_locked=True)
                .filter(status=Licence.Status.ACTIVE, ends_at__isnull=False, ends_at__lte=now)
                .order_by("ends_at", "id")[:EXPIRY_BATCH]
            )
            for licence in batch:
                licence.status = Licence.Status.EXPIRED
                licence.status_changed_at = now
                licence.status_reason = "term ended"
                licence.save(update_fields=["status", "status_changed_at", "status_reason"])
                record(
                    "licence.expired",
                    licence,
                    organisation=licence.buyer_id,
                    changes={
                        "status": ["active", "expired"],
                        "ends_at": licence.ends_at.isoformat() if licence.ends_at else None,
                    },
                )
        total += len(batch)
        if len(batch) < EXPIRY_BATCH:
            return total
