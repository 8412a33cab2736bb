"""The licensing API and pages through HTTP: templates (public), offers, contracts, signing,
PDF, licences, revocation, verification; other tenants get 404."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from exchange.participants.services import create_api_key
from licensing.models import Contract, ContractSignature, LicenceTemplate
from tests.factories import regulator
from tests.licensing.factories import Scenario, member, offer_for, plan_for

pytestmark = pytest.mark.django_db


def _as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_templates_are_public_with_policy_and_texts(api_client: APIClient) -> None:
    listing = api_client.get("/api/v1/licence-templates/")
    assert listing.status_code == 200
    keys = {t["key"] for t in listing.json()}
    assert "cc-by-4.0" in keys and "commercial-research-only" in keys
    template = LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True)
    detail = api_client.get(f"/api/v1/licence-templates/{template.pk}/").json()
    assert detail["policy"]["type"] == "Set"
    assert "许可模板" in detail["text_zh"] and "Licence template" in detail["text_en"]
    assert {p["name"] for p in detail["parameters"]} >= {"purposes", "territory", "seats"}
    assert api_client.get("/api/v1/licence-templates/999999/").status_code == 404


def test_seller_creates_offers_for_its_own_plans_only(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing)
    template = LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True)
    seller = _as(scenario.seller.user)
    body = {
        "price_plan": plan.pk,
        "template": template.pk,
        "allowed": {"seats": {"min": 1, "max": 3}},
    }
    refused = seller.post("/api/v1/offers/", {**body, "accept": False}, format="json")
    assert refused.status_code == 400 and "accept" in refused.json()["field_errors"]
    created = seller.post("/api/v1/offers/", {**body, "accept": True}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["allowed"]["seats"]["max"] == 3
    other = _as(member().user).post("/api/v1/offers/", {**body, "accept": True}, format="json")
    assert other.status_code == 400 and "price_plan" in other.json()["field_errors"]
    bad = seller.post(
        "/api/v1/offers/",
        {**body, "accept": True, "allowed": {"seats": {"min": 0}}},
        format="json",
    )
    assert bad.status_code == 400 and "allowed.seats" in bad.json()["field_errors"]
    # Anyone browsing the listing sees the active offer.
    public = APIClient().get(f"/api/v1/offers/?listing={scenario.listing.pk}").json()
    assert [o["id"] for o in public["results"]] == [created.json()["id"]]


def test_api_key_needs_the_publish_scope_for_offers(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing)
    template = LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True)
    issued = create_api_key(
        actor=scenario.seller.user,
        organisation=scenario.seller.organisation,
        name="read only",
        scopes=["read"],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    response = client.post(
        "/api/v1/offers/",
        {"price_plan": plan.pk, "template": template.pk, "accept": True},
        format="json",
    )
    assert response.status_code == 403


def test_buyer_creates_reviews_signs_and_downloads_the_pdf(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing), seats={"min": 1, "max": 5})
    buyer = _as(scenario.buyer.user)
    bad = buyer.post(
        "/api/v1/contracts/", {"offer": offer.pk, "choices": {"seats": 50}}, format="json"
    )
    assert bad.status_code == 400 and "seats" in bad.json()["field_errors"]
    created = buyer.post(
        "/api/v1/contracts/", {"offer": offer.pk, "choices": {"seats": 4}}, format="json"
    )
    assert created.status_code == 201, created.json()
    contract = created.json()
    assert contract["seats"] == 4 and contract["integrity_ok"] and not contract["fully_signed"]
    assert [s["party"] for s in contract["signatures"]] == ["seller"]
    url = f"/api/v1/contracts/{contract['id']}/"

    wrong = buyer.post(url + "sign/", {"hash": "a" * 64}, format="json")
    assert wrong.status_code == 400 and "hash" in wrong.json()["field_errors"]
    signed = buyer.post(
        url + "sign/",
        {"hash": contract["content_hash"]},
        format="json",
        REMOTE_ADDR="192.0.2.44",
        HTTP_X_FORWARDED_FOR="10.9.9.9",
        HTTP_USER_AGENT="TestBrowser/1.0",
    )
    assert signed.status_code == 200, signed.json()
    assert signed.json()["fully_signed"] and signed.json()["status"] == "signed"
    record = ContractSignature.objects.get(contract_id=contract["id"], party="buyer")
    assert str(record.ip) == "192.0.2.44"  # REMOTE_ADDR, never a client-supplied header
    assert record.user_agent == "TestBrowser/1.0" and record.method == "browser"
    assert "ip" not in signed.json()["signatures"][1]

    pdf = buyer.get(url + "pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and contract["content_hash"].encode() in pdf.content
    assert [c["id"] for c in buyer.get("/api/v1/contracts/").json()["results"]] == [contract["id"]]
    # The seller sees it too; a stranger does not, in lists or details.
    assert _as(scenario.seller.user).get(url).status_code == 200
    stranger = _as(member().user)
    assert stranger.get(url).status_code == 404
    assert stranger.get(url + "pdf/").status_code == 404
    assert (
        stranger.post(url + "sign/", {"hash": contract["content_hash"]}, format="json").status_code
        == 404
    )
    assert stranger.get("/api/v1/contracts/").json()["results"] == []
    assert APIClient().get(url).status_code in (401, 403)


def test_signing_through_an_api_key_is_recorded_as_api(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing))
    issued = create_api_key(
        actor=scenario.buyer.user,
        organisation=scenario.buyer.organisation,
        name="trading bot",
        scopes=["read", "trade"],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    created = client.post("/api/v1/contracts/", {"offer": offer.pk}, format="json")
    assert created.status_code == 201, created.json()
    signed = client.post(
        f"/api/v1/contracts/{created.json()['id']}/sign/",
        {"hash": created.json()["content_hash"]},
        format="json",
    )
    assert signed.status_code == 200
    assert (
        Contract.objects.get(pk=created.json()["id"]).signatures.get(party="buyer").method == "api"
    )


def test_licences_are_listed_for_the_parties_and_revoked_by_regulators(scenario: Scenario) -> None:
    licence = scenario.licence()
    buyer = _as(scenario.buyer.user)
    page = buyer.get("/api/v1/licences/").json()
    assert [x["id"] for x in page["results"]] == [str(licence.pk)] and page["next"] is None
    assert _as(member().user).get("/api/v1/licences/").json()["results"] == []
    assert _as(member().user).get(f"/api/v1/licences/{licence.pk}/").status_code == 404
    url = f"/api/v1/licences/{licence.pk}/revoke/"
    assert buyer.post(url, {"reason": "no"}, format="json").status_code == 403
    revoked = _as(regulator()).post(url, {"reason": "监管要求"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert (
        _as(regulator())
        .post(f"/api/v1/licences/{uuid.uuid4()}/revoke/", {"reason": "x"}, format="json")
        .status_code
        == 404
    )


def test_public_verification_endpoint(scenario: Scenario, api_client: APIClient) -> None:
    licence = scenario.licence()
    by_id = api_client.get(f"/api/v1/verify/?licence={licence.pk}")
    assert by_id.status_code == 200
    data = by_id.json()
    assert data["valid"] is True and data["status"] == "active"
    assert data["licensee"]["uscc"] == scenario.buyer.organisation.uscc
    assert data["dataset"]["title"] == scenario.listing.title
    assert data["policy"]["type"] == "Agreement"
    # No personal data: no emails, no signer names, no addresses.
    text = by_id.content.decode()
    assert scenario.buyer.user.email not in text and "ip" not in data
    by_hash = api_client.get(f"/api/v1/verify/?hash={licence.contract.content_hash}").json()
    assert by_hash["licence_id"] == str(licence.pk)
    unknown = api_client.get(f"/api/v1/verify/?licence={uuid.uuid4()}").json()
    assert unknown["valid"] is False and unknown["status"] == "unknown"
    assert api_client.get("/api/v1/verify/").status_code == 400


def test_verification_page(scenario: Scenario) -> None:
    licence = scenario.licence()
    client = Client()
    empty = client.get("/verify/")
    assert empty.status_code == 200 and b"<form" in empty.content
    page = client.get("/verify/", {"licence": str(licence.pk)})
    assert page.status_code == 200
    body = page.content.decode()
    assert scenario.buyer.organisation.name in body and licence.contract.content_hash in body
    assert "licence-policy" in body
    bad = client.get("/verify/", {"hash": "nothex"})
    assert bad.status_code == 200 and licence.contract.content_hash not in bad.content.decode()


def test_browser_contract_page_signs(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing))
    from licensing import services

    contract = services.create_contract(
        offer=offer, buyer_org=scenario.buyer.organisation, actor=scenario.buyer.user, choices={}
    )
    client = Client()
    client.force_login(scenario.buyer.user)
    page = client.get(f"/contracts/{contract.pk}/")
    assert page.status_code == 200 and contract.content_hash in page.content.decode()
    response = client.post(
        f"/contracts/{contract.pk}/", {"hash": contract.content_hash, "agree": "1"}
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == "signed"
    assert contract.signatures.get(party="buyer").method == "browser"
    pdf = client.get(f"/contracts/{contract.pk}/contract.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    stranger = Client()
    stranger.force_login(member().user)
    assert stranger.get(f"/contracts/{contract.pk}/").status_code == 404
