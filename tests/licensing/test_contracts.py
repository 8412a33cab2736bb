"""Contracts: frozen and hashed, pre-signed by the seller through the offer, signed by the buyer
over the hash it saw; a tampered copy fails the hash check; the PDF carries the hash."""

from __future__ import annotations

import copy
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, InternalError, connection, transaction

from exchange.audit.models import AuditEvent
from licensing import hashing, odrl, services
from licensing.models import Contract, ContractFrozen, ContractSignature
from licensing.pdf import SignatureLine, render_contract_pdf
from tests.factories import OrganisationFactory
from tests.licensing.factories import Scenario, member, offer_for, plan_for

# These tests read the English refusals of the licensing services.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _contract(scenario: Scenario, **choices: object) -> Contract:
    offer = offer_for(scenario.seller, plan_for(scenario.listing), seats={"min": 1, "max": 10})
    return services.create_contract(
        offer=offer,
        buyer_org=scenario.buyer.organisation,
        actor=scenario.buyer.user,
        choices=choices,
    )


def test_contract_is_frozen_hashed_and_presigned_by_the_seller(scenario: Scenario) -> None:
    contract = _contract(scenario, seats=4, purposes=["research"])

    assert re.fullmatch(r"[0-9a-f]{64}", contract.content_hash)
    assert contract.integrity_ok()
    assert contract.seats == 4 and contract.term_months == 12
    assert contract.listing_version == scenario.v1
    assert "测试数据买方有限公司" in contract.text_zh and "CNY 1,000.00" in contract.text_en
    odrl.check_policy(contract.policy)
    assert contract.policy["type"] == "Agreement"
    [seller_sig] = contract.signatures.all()
    assert seller_sig.party == "seller" and seller_sig.method == "offer"
    assert seller_sig.user == contract.offer.accepted_by
    assert seller_sig.signed_hash == contract.content_hash
    assert contract.status == Contract.Status.AWAITING_SIGNATURE
    assert not contract.is_fully_signed
    assert AuditEvent.objects.filter(action="contract.created", object_id=str(contract.pk)).exists()


def test_buyer_signs_the_hash_it_saw(scenario: Scenario) -> None:
    contract = _contract(scenario)
    with pytest.raises(ValidationError, match="hash does not match"):
        services.sign_contract(
            contract=contract,
            actor=scenario.buyer.user,
            organisation=scenario.buyer.organisation,
            signed_hash="0" * 64,
        )
    signature = services.sign_contract(
        contract=contract,
        actor=scenario.buyer.user,
        organisation=scenario.buyer.organisation,
        signed_hash=contract.content_hash.upper(),
        ip="203.0.113.9",
        user_agent="Mozilla/5.0 test",
        method=ContractSignature.Method.BROWSER,
    )
    contract.refresh_from_db()
    assert contract.status == Contract.Status.SIGNED and contract.is_fully_signed
    assert signature.user == scenario.buyer.user
    assert signature.organisation == scenario.buyer.organisation
    assert str(signature.ip) == "203.0.113.9" and signature.user_agent == "Mozilla/5.0 test"
    assert signature.signed_hash == contract.content_hash and contract.signed_at is not None
    with pytest.raises(ValidationError, match="already signed"):
        services.sign_contract(
            contract=contract,
            actor=scenario.buyer.user,
            organisation=scenario.buyer.organisation,
            signed_hash=contract.content_hash,
        )


def test_only_the_buyer_organisation_signs(scenario: Scenario) -> None:
    contract = _contract(scenario)
    stranger = member()
    with pytest.raises(PermissionDenied):
        services.sign_contract(
            contract=contract,
            actor=stranger.user,
            organisation=stranger.organisation,
            signed_hash=contract.content_hash,
        )
    with pytest.raises(PermissionDenied):  # a buyer-org id with a user who is not a member
        services.sign_contract(
            contract=contract,
            actor=stranger.user,
            organisation=scenario.buyer.organisation,
            signed_hash=contract.content_hash,
        )


def test_a_tampered_copy_fails_the_hash_check(scenario: Scenario) -> None:
    contract = _contract(scenario, seats=3)
    document = contract.document()
    assert hashing.matches(document, contract.content_hash)

    for mutate in (
        lambda d: d.update(text_zh=d["text_zh"].replace("3 名", "30 名")),
        lambda d: d.update(text_en=d["text_en"] + " "),
        lambda d: d["policy"]["permission"][0].update(action="distribute"),
        lambda d: d["terms"].update(seats=30),
        lambda d: d["terms"].update(price_fen=1),
    ):
        tampered = copy.deepcopy(document)
        mutate(tampered)
        assert not hashing.matches(tampered, contract.content_hash)


def test_a_stored_contract_cannot_change(scenario: Scenario) -> None:
    contract = _contract(scenario)
    contract.text_en = "Something else entirely."
    with pytest.raises(ContractFrozen):
        contract.save()
    with pytest.raises(ContractFrozen):
        contract.save(update_fields=["text_en"])
    if connection.vendor == "postgresql":
        # Bulk updates bypass the model; the database trigger refuses them.
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
            Contract.objects.filter(pk=contract.pk).update(seats=999)
        with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
            ContractSignature.objects.filter(contract=contract).update(signed_hash="0" * 64)
    fresh = Contract.objects.get(pk=contract.pk)
    assert fresh.text_en != "Something else entirely." and fresh.integrity_ok()


