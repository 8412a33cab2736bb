"""The enforcement matrix: may this organisation download this version now? Each answer logged."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from exchange.participants.models import Membership
from licensing import services
from licensing.enforcement import Reason, may_download
from licensing.models import DownloadDecision, LicenceSeat
from tests.factories import UserFactory, regulator
from tests.licensing.factories import Scenario, approved_version, member

pytestmark = pytest.mark.django_db


def _decide(scenario: Scenario, version=None, organisation=None, **kwargs):
    return may_download(
        organisation or scenario.buyer.organisation, version or scenario.v1, **kwargs
    )


def test_active_licence_allows_and_the_decision_is_logged(scenario: Scenario) -> None:
    licence = scenario.licence()
    decision = _decide(scenario, user=scenario.buyer.user)
    assert decision.allowed and decision.reason == Reason.OK and decision.licence == licence
    logged = DownloadDecision.objects.get()
    assert logged.allowed and logged.reason == "ok" and logged.licence == licence
    assert logged.organisation == scenario.buyer.organisation and logged.version == scenario.v1


def test_no_licence_and_other_organisation_are_denied(scenario: Scenario) -> None:
    assert _decide(scenario).reason == Reason.NO_LICENCE
    scenario.licence()
    other = member()
    decision = _decide(scenario, organisation=other.organisation)
    assert not decision.allowed and decision.reason == Reason.NO_LICENCE
    # The seller's own organisation holds no licence either.
    assert _decide(scenario, organisation=scenario.seller.organisation).reason == Reason.NO_LICENCE


def test_expired_licence_is_denied_before_and_after_the_beat_task(scenario: Scenario) -> None:
    now = timezone.now()
    scenario.licence(term_months=1, starts_at=now - timedelta(days=40))
    assert _decide(scenario, now=now).reason == Reason.EXPIRED
    services.expire_due_licences(now=now)
    decision = _decide(scenario, now=now)
    assert not decision.allowed and decision.reason == Reason.EXPIRED


def test_revoked_licence_is_denied(scenario: Scenario) -> None:
    licence = scenario.licence()
    services.revoke_licence(licence=licence, actor=regulator(), reason="dispute outcome")
    decision = _decide(scenario)
    assert not decision.allowed and decision.reason == Reason.REVOKED
    assert DownloadDecision.objects.filter(allowed=False, reason="revoked").count() == 1


def test_superseded_licence_yields_to_its_successor(scenario: Scenario) -> None:
    old = scenario.licence(seats=1)
    new_contract = services.replace_contract(
        contract=old.contract, actor=scenario.buyer.user, choices={"seats": 2}
    )
    services.sign_contract(
        contract=new_contract,
        actor=scenario.buyer.user,
        organisation=scenario.buyer.organisation,
        signed_hash=new_contract.content_hash,
    )
    new = services.issue_licence(contract=new_contract)
    decision = _decide(scenario)
    assert decision.allowed and decision.licence == new


def test_licence_not_yet_started_is_denied(scenario: Scenario) -> None:
    scenario.licence(starts_at=timezone.now() + timedelta(days=3))
    assert _decide(scenario).reason == Reason.NOT_STARTED


def test_one_time_purchase_covers_only_its_version(scenario: Scenario) -> None:
    scenario.licence()
    v2 = approved_version(scenario.listing, 2, released=timezone.now())
    decision = _decide(scenario, version=v2)
    assert not decision.allowed and decision.reason == Reason.VERSION_NOT_COVERED


def test_subscription_covers_versions_released_during_its_term(scenario: Scenario) -> None:
    now = timezone.now()
    start = now - timedelta(days=60)
    scenario.licence(kind="subscription", starts_at=start)  # 12-month plan
    before = approved_version(scenario.listing, 2, released=start - timedelta(days=5))
    during = approved_version(scenario.listing, 3, released=start + timedelta(days=10))
    after_end = approved_version(scenario.listing, 4, released=start + timedelta(days=400))

    assert _decide(scenario, version=scenario.v1, now=now).allowed  # current at signing
    assert _decide(scenario, version=during, now=now).allowed
    denied = _decide(scenario, version=before, now=now)
    assert not denied.allowed and denied.reason == Reason.VERSION_NOT_COVERED
    later = _decide(scenario, version=after_end, now=start + timedelta(days=401))
    assert not later.allowed and later.reason == Reason.EXPIRED
    outside = _decide(scenario, version=after_end, now=start + timedelta(days=300))
    assert not outside.allowed and outside.reason == Reason.VERSION_NOT_COVERED


def _colleague(scenario: Scenario) -> object:
    user = UserFactory()
    Membership.objects.create(user=user, organisation=scenario.buyer.organisation, role="member")
    return user


def test_seats_count_distinct_users_and_deny_beyond(scenario: Scenario) -> None:
    licence = scenario.licence(seats=2)
    first, second, third = scenario.buyer.user, _colleague(scenario), _colleague(scenario)
    assert _decide(scenario, user=first).allowed
    assert _decide(scenario, user=first).allowed  # same user again: same seat
    assert _decide(scenario, user=second).allowed
    decision = _decide(scenario, user=third)
    assert not decision.allowed and decision.reason == Reason.SEATS_EXCEEDED
    assert _decide(scenario, user=second).allowed  # seat holders keep downloading
    assert set(LicenceSeat.objects.filter(licence=licence).values_list("user", flat=True)) == {
        first.pk,
        second.pk,
    }


def test_a_user_outside_the_organisation_is_denied(scenario: Scenario) -> None:
    scenario.licence()
    decision = _decide(scenario, user=member().user)
    assert not decision.allowed and decision.reason == Reason.NOT_A_MEMBER


def test_frozen_organisation_and_unapproved_version_are_denied(scenario: Scenario) -> None:
    scenario.licence()
    scenario.v1.status = "submitted"
    scenario.v1.save()
    assert _decide(scenario).reason == Reason.VERSION_UNAVAILABLE
    scenario.v1.status = "approved"
    scenario.v1.save()
    organisation = scenario.buyer.organisation
    organisation.status = "frozen"
    organisation.save()
    assert _decide(scenario).reason == Reason.ORGANISATION_FROZEN


@pytest.mark.django_db(transaction=True)
def test_racing_users_cannot_both_take_the_last_seat() -> None:
    scenario = Scenario()
    scenario.licence(seats=1)
    users = [_colleague(scenario) for _ in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(users))

    def run(user: object) -> None:
        try:
            barrier.wait()
            results.append(
                may_download(scenario.buyer.organisation, scenario.v1, user=user).allowed
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert LicenceSeat.objects.count() == 1
    assert DownloadDecision.objects.filter(reason="seats_exceeded").count() == 5
