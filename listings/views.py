"""Site-root pages of the catalogue: DCAT JSON-LD exports and a minimal dataset page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from exchange.participants.models import Organisation
from listings import dcat, selectors
from listings.models import Listing
from listings.selectors import Viewer

JSONLD = "application/ld+json; charset=utf-8"
CATALOG_PAGE_SIZE = 500


def _viewer(request: HttpRequest) -> Viewer:
    """The same rule as the API: the session user, acting for their chosen organisation."""
    user = request.user
    if not user.is_authenticated:
        return selectors.ANONYMOUS
    org_id = request.session.get("organisation_id")
    memberships = user.memberships.select_related("organisation")
    membership = (
        memberships.filter(organisation_id=org_id).first()
        if org_id
        else memberships.order_by("created_at").first()
    )
    organisation: Organisation | None = membership.organisation if membership else None
    return Viewer.for_user(user, organisation)


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
def catalog_jsonld(request: HttpRequest) -> HttpResponse:
    """The whole visible catalogue as one dcat:Catalog, a page of datasets at a time."""
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    start = (page - 1) * CATALOG_PAGE_SIZE
    listings = list(
        selectors.catalogue_for(_viewer(request))
        .select_related("seller", "latest_version")
        .prefetch_related("latest_version__files")
        .order_by("pk")[start : start + CATALOG_PAGE_SIZE + 1]
    )
    next_url = None
    if len(listings) > CATALOG_PAGE_SIZE:
        listings = listings[:CATALOG_PAGE_SIZE]
        next_url = request.build_absolute_uri(f"{reverse('listings-catalog')}?page={page + 1}")
    document = dcat.catalog_document(_base(request), listings, next_url=next_url)
    return HttpResponse(dcat.json_dumps(document), content_type=JSONLD)


def _visible_listing(request: HttpRequest, listing_id: int) -> Listing:
    # Drafts are the seller's business; the exports and pages show catalogue entries only,
    # filtered exactly like the API (404 for anything the viewer may not see).
    return selectors.get_listing(_viewer(request), listing_id)


@require_GET
def dataset_jsonld(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _visible_listing(request, listing_id)
    document = dcat.dataset_document(_base(request), listing)
    return HttpResponse(dcat.json_dumps(document), content_type=JSONLD)


@require_GET
def dataset_page(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _visible_listing(request, listing_id)
    version = listing.latest_version
    context = {
        "listing": listing,
        "version": version,
        "files": list(version.files.all()) if version else [],
        "plans": [p for p in listing.price_plans.all() if p.active],
        "schema_org_json": dcat.script_safe_json(dcat.schema_org_dataset(_base(request), listing)),
    }
    return render(request, "listings/dataset_detail.html", context)