def test_a_row_altered_behind_the_models_back_fails_integrity(scenario: Scenario) -> None:
    contract = _contract(scenario)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what an attacker with DB access could do
            # replica mode skips ordinary triggers (needs a superuser, as an attacker would).
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "UPDATE licensing_contract SET text_en = text_en || 'x' WHERE id = %s",
                [contract.pk],
            )
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    else:
        Contract.objects.filter(pk=contract.pk).update(text_en=contract.text_en + "x")
    altered = Contract.objects.get(pk=contract.pk)
    assert not altered.integrity_ok()
    with pytest.raises(ValidationError, match="integrity"):
        services.sign_contract(
            contract=altered,
            actor=scenario.buyer.user,
            organisation=scenario.buyer.organisation,
            signed_hash=altered.content_hash,
        )


def test_any_change_makes_a_new_contract(scenario: Scenario) -> None:
    contract = _contract(scenario, seats=2)
    replacement = services.replace_contract(
        contract=contract, actor=scenario.buyer.user, choices={"seats": 5}
    )
    contract.refresh_from_db()
    assert replacement.pk != contract.pk and replacement.replaces == contract
    assert replacement.content_hash != contract.content_hash
    assert contract.status == Contract.Status.VOID and contract.integrity_ok()
    with pytest.raises(ValidationError, match="void"):
        services.sign_contract(
            contract=contract,
            actor=scenario.buyer.user,
            organisation=scenario.buyer.organisation,
            signed_hash=contract.content_hash,
        )


def test_contract_refusals(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing))
    with pytest.raises(ValidationError, match="own data"):
        services.create_contract(
            offer=offer,
            buyer_org=scenario.seller.organisation,
            actor=scenario.seller.user,
            choices={},
        )
    frozen = member(status="frozen")
    with pytest.raises(PermissionDenied, match="frozen"):
        services.create_contract(
            offer=offer, buyer_org=frozen.organisation, actor=frozen.user, choices={}
        )
    with pytest.raises(PermissionDenied):
        services.create_contract(
            offer=offer, buyer_org=OrganisationFactory(), actor=scenario.buyer.user, choices={}
        )
    scenario.listing.visibility = "private"
    scenario.listing.save()
    with pytest.raises(ValidationError, match="not available"):
        services.create_contract(
            offer=offer,
            buyer_org=scenario.buyer.organisation,
            actor=scenario.buyer.user,
            choices={},
        )
    scenario.listing.allowed_buyers.add(scenario.buyer.organisation)
    assert services.create_contract(
        offer=offer, buyer_org=scenario.buyer.organisation, actor=scenario.buyer.user, choices={}
    )
    services.withdraw_offer(actor=scenario.seller.user, offer=offer)
    with pytest.raises(ValidationError, match="withdrawn"):
        services.create_contract(
            offer=offer,
            buyer_org=scenario.buyer.organisation,
            actor=scenario.buyer.user,
            choices={},
        )


def test_subscription_contract_covers_the_plan_term(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing, "subscription", term_months=3))
    contract = services.create_contract(
        offer=offer, buyer_org=scenario.buyer.organisation, actor=scenario.buyer.user, choices={}
    )
    assert contract.subscription_months == 3 and contract.term_months == 3
    assert "订阅：3 个月" in contract.text_zh and "Subscription: 3 months" in contract.text_en
    assert contract.policy["permission"][0]["target"].endswith("#dataset")


def test_open_licence_contract_is_perpetual_and_unlimited(scenario: Scenario) -> None:
    scenario.listing.licence_family = "cc-by-4.0"
    scenario.listing.save()
    offer = offer_for(scenario.seller, plan_for(scenario.listing, "free"), "cc-by-4.0")
    contract = services.create_contract(
        offer=offer, buyer_org=scenario.buyer.organisation, actor=scenario.buyer.user, choices={}
    )
    assert contract.term_months is None and contract.seats is None
    assert "creativecommons.org" in contract.text_en


def _pdf_text_hex(pdf: bytes) -> str:
    return pdf.decode("latin-1")


def test_pdf_starts_with_the_magic_and_carries_the_hash(scenario: Scenario) -> None:
    contract = _contract(scenario)
    pdf = render_contract_pdf(
        reference=contract.reference,
        content_hash=contract.content_hash,
        text_zh=contract.text_zh,
        text_en=contract.text_en,
        policy=contract.policy,
        signatures=[
            SignatureLine(
                "seller", "测试数据供应有限公司", "9111", "Test", "offer", "2026", "ab" * 32
            )
        ],
    )
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    body = _pdf_text_hex(pdf)
    assert f"/Subject (SHA-256 {contract.content_hash})" in body
    # Uncompressed page streams: the hash is drawn on the page as text too.
    assert body.count(contract.content_hash) >= 3
    assert "/STSong-Light" in body and "UniGB-UCS2-H" in body
    # Deterministic: the same contract renders to the same bytes.
    again = render_contract_pdf(
        reference=contract.reference,
        content_hash=contract.content_hash,
        text_zh=contract.text_zh,
        text_en=contract.text_en,
        policy=contract.policy,
        signatures=[
            SignatureLine(
                "seller", "测试数据供应有限公司", "9111", "Test", "offer", "2026", "ab" * 32
            )
        ],
    )
    assert again == pdf
