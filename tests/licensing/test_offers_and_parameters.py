"""Offers narrow a template; buyers choose within the offer; errors name the field."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from exchange.audit.models import AuditEvent
from licensing import services
from licensing.catalogue import TEMPLATES, TemplateDefinition
from licensing.models import LicenceTemplate, Offer
from tests.licensing.factories import Scenario, member, offer_for, plan_for, template

# These tests read the English refusals of the licensing services.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_every_shipped_template_is_stored_once_as_version_one() -> None:
    services.sync_templates()  # idempotent on top of the post-migrate sync
    rows = LicenceTemplate.objects.filter(is_current=True)
    assert {r.key for r in rows} == {t.key for t in TEMPLATES}
    assert all(r.version == 1 for r in rows)


def test_changing_a_template_publishes_a_new_version_and_keeps_the_old(scenario: Scenario) -> None:
    licence = scenario.licence(seats=2)
    contract = licence.contract
    before = (contract.text_zh, contract.text_en, contract.policy, contract.content_hash)
    original = next(t for t in TEMPLATES if t.key == "commercial-internal-use")
    changed = TemplateDefinition.from_json(
        {**original.to_json(), "summary_en": ["A reworded clause.", *original.summary_en]}
    )

    [published] = services.sync_templates([changed])

    assert published.version == 2 and published.is_current
    old = LicenceTemplate.objects.get(key=original.key, version=1)
    assert not old.is_current and old.definition == original.to_json()
    contract.refresh_from_db()
    assert (contract.text_zh, contract.text_en, contract.policy, contract.content_hash) == before
    assert contract.integrity_ok()
    assert contract.template_id == old.pk
    # An offer on the old version can no longer be made.
    with pytest.raises(ValidationError, match="newer version"):
        services.create_offer(
            actor=scenario.seller.user,
            price_plan=plan_for(scenario.listing),
            template=old,
            allowed={},
        )


def test_offer_records_the_sellers_acceptance_and_replaces_the_previous(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing)
    first = offer_for(scenario.seller, plan, seats={"min": 1, "max": 5})
    second = offer_for(scenario.seller, plan, seats={"min": 1, "max": 20})

    first.refresh_from_db()
    assert first.status == Offer.Status.WITHDRAWN
    assert second.status == Offer.Status.ACTIVE
    assert second.accepted_by == scenario.seller.user
    assert str(second.acceptance_ip) == "198.51.100.7"
    assert len(second.terms_hash) == 64 and second.terms_hash != first.terms_hash
    assert second.allowed["seats"] == {"min": 1, "max": 20, "allow_null": False}
    assert AuditEvent.objects.filter(action="offer.created", object_id=str(second.pk)).exists()


def test_offer_errors_name_the_parameter(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing)
    with pytest.raises(ValidationError) as exc:
        offer_for(
            scenario.seller,
            plan,
            seats={"min": 0, "max": 5},
            purposes={"options": ["resale"]},
            delete_at_end={"options": [True, False]},
            colour={"fixed": "blue"},
        )
    errors = exc.value.message_dict
    assert set(errors) == {
        "allowed.seats",
        "allowed.purposes",
        "allowed.delete_at_end",
        "allowed.colour",
    }
    assert "seller fixes" in errors["allowed.delete_at_end"][0]


def test_only_the_sellers_managers_make_offers(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing)
    outsider = member()
    with pytest.raises(PermissionDenied):
        offer_for(outsider, plan)
    plain_member = member(role="member")
    plain_member.organisation = scenario.seller.organisation
    from exchange.participants.models import Membership

    staff = Membership.objects.create(
        user=plain_member.user, organisation=scenario.seller.organisation, role="member"
    )
    with pytest.raises(PermissionDenied):
        offer_for(staff, plan)


def test_subscription_offer_fixes_the_term_to_the_plan(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing, "subscription", term_months=6)
    offer = offer_for(scenario.seller, plan)
    assert offer.allowed["term_months"] == {"fixed": 6}
    with pytest.raises(ValidationError, match="term"):
        offer_for(scenario.seller, plan, term_months={"fixed": 12})


def test_open_template_must_match_the_listing_family(scenario: Scenario) -> None:
    scenario.listing.licence_family = "cc-by-4.0"
    scenario.listing.save()
    plan = plan_for(scenario.listing, "free")
    with pytest.raises(ValidationError, match=r"cc-by-4\.0"):
        offer_for(scenario.seller, plan, "odc-by-1.0")
    with pytest.raises(ValidationError, match=r"cc-by-4\.0"):
        offer_for(scenario.seller, plan, "commercial-internal-use")
    assert offer_for(scenario.seller, plan, "cc-by-4.0").template == template("cc-by-4.0")


def test_buyer_choices_outside_the_offer_are_field_errors(scenario: Scenario) -> None:
    plan = plan_for(scenario.listing)
    offer = offer_for(
        scenario.seller,
        plan,
        seats={"min": 1, "max": 5},
        purposes={"options": ["research", "internal_commercial"]},
        territory={"fixed": "cn_mainland"},
    )
    with pytest.raises(ValidationError) as exc:
        services.create_contract(
            offer=offer,
            buyer_org=scenario.buyer.organisation,
            actor=scenario.buyer.user,
            choices={
                "seats": 6,
                "purposes": ["product_development"],
                "territory": "worldwide",
                "term_months": "forever",
                "colour": "blue",
            },
        )
    errors = exc.value.message_dict
    assert set(errors) == {"seats", "purposes", "territory", "term_months", "colour"}
    assert "1 to 5" in errors["seats"][0]
    assert "cn_mainland" in errors["territory"][0]


def test_single_project_needs_the_project_name(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing), "commercial-single-project")
    with pytest.raises(ValidationError) as exc:
        services.create_contract(
            offer=offer,
            buyer_org=scenario.buyer.organisation,
            actor=scenario.buyer.user,
            choices={},
        )
    assert exc.value.message_dict == {"project": ["this choice is required"]}
    contract = services.create_contract(
        offer=offer,
        buyer_org=scenario.buyer.organisation,
        actor=scenario.buyer.user,
        choices={"project": "交通信号优化"},
    )
    assert "交通信号优化" in contract.text_zh
    assert any(
        c.get("leftOperand") == "product" and c["rightOperand"] == "交通信号优化"
        for c in contract.policy["permission"][0]["constraint"]
    )


def test_text_choices_refuse_control_characters(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing), "commercial-single-project")
    with pytest.raises(ValidationError) as exc:
        services.create_contract(
            offer=offer,
            buyer_org=scenario.buyer.organisation,
            actor=scenario.buyer.user,
            choices={"project": "bad\x00name"},
        )
    assert "control characters" in exc.value.message_dict["project"][0]
