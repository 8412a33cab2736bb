"""Reads about licensing, filtered by who asks. Lists follow the same rules as details: what a
caller may not open is absent from its lists and answers 404."""

from __future__ import annotations

import re
import uuid

from django.db.models import Q, QuerySet
from django.http import Http404

from exchange.participants.models import Organisation, User
from exchange.participants.selectors import is_platform_staff
from licensing.models import Contract, Licence, LicenceTemplate, Offer
from listings.models import PricePlan
from listings.selectors import Viewer, listings_visible_to

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def current_templates() -> QuerySet[LicenceTemplate]:
    return LicenceTemplate.objects.filter(is_current=True).order_by("family", "key")


def get_template(template_id: int) -> LicenceTemplate:
    template = LicenceTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise Http404("No such licence template.")
    return template


def offers_visible_to(viewer: Viewer) -> QuerySet[Offer]:
    """A seller sees all its offers; others see active offers on listings they may open."""
    offers = Offer.objects.select_related("template", "price_plan__listing", "seller")
    if viewer.is_staff:
        return offers
    visible = Q(status=Offer.Status.ACTIVE, price_plan__listing__in=listings_visible_to(viewer))
    if viewer.organisation_id is not None:
        visible |= Q(seller_id=viewer.organisation_id)
    return offers.filter(visible)


def active_offer(price_plan: PricePlan) -> Offer | None:
    """The offer a new order on this price plan contracts under (at most one is active)."""
    return (
        Offer.objects.select_related("template")
        .filter(price_plan=price_plan, status=Offer.Status.ACTIVE)
        .first()
    )


def get_offer(viewer: Viewer, offer_id: int) -> Offer:
    offer = offers_visible_to(viewer).filter(pk=offer_id).first()
    if offer is None:
        raise Http404("No such offer.")
    return offer


def contracts_visible_to(user: User, organisation: Organisation | None) -> QuerySet[Contract]:
    contracts = Contract.objects.select_related(
        "template", "seller", "buyer", "listing", "listing_version", "price_plan"
    ).prefetch_related("signatures__organisation", "signatures__user")
    if is_platform_staff(user):
        return contracts
    if organisation is None:
        return contracts.none()
    return contracts.filter(Q(buyer=organisation) | Q(seller=organisation))


def get_contract(user: User, organisation: Organisation | None, contract_id: int) -> Contract:
    contract = contracts_visible_to(user, organisation).filter(pk=contract_id).first()
    if contract is None:
        raise Http404("No such contract.")
    return contract


def licences_visible_to(user: User, organisation: Organisation | None) -> QuerySet[Licence]:
    licences = Licence.objects.select_related(
        "contract", "buyer", "seller", "listing", "listing_version"
    )
    if is_platform_staff(user):
        return licences
    if organisation is None:
        return licences.none()
    return licences.filter(Q(buyer=organisation) | Q(seller=organisation))


def get_licence(user: User, organisation: Organisation | None, licence_id: uuid.UUID) -> Licence:
    licence = licences_visible_to(user, organisation).filter(pk=licence_id).first()
    if licence is None:
        raise Http404("No such licence.")
    return licence


# --- public verification -------------------------------------------------------------------------


def find_for_verification(
    *, licence_id: str | None = None, content_hash: str | None = None
) -> tuple[Contract | None, Licence | None]:
    """The contract and licence a third party asks about, by licence id or contract hash."""
    related = (
        "contract__template",
        "contract__seller",
        "contract__buyer",
        "contract__listing",
        "contract__listing_version",
    )
    if licence_id:
        try:
            parsed = uuid.UUID(str(licence_id))
        except ValueError:
            return None, None
        licence = Licence.objects.select_related(*related).filter(pk=parsed).first()
        return (licence.contract, licence) if licence else (None, None)
    digest = (content_hash or "").strip().lower()
    if not SHA256_RE.match(digest):
        return None, None
    contract = (
        Contract.objects.select_related("template", "seller", "buyer", "listing", "listing_version")
        .filter(content_hash=digest)
        .order_by("-created_at")
        .first()
    )
    if contract is None:
        return None, None
    licence = Licence.objects.filter(contract=contract).first()
    return contract, licence
