"""Public pages: home, catalogue with search and facets, the listing page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from exchange.portal.context import acting_organisation, viewer_of
from licensing.selectors import active_offer
from licensing.services import template_text
from listings import dcat, selectors
from listings.models import Category, LicenceFamily, Listing, ListingVersion, UpdateFrequency

PAGE_SIZE = 12
FACET_LABELS: dict[str, dict[str, Any]] = {
    "category": dict(Category.choices),
    "licence_family": dict(LicenceFamily.choices),
    "update_frequency": dict(UpdateFrequency.choices),
}


def home(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    catalogue = selectors.catalogue_for(viewer).select_related("seller")
    newest = list(catalogue.order_by("-first_listed_at", "-pk")[:6])
    # "Featured": the most bought listings; new sites with no trades fall back to the newest.
    featured = list(_featured(catalogue)[:3])
    counts: dict[str, int] = {}
    for category in catalogue.values_list("category", flat=True):
        counts[category] = counts.get(category, 0) + 1
    categories = [(value, label, counts.get(value, 0)) for value, label in Category.choices]
    return render(
        request,
        "web/home.html",
        {"newest": newest, "featured": featured, "categories": categories},
    )


def _featured(catalogue: Any) -> Any:
    try:
        from django.db.models import Count

        return catalogue.annotate(n_orders=Count("orders")).order_by("-n_orders", "-pk")
    except Exception:
        return catalogue.order_by("-pk")


def favicon(request: HttpRequest) -> HttpResponse:
    from django.contrib.staticfiles import finders

    path = finders.find("favicon.svg")
    with open(str(path), "rb") as fh:
        body = fh.read()
    response = HttpResponse(body, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@dataclass(frozen=True)
class PageLinks:
    """Where the catalogue's page links lead. `has_next` comes from the search itself, so it is
    right even when the total is an estimate; the page count is shown only when it is exact."""

    number: int
    has_next: bool
    num_pages: int | None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _int_list(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


def catalogue(request: HttpRequest) -> HttpResponse:
    get = request.GET
    filters = selectors.SearchFilters(
        query=get.get("q", "").strip()[:200],
        category=get.getlist("category"),
        licence_family=get.getlist("licence_family"),
        update_frequency=get.getlist("update_frequency"),
        seller=_int_list(get.getlist("seller")),
        format=get.getlist("format"),
        price=get.getlist("price"),
        sort=get.get("sort", "relevance"),
    )
    try:
        page_number = max(1, int(get.get("page", "1")))
    except ValueError:
        page_number = 1
    result = selectors.search_catalogue(
        viewer_of(request), filters, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    page = PageLinks(
        number=page_number,
        has_next=result.has_next,
        num_pages=None if result.approximate else max(1, -(-result.total // PAGE_SIZE)),
    )
    selected = {
        "category": filters.category,
        "licence_family": filters.licence_family,
        "update_frequency": filters.update_frequency,
        "seller": [str(s) for s in filters.seller],
        "file_format": filters.format,
        "price": filters.price,
    }
    facets = []
    for key, entries in result.facets.items():
        param = "format" if key == "file_format" else key
        labels: dict[str, Any] = FACET_LABELS.get(key, {})
        facets.append(
            {
                "key": key,
                "param": param,
                "entries": [
                    {
                        "value": str(e["value"]),
                        "label": e.get("name") or labels.get(e["value"], e["value"]),
                        "count": e["count"],
                        "checked": str(e["value"]) in selected.get(key, []),
                    }
                    for e in entries
                ],
            }
        )
    querystring = request.GET.copy()
    querystring.pop("page", None)
    return render(
        request,
        "portal/catalogue.html",
        {
            "filters": filters,
            "result": result,
            "facets": facets,
            "page": page,
            "querystring": querystring.urlencode(),
            "sorts": selectors.SORTS,
        },
    )


def listing_detail(request: HttpRequest, listing_id: int) -> HttpResponse:
    viewer = viewer_of(request)
    listing = selectors.get_listing(viewer, listing_id)
    versions = list(
        selectors.versions_visible_to(viewer, listing).prefetch_related("files").order_by("-number")
    )
    version = listing.latest_version or next(
        (v for v in versions if v.status == ListingVersion.Status.APPROVED), None
    )
    lang = "zh" if (get_language() or "zh").startswith("zh") else "en"
    plans = []
    for plan in listing.price_plans.filter(active=True).order_by("price_fen", "pk"):
        offer = active_offer(plan)
        plans.append(
            {
                "plan": plan,
                "offer": offer,
                "template_name": (
                    (offer.template.name_zh if lang == "zh" else offer.template.name_en)
                    if offer
                    else ""
                ),
                "licence_text": template_text(offer.template, lang) if offer else "",
                "odrl_json": json.dumps(offer.policy, ensure_ascii=False, indent=2)
                if offer
                else "",
            }
        )
    organisation = acting_organisation(request)
    report = (version.cleaning_report or {}) if version else {}
    return render(
        request,
        "portal/listing_detail.html",
        {
            "listing": listing,
            "version": version,
            "versions": versions,
            "plans": plans,
            "report_summary": report_summary(report),
            "schema_fields": _schema_fields(version),
            "sample": _sample(version),
            "can_buy": bool(
                organisation
                and organisation.can_buy
                and organisation.pk != listing.seller_id
                and listing.status == Listing.Status.LISTED
            ),
            "is_seller": bool(organisation and organisation.pk == listing.seller_id),
            "schema_org_json": dcat.script_safe_json(
                dcat.schema_org_dataset(request.build_absolute_uri("/").rstrip("/"), listing)
            ),
        },
    )


def _schema_fields(version: ListingVersion | None) -> list[dict[str, Any]]:
    schema = (version.table_schema or {}) if version else {}
    return [f for f in schema.get("fields", []) if isinstance(f, dict)]


def _sample(version: ListingVersion | None) -> dict[str, Any]:
    rows = version.sample_rows if version and isinstance(version.sample_rows, list) else []
    rows = [r for r in rows if isinstance(r, dict)][:10]
    header = [str(f.get("name")) for f in _schema_fields(version)] or (
        list(rows[0].keys()) if rows else []
    )
    return {"header": header, "rows": [[r.get(h, "") for h in header] for r in rows]}


def transform_label(column: dict[str, Any]) -> str:
    """What was done to a column, in words. On a free-text column "redact" replaces only the
    personal data the scanner found inside the text; the rest of each cell is kept, so the bare
    word would wrongly suggest the whole column was blanked."""
    transform = str(column.get("transform") or "keep")
    if column.get("classification") == "free_text" and transform == "redact":
        return str(_("personal data found in the text redacted"))
    labels = {
        "pseudonym": _("replaced by keyed pseudonyms"),
        "mask": _("masked"),
        "generalise": _("generalised"),
        "drop": _("dropped"),
        "keep": _("kept as is"),
        "redact": _("redacted"),
    }
    return str(labels.get(transform, transform))


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the badge and the summary show: how many columns held personal data and what was
    done to them, findings by type, and the k-anonymity outcome."""
    columns = [c for c in report.get("columns", []) if isinstance(c, dict)]
    findings: dict[str, int] = {}
    transforms: dict[str, int] = {}
    protected = 0
    labelled: list[dict[str, Any]] = []
    for column in columns:
        for kind, n in ((column.get("counts") or {}).get("findings") or {}).items():
            findings[kind] = findings.get(kind, 0) + int(n)
        column = {**column, "transform_label": transform_label(column)}
        labelled.append(column)
        label = column["transform_label"]
        transforms[label] = transforms.get(label, 0) + 1
        changed = int((column.get("counts") or {}).get("changed_cells") or 0)
        # A free-text column in which the scanner found nothing was not transformed.
        if column.get("classification") in ("identifier", "quasi_identifier") or (
            column.get("classification") == "free_text" and changed > 0
        ):
            protected += 1
    for kind, n in (report.get("free_text_findings") or {}).items():
        findings.setdefault(kind, int(n))
    kanon = [k for k in report.get("k_anonymity", []) if isinstance(k, dict)]
    k_values: list[int] = [
        k
        for k in ((entry.get("after") or {}).get("min_k") for entry in kanon)
        if isinstance(k, int)
    ]
    k_target = next((k.get("target_k") for k in kanon if k.get("target_k")), None)
    return {
        "present": bool(report),
        "columns": labelled,
        "rows": report.get("rows"),
        "protected_columns": protected,
        "findings": sorted(findings.items(), key=lambda kv: (-kv[1], kv[0])),
        "transforms": sorted(transforms.items()),
        "k_anonymity": kanon,
        "k_min": min(k_values) if k_values else None,
        "k_target": k_target,
        "k_ok": bool(k_values) and k_target is not None and min(k_values) >= k_target,
        "engine_version": report.get("engine_version", ""),
    }
