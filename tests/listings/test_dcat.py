"""DCAT 3 JSON-LD export, schema.org page markup, Table Schema download — expanded offline."""

from __future__ import annotations

import json
import re

import pytest
from pyld import jsonld
from rest_framework.test import APIClient

from listings.dcat import document_loader
from tests.listings.factories import listed

pytestmark = pytest.mark.django_db

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"


def expand(document: dict) -> list[dict]:
    return jsonld.expand(document, {"documentLoader": document_loader})


def values(node: dict, iri: str) -> list:
    return [v.get("@value", v.get("@id")) for v in node.get(iri, [])]


def node_of_type(graph: list[dict], rdf_type: str) -> list[dict]:
    return [n for n in graph if rdf_type in n.get("@type", [])]


@pytest.fixture
def dataset(seller, reg):
    return listed(
        seller,
        reg,
        title="医疗影像数据集",
        summary="胸部CT影像",
        description="**脱敏**的胸部 CT 影像。",
        keywords=["医疗", "CT"],
        languages=["zh", "en"],
        category="medical_health",
        licence_family="cc-by-4.0",
        update_frequency="monthly",
        spatial_coverage="上海市",
        temporal_start="2020-01-01",
        temporal_end="2023-12-31",
        contact_name="数据服务部",
        contact_email="data@example.test",
        documentation_links=[{"title": "Docs", "url": "https://docs.example.test/ct"}],
        plans=[{"kind": "one_time", "price_fen": 123456}],
    )


def test_dataset_document_expands_and_carries_the_required_properties(dataset) -> None:
    response = APIClient().get(f"/datasets/{dataset.pk}.jsonld")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    expanded = expand(response.json())
    [ds] = node_of_type(expanded, DCAT + "Dataset")
    assert values(ds, DCT + "title") == ["医疗影像数据集"]
    assert ds[DCT + "title"][0]["@language"] == "zh"
    assert values(ds, DCT + "description") == ["**脱敏**的胸部 CT 影像。"]
    assert values(ds, DCT + "license") == ["http://spdx.org/licenses/CC-BY-4.0"]
    [issued] = ds[DCT + "issued"]
    [modified] = ds[DCT + "modified"]
    assert issued["@type"] == modified["@type"] == "http://www.w3.org/2001/XMLSchema#dateTime"
    assert issued["@value"].startswith(dataset.first_listed_at.date().isoformat())
    [publisher] = ds[DCT + "publisher"]
    assert values(publisher, FOAF + "name") == [dataset.seller.name]
    assert FOAF + "Organization" in publisher["@type"]
    assert set(values(ds, DCAT + "keyword")) == {"医疗", "CT"}
    assert values(ds, DCT + "accrualPeriodicity") == ["http://purl.org/cld/freq/monthly"]
    [temporal] = ds[DCT + "temporal"]
    assert values(temporal, DCAT + "startDate") == ["2020-01-01"]

    distributions = ds[DCAT + "distribution"]
    data_files = [d for d in distributions if values(d, DCT + "title")[0].endswith(".csv")]
    [file] = data_files
    assert values(file, DCAT + "accessURL")[0].endswith(
        f"/api/v1/listings/{dataset.pk}/versions/1/"
    )
    assert values(file, DCT + "format") == [
        "http://publications.europa.eu/resource/authority/file-type/CSV"
    ]
    assert values(file, DCAT + "mediaType")[0].endswith("/text/csv")
    assert values(file, DCAT + "byteSize") == ["1234"]
    checksum = file["http://spdx.org/rdf/terms#checksum"][0]
    [digest] = values(checksum, "http://spdx.org/rdf/terms#checksumValue")
    assert digest == dataset.latest_version.files.get().sha256
    # The Table Schema is a distribution with a real download URL.
    [schema] = [d for d in distributions if d not in data_files]
    [download] = values(schema, DCAT + "downloadURL")
    assert download.endswith(f"/api/v1/listings/{dataset.pk}/versions/1/schema.json")


def test_catalog_lists_visible_datasets_and_expands(dataset) -> None:
    response = APIClient().get("/catalog.jsonld")
    assert response.status_code == 200
    expanded = expand(response.json())
    [catalog] = node_of_type(expanded, DCAT + "Catalog")
    [ds] = catalog[DCAT + "dataset"]
    assert values(ds, DCT + "identifier") == [str(dataset.pk)]
    assert values(ds, DCT + "title") == ["医疗影像数据集"]
    assert values(catalog, DCT + "publisher")  # the operator


def test_loader_refuses_the_network() -> None:
    with pytest.raises(jsonld.JsonLdError):
        expand({"@context": "https://example.org/remote-context.jsonld", "name": "x"})


def test_dataset_page_carries_schema_org_dataset_markup(dataset) -> None:
    response = APIClient().get(f"/datasets/{dataset.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    [raw] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    markup = json.loads(raw)
    assert markup["@type"] == "Dataset" and markup["name"] == "医疗影像数据集"
    assert markup["offers"][0]["price"] == "1234.56"  # from integer fen, never a float
    expanded = expand(markup)
    [node] = expanded
    assert node["@type"] == ["https://schema.org/Dataset"]
    assert values(node, "https://schema.org/name") == ["医疗影像数据集"]
    assert values(node, "https://schema.org/license") == ["http://spdx.org/licenses/CC-BY-4.0"]
    # The sanitised description is on the page.
    assert "<strong>脱敏</strong>" in html


def test_markup_cannot_break_out_of_its_script_element(seller, reg) -> None:
    hostile = listed(seller, reg, title="</script><script>alert(1)</script>")
    html = APIClient().get(f"/datasets/{hostile.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    [raw] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert json.loads(raw)["name"] == "</script><script>alert(1)</script>"


def test_table_schema_download(dataset) -> None:
    response = APIClient().get(f"/api/v1/listings/{dataset.pk}/versions/1/schema.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    schema = json.loads(response.content)
    assert [f["name"] for f in schema["fields"]] == ["record_id", "visit_date", "amount"]
