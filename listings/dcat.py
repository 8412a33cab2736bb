"""The catalogue in W3C DCAT 3 (JSON-LD) and listing pages' schema.org `Dataset` markup.

Contexts are inline (DCAT publishes no context file) and shipped under listings/jsonld/; the
`document_loader` below is the only loader JSON-LD processing here may use: it never touches the
network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from listings.models import Listing, ListingVersion, PricePlan, UpdateFrequency

JSONLD_DIR = Path(__file__).resolve().parent / "jsonld"
DCAT_CONTEXT_URL = "https://data-exchange.invalid/contexts/dcat.jsonld"
SCHEMA_ORG_URL = "https://schema.org/"
_SHIPPED = {
    DCAT_CONTEXT_URL: "dcat-context.jsonld",
    SCHEMA_ORG_URL: "schemaorg-minimal.jsonld",
    "http://schema.org/": "schemaorg-minimal.jsonld",
    "https://schema.org": "schemaorg-minimal.jsonld",
}

LICENCE_URIS = {
    # SPDX has stable URIs for each open family; a commercial licence is the listing's own offer.
    "cdla-permissive-2.0": "http://spdx.org/licenses/CDLA-Permissive-2.0",
    "cdla-sharing-1.0": "http://spdx.org/licenses/CDLA-Sharing-1.0",
    "odc-by-1.0": "http://spdx.org/licenses/ODC-By-1.0",
    "cc-by-4.0": "http://spdx.org/licenses/CC-BY-4.0",
}
# Dublin Core Collection Description Frequency vocabulary.
FREQUENCY_URIS: dict[str, str] = {
    UpdateFrequency.CONTINUOUS: "http://purl.org/cld/freq/continuous",
    UpdateFrequency.DAILY: "http://purl.org/cld/freq/daily",
    UpdateFrequency.WEEKLY: "http://purl.org/cld/freq/weekly",
    UpdateFrequency.MONTHLY: "http://purl.org/cld/freq/monthly",
    UpdateFrequency.QUARTERLY: "http://purl.org/cld/freq/quarterly",
    UpdateFrequency.ANNUALLY: "http://purl.org/cld/freq/annual",
    UpdateFrequency.IRREGULAR: "http://purl.org/cld/freq/irregular",
}
# EU file-type authority list and IANA media types.
FILE_TYPES = {
    "csv": ("CSV", "text/csv"),
    "xlsx": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "json": ("JSON", "application/json"),
    "jsonl": ("JSON_LINES", "application/jsonl"),
    "parquet": ("PARQUET", "application/vnd.apache.parquet"),
    "geojson": ("GEOJSON", "application/geo+json"),
    "xml": ("XML", "application/xml"),
    "zip": ("ZIP", "application/zip"),
}
LANGUAGE_URI = "http://id.loc.gov/vocabulary/iso639-1/"


@cache
def _shipped(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((JSONLD_DIR / name).read_text(encoding="utf-8"))
    return loaded


def dcat_context() -> dict[str, Any]:
    context: dict[str, Any] = _shipped("dcat-context.jsonld")["@context"]
    return dict(context)


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader serving shipped contexts only. Anything else is refused rather than
    fetched: no network, and no processing that depends on what a remote server says today."""
    name = _SHIPPED.get(url)
    if name is None:
        from pyld.jsonld import JsonLdError

        raise JsonLdError(
            "Only shipped JSON-LD contexts can be loaded (no network).",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": _shipped(name),
    }


def json_dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)


