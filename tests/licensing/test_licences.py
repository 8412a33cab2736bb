"""Licences: issued for fully signed contracts, expired by the beat task, revoked by regulators,
superseded by replacing contracts; public verification by licence id or contract hash."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone

from exchange.audit.models import AuditEvent
from licensing import services, verification
from licensing.models import Licence
from tests.factories import operator, regulator
from tests.licensing.factories import Scenario, offer_for, plan_for, signed_contract

# These tests read the English refusals of the licensing services.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_issue_requires_a_fully_signed_contract_and_is_idempotent(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing))
    unsigned = services.create_contract(
        offer=offer, buyer_org=scenario.buyer.organisation, actor=scenario.buyer.user, choices={}
    )
    with pytest.raises(ValidationError, match="signed by both"):
        services.issue_licence(contract=unsigned)

    contract = signed_contract(offer, scenario.buyer, term_months=6, seats=3)
    start = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    licence = services.issue_licence(contract=contract, starts_at=start)
    assert licence.status == Licence.Status.ACTIVE
    assert (
        licence.buyer == scenario.buyer.organisation
        and licence.seller == scenario.seller.organisation
    )
    assert licence.ends_at == datetime(2026, 7, 31, 8, 0, tzinfo=UTC)
    assert licence.seats == 3 and licence.listing_version == scenario.v1
    assert services.issue_licence(contract=contract) == licence
    assert Licence.objects.filter(contract=contract).count() == 1
    assert (
        AuditEvent.objects.filter(action="licence.issued", object_id=str(licence.pk)).count() == 1
    )


def test_add_months_clamps_to_month_end() -> None:
    jan31 = datetime(2027, 1, 31, tzinfo=UTC)
    assert services.add_months(jan31, 1).day == 28
    assert services.add_months(jan31, 13) == datetime(2028, 2, 29, tzinfo=UTC)
    assert services.add_months(jan31, 12).year == 2028


def test_perpetual_open_licence_never_expires(scenario: Scenario) -> None:
    scenario.listing.licence_family = "odc-by-1.0"
    scenario.listing.save()
    licence = scenario.licence(kind="free", key="odc-by-1.0")
    assert licence.ends_at is None
    assert services.expire_due_licences(now=timezone.now() + timedelta(days=36500)) == 0


def test_expire_due_licences_marks_only_ended_ones(scenario: Scenario) -> None:
    now = timezone.now()
    ended = scenario.licence(term_months=1, starts_at=now - timedelta(days=40))
    running = scenario.licence(term_months=12, starts_at=now - timedelta(days=40))

    assert services.expire_due_licences(now=now) == 1
    assert services.expire_due_licences(now=now) == 0  # rerun: nothing left to claim
    ended.refresh_from_db()
    running.refresh_from_db()
    assert ended.status == Licence.Status.EXPIRED and running.status == Licence.Status.ACTIVE
    assert AuditEvent.objects.filter(action="licence.expired", object_id=str(ended.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_expiry_runs_expire_each_licence_once() -> None:
    scenario = Scenario()
    now = timezone.now()
    ids = [scenario.licence(term_months=1, starts_at=now - timedelta(days=40)).pk for _ in range(6)]
    counts: list[int] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        try:
            barrier.wait()
            counts.append(services.expire_due_licences(now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 6
    assert Licence.objects.filter(pk__in=ids, status="expired").count() == 6
    assert AuditEvent.objects.filter(action="licence.expired").count() == 6


def test_revoke_needs_a_regulator_or_operator_and_a_reason(scenario: Scenario) -> None:
    licence = scenario.licence()
    with pytest.raises(PermissionDenied):
        services.revoke_licence(licence=licence, actor=scenario.seller.user, reason="x")
    with pytest.raises(ValidationError, match="reason"):
        services.revoke_licence(licence=licence, actor=regulator(), reason="  ")
    revoked = services.revoke_licence(licence=licence, actor=operator(), reason="争议裁决：退款")
    assert revoked.status == Licence.Status.REVOKED and revoked.status_reason == "争议裁决：退款"
    # Trading applies refunds as the system (actor None).
    other = scenario.licence()
    assert services.revoke_licence(licence=other, actor=None, reason="refund").status == "revoked"


def test_a_replacing_contract_supersedes_the_old_licence(scenario: Scenario) -> None:
    old = scenario.licence(seats=2)
    new_contract = services.replace_contract(
        contract=old.contract, actor=scenario.buyer.user, choices={"seats": 4}
    )
    services.sign_contract(
        contract=new_contract,
        actor=scenario.buyer.user,
        organisation=scenario.buyer.organisation,
        signed_hash=new_contract.content_hash,
    )
    new = services.issue_licence(contract=new_contract)
    old.refresh_from_db()
    assert old.status == Licence.Status.SUPERSEDED and old.superseded_by == new
    assert old.contract.status == "signed"  # the signed contract itself never changes


# --- verification ------------------------------------------------------------------------------


def test_verify_valid_licence_by_id_and_by_hash(scenario: Scenario) -> None:
    licence = scenario.licence(seats=2)
    for result in (
        verification.verify(licence_id=str(licence.pk)),
        verification.verify(content_hash=licence.contract.content_hash.upper()),
    ):
        assert result["valid"] is True and result["status"] == "active"
        assert result["licensee"] == {
            "name": scenario.buyer.organisation.name,
            "uscc": scenario.buyer.organisation.uscc,
        }
        assert result["licensor"]["name"] == scenario.seller.organisation.name
        assert result["dataset"]["title"] == scenario.listing.title
        assert result["dataset"]["version"] == 1
        assert result["term"]["ends_at"] == licence.ends_at
        assert result["policy"]["type"] == "Agreement"
        assert result["contract"]["integrity_ok"] is True


def test_verify_expired_revoked_and_unknown(scenario: Scenario) -> None:
    now = timezone.now()
    lapsed = scenario.licence(term_months=1, starts_at=now - timedelta(days=40))
    # Past its end but not yet marked by the beat task: already reported expired.
    assert verification.verify(licence_id=str(lapsed.pk))["status"] == "expired"
    services.expire_due_licences(now=now)
    result = verification.verify(licence_id=str(lapsed.pk))
    assert result["valid"] is False and result["status"] == "expired"

    revoked = services.revoke_licence(
        licence=scenario.licence(), actor=regulator(), reason="监管撤销"
    )
    result = verification.verify(content_hash=revoked.contract.content_hash)
    assert result["valid"] is False and result["status"] == "revoked"

    for query in (
        {"licence_id": str(uuid.uuid4())},
        {"licence_id": "not-a-uuid"},
        {"content_hash": "f" * 64},
        {"content_hash": "short"},
    ):
        result = verification.verify(**query)
        assert result == {
            "valid": False,
            "status": "unknown",
            "reason": "no such licence or contract",
        }


def test_verify_a_contract_without_licence(scenario: Scenario) -> None:
    offer = offer_for(scenario.seller, plan_for(scenario.listing))
    contract = signed_contract(offer, scenario.buyer)
    result = verification.verify(content_hash=contract.content_hash)
    assert result["valid"] is False and result["status"] == "no_licence"
    assert "no licence has been issued" in result["reason"]


def test_verify_reports_a_tampered_contract(scenario: Scenario) -> None:
    licence = scenario.licence()
    if connection.vendor != "postgresql":
        pytest.skip("uses PostgreSQL replica mode to bypass the trigger")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE licensing_contract SET seats = 999 WHERE id = %s", [licence.contract_id]
        )
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    result = verification.verify(licence_id=str(licence.pk))
    assert result["valid"] is False and result["contract"]["integrity_ok"] is False


def test_the_beat_task_expires_due_licences(scenario: Scenario) -> None:
    from licensing.tasks import expire_due_licences

    licence = scenario.licence(term_months=1, starts_at=timezone.now() - timedelta(days=40))
    assert expire_due_licences.apply().get() == 1
    licence.refresh_from_db()
    assert licence.status == Licence.Status.EXPIRED


def test_active_offer_is_what_trading_contracts_under(scenario: Scenario) -> None:
    from licensing.selectors import active_offer

    plan = plan_for(scenario.listing)
    assert active_offer(plan) is None
    first = offer_for(scenario.seller, plan)
    second = offer_for(scenario.seller, plan)
    assert active_offer(plan) == second != first