def script_safe_json(data: Any) -> str:
    """JSON for a <script> element: `<`, `>` and `&` escaped so text cannot close the element."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- DCAT --------------------------------------------------------------------------------------


def _datetime(value: datetime | date | None, kind: str = "xsd:dateTime") -> dict[str, str] | None:
    if value is None:
        return None
    return {"@value": value.isoformat(), "@type": kind}


def _lang(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def _literal(text: str) -> dict[str, str]:
    return {"@value": text, "@language": _lang(text)}


def dataset_iri(base: str, listing: Listing) -> str:
    return f"{base}/datasets/{listing.pk}#dataset"


def landing_page(base: str, listing: Listing) -> str:
    return f"{base}/datasets/{listing.pk}/"


def licence_uri(base: str, listing: Listing) -> str:
    return LICENCE_URIS.get(listing.licence_family) or f"{landing_page(base, listing)}#licence"


def _publisher(base: str, listing: Listing) -> dict[str, Any]:
    return {
        "@id": f"{base}/organisations/{listing.seller_id}#org",
        "@type": "foaf:Organization",
        "foaf:name": listing.seller.name,
    }


def _distributions(base: str, listing: Listing, version: ListingVersion) -> list[dict[str, Any]]:
    access = f"{base}/api/v1/listings/{listing.pk}/versions/{version.number}/"
    schema_url = f"{access}schema.json"
    distributions = []
    for file in version.files.all():
        file_type, media_type = FILE_TYPES.get(file.format, (file.format.upper(), ""))
        distribution: dict[str, Any] = {
            "@id": f"{base}/datasets/{listing.pk}/v{version.number}/{file.pk}#distribution",
            "@type": "dcat:Distribution",
            "dct:title": file.name,
            # Files are licensed goods: the access URL leads to the version, where a licence
            # holder obtains a short-lived link. There is no public download URL.
            "dcat:accessURL": {"@id": access},
            "dct:format": {
                "@id": f"http://publications.europa.eu/resource/authority/file-type/{file_type}"
            },
            "dcat:byteSize": {"@value": str(file.size), "@type": "xsd:nonNegativeInteger"},
            "spdx:checksum": {
                "@type": "spdx:Checksum",
                "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                "spdx:checksumValue": {"@value": file.sha256, "@type": "xsd:hexBinary"},
            },
            "dct:license": {"@id": licence_uri(base, listing)},
            "dct:issued": _datetime(version.published_at),
        }
        if file.media_type or media_type:
            iana = "https://www.iana.org/assignments/media-types/"
            distribution["dcat:mediaType"] = {"@id": iana + (file.media_type or media_type)}
        if version.table_schema:
            distribution["dct:conformsTo"] = {"@id": schema_url}
        distributions.append({k: v for k, v in distribution.items() if v is not None})
    if version.table_schema:
        # The Table Schema itself is public metadata, downloadable by anyone who sees the listing.
        distributions.append(
            {
                "@id": f"{base}/datasets/{listing.pk}/v{version.number}/schema#distribution",
                "@type": "dcat:Distribution",
                "dct:title": f"Table Schema (v{version.number})",
                "dcat:accessURL": {"@id": schema_url},
                "dcat:downloadURL": {"@id": schema_url},
                "dct:format": {
                    "@id": "http://publications.europa.eu/resource/authority/file-type/JSON"
                },
                "dcat:mediaType": {
                    "@id": "https://www.iana.org/assignments/media-types/application/json"
                },
                "dct:conformsTo": {"@id": "https://specs.frictionlessdata.io/table-schema/"},
                "dct:license": {"@id": licence_uri(base, listing)},
            }
        )
    return distributions


def dataset_node(base: str, listing: Listing) -> dict[str, Any]:
    """One dcat:Dataset (no @context): title, description, publisher, dates, licence, coverage,
    contact, and a distribution per published file of the latest approved version."""
    version = listing.latest_version
    node: dict[str, Any] = {
        "@id": dataset_iri(base, listing),
        "@type": "dcat:Dataset",
        "dct:identifier": str(listing.pk),
        "dct:title": _literal(listing.title),
        "dct:description": _literal(listing.description or listing.summary or listing.title),
        "dct:publisher": _publisher(base, listing),
        "dct:issued": _datetime(listing.first_listed_at or listing.created_at),
        "dct:modified": _datetime(listing.updated_at),
        "dct:license": {"@id": licence_uri(base, listing)},
        "dcat:landingPage": {"@id": landing_page(base, listing)},
        "dcat:keyword": [_literal(k) for k in listing.keywords or []],
        "dcat:theme": {
            "@id": f"{base}/catalog/themes/{listing.category}",
            "@type": "skos:Concept",
            "skos:prefLabel": listing.get_category_display(),
        },
        "dct:language": [{"@id": LANGUAGE_URI + code.split("-")[0]} for code in listing.languages],
    }
    if listing.summary:
        node["rdfs:comment"] = _literal(listing.summary)
    if listing.spatial_coverage:
        node["dct:spatial"] = {
            "@type": "dct:Location",
            "skos:prefLabel": _literal(listing.spatial_coverage),
        }
    if listing.temporal_start or listing.temporal_end:
        period: dict[str, Any] = {"@type": "dct:PeriodOfTime"}
        if listing.temporal_start:
            period["dcat:startDate"] = _datetime(listing.temporal_start, "xsd:date")
        if listing.temporal_end:
            period["dcat:endDate"] = _datetime(listing.temporal_end, "xsd:date")
        node["dct:temporal"] = period
    if listing.update_frequency in FREQUENCY_URIS:
        node["dct:accrualPeriodicity"] = {"@id": FREQUENCY_URIS[listing.update_frequency]}
    if listing.contact_name or listing.contact_email:
        contact: dict[str, Any] = {"@type": "vcard:Organization"}
        contact["vcard:fn"] = listing.contact_name or listing.seller.name
        if listing.contact_email:
            contact["vcard:hasEmail"] = {"@id": f"mailto:{listing.contact_email}"}
        node["dcat:contactPoint"] = contact
    links = [link.get("url") for link in listing.documentation_links or [] if link.get("url")]
    if links:
        node["foaf:page"] = [{"@id": url} for url in links]
    if version is not None:
        node["dcat:version"] = str(version.number)
        node["dcat:distribution"] = _distributions(base, listing, version)
    return {k: v for k, v in node.items() if v is not None and v != []}


def dataset_document(base: str, listing: Listing) -> dict[str, Any]:
    return {"@context": dcat_context(), **dataset_node(base, listing)}


def catalog_document(
    base: str, listings: Iterable[Listing], *, next_url: str | None = None
) -> dict[str, Any]:
    catalog: dict[str, Any] = {
        "@context": dcat_context(),
        "@id": f"{base}/catalog.jsonld#catalog",
        "@type": "dcat:Catalog",
        "dct:title": [
            {"@value": "数据交易所数据目录", "@language": "zh"},
            {"@value": "Data exchange catalogue", "@language": "en"},
        ],
        "dct:description": {
            "@value": "Datasets offered on the data exchange under licence.",
            "@language": "en",
        },
        "dct:publisher": {
            "@id": f"{base}/#operator",
            "@type": "foaf:Organization",
            "foaf:name": "Data exchange operator",
        },
        "foaf:homepage": {"@id": f"{base}/"},
        "dcat:dataset": [dataset_node(base, listing) for listing in listings],
    }
    if next_url:
        # DCAT has no paging of its own; Hydra's partial collection view is the usual companion.
        catalog["hydra:view"] = {"@type": "hydra:PartialCollectionView", "hydra:next": next_url}
    return catalog


# --- schema.org --------------------------------------------------------------------------------


def schema_org_dataset(base: str, listing: Listing) -> dict[str, Any]:
    """The `Dataset` markup for the listing's page (what search engines read)."""
    version = listing.latest_version
    plans = [p for p in listing.price_plans.all() if p.active]
    data: dict[str, Any] = {
        "@context": SCHEMA_ORG_URL,
        "@type": "Dataset",
        "@id": dataset_iri(base, listing),
        "name": listing.title,
        "description": listing.description or listing.summary or listing.title,
        "url": landing_page(base, listing),
        "identifier": str(listing.pk),
        "keywords": list(listing.keywords or []),
        "inLanguage": list(listing.languages or []),
        "license": licence_uri(base, listing),
        "isAccessibleForFree": any(p.kind == PricePlan.Kind.FREE for p in plans),
        "publisher": {"@type": "Organization", "name": listing.seller.name},
        "creator": {"@type": "Organization", "name": listing.seller.name},
        "datePublished": (listing.first_listed_at or listing.created_at).date().isoformat(),
        "dateModified": listing.updated_at.isoformat(),
    }
    if listing.spatial_coverage:
        data["spatialCoverage"] = listing.spatial_coverage
    if listing.temporal_start or listing.temporal_end:
        start = listing.temporal_start.isoformat() if listing.temporal_start else ".."
        end = listing.temporal_end.isoformat() if listing.temporal_end else ".."
        data["temporalCoverage"] = f"{start}/{end}"
    if version is not None:
        data["version"] = str(version.number)
        data["distribution"] = [
            {
                "@type": "DataDownload",
                "name": file.name,
                "encodingFormat": FILE_TYPES.get(file.format, ("", file.format))[1] or file.format,
                "contentSize": f"{file.size} B",
                "contentUrl": f"{base}/api/v1/listings/{listing.pk}/versions/{version.number}/",
            }
            for file in version.files.all()
        ]
    if plans:
        data["offers"] = [
            {
                "@type": "Offer",
                "price": plan.price_yuan_text,
                "priceCurrency": "CNY",
                "name": plan.name or plan.get_kind_display(),
            }
            for plan in plans
        ]
    return data
