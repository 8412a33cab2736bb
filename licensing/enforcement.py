"""The one question delivery asks: may this organisation download this version now?

Yes when one of the organisation's licences for the version's listing is active and in term, covers
the version (a one-time purchase covers its version; a subscription covers the version current at
signing and every version released during its term), and — when a `user` is given — the user
holds a seat or a free seat remains. Every answer is logged as a DownloadDecision (no personal
data); a new seat is recorded under a row lock on the licence, so two users racing for the last
seat cannot both get it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from exchange.participants.models import Membership, Organisation
from licensing.models import DownloadDecision, Licence, LicenceSeat
from listings.models import ListingVersion


class Reason:
    OK = "ok"
    NO_LICENCE = "no_licence"  # none for this organisation and listing (e.g. another org's)
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    NOT_STARTED = "not_started"
    VERSION_NOT_COVERED = "version_not_covered"
    VERSION_UNAVAILABLE = "version_unavailable"  # not approved for sale
    SEATS_EXCEEDED = "seats_exceeded"
    ORGANISATION_FROZEN = "organisation_frozen"
    NOT_A_MEMBER = "not_a_member"  # the user does not act for the organisation


# When no licence allows, the most telling refusal wins (lowest number).
_PRIORITY = {
    Reason.SEATS_EXCEEDED: 0,
    Reason.VERSION_NOT_COVERED: 1,
    Reason.NOT_STARTED: 2,
    Reason.EXPIRED: 3,
    Reason.REVOKED: 4,
    Reason.SUPERSEDED: 5,
    Reason.NO_LICENCE: 9,
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    licence: Licence | None = None

    def __bool__(self) -> bool:
        return self.allowed


def released_at(version: ListingVersion) -> datetime | None:
    """When buyers could first get the version: its approval, else its pipeline publication."""
    return version.approved_at or version.published_at


def _covers(licence: Licence, version: ListingVersion) -> bool:
    if licence.listing_version_id == version.pk:
        return True
    if licence.plan_kind == "subscription":
        moment = released_at(version)
        if moment is None or moment < licence.starts_at:
            return False
        return licence.ends_at is None or moment < licence.ends_at
    # A one-time or free contract made without a version covers every version of the listing.
    return licence.listing_version_id is None


def _term_problem(licence: Licence, now: datetime) -> str | None:
    if licence.status == Licence.Status.REVOKED:
        return Reason.REVOKED
    if licence.status == Licence.Status.SUPERSEDED:
        return Reason.SUPERSEDED
    if licence.status == Licence.Status.EXPIRED or (
        licence.ends_at is not None and licence.ends_at <= now
    ):
        return Reason.EXPIRED
    if licence.starts_at > now:
        return Reason.NOT_STARTED
    return None


def _take_seat(licence: Licence, user: Any, now: datetime) -> bool:
    """True if the user holds, or has just taken, a seat."""
    if licence.seats is None:
        return True
    if LicenceSeat.objects.filter(licence=licence, user=user).exists():
        return True
    # Lock the licence so seat counting and claiming are one step.
    Licence.objects.select_for_update(no_key=True).filter(pk=licence.pk).first()
    if LicenceSeat.objects.filter(licence=licence, user=user).exists():
        return True
    if LicenceSeat.objects.filter(licence=licence).count() >= licence.seats:
        return False
    LicenceSeat.objects.create(licence=licence, user=user, first_download_at=now)
    return True


def _decide(
    organisation: Organisation, version: ListingVersion, user: Any, now: datetime
) -> Decision:
    if organisation.is_frozen:
        return Decision(False, Reason.ORGANISATION_FROZEN)
    if (
        user is not None
        and not Membership.objects.filter(user=user, organisation=organisation).exists()
    ):
        return Decision(False, Reason.NOT_A_MEMBER)
    if version.status != ListingVersion.Status.APPROVED:
        return Decision(False, Reason.VERSION_UNAVAILABLE)
    licences = list(
        Licence.objects.filter(buyer=organisation, listing_id=version.listing_id).order_by(
            "-issued_at"
        )
    )
    refusals: list[Decision] = []
    for licence in licences:
        problem = _term_problem(licence, now)
        if problem is None and not _covers(licence, version):
            problem = Reason.VERSION_NOT_COVERED
        if problem is None and user is not None and not _take_seat(licence, user, now):
            problem = Reason.SEATS_EXCEEDED
        if problem is None:
            return Decision(True, Reason.OK, licence)
        refusals.append(Decision(False, problem, licence))
    if not refusals:
        return Decision(False, Reason.NO_LICENCE)
    return min(refusals, key=lambda d: _PRIORITY.get(d.reason, 8))


@transaction.atomic
def may_download(
    organisation: Organisation,
    version: ListingVersion,
    *,
    user: Any = None,
    now: datetime | None = None,
) -> Decision:
    """Decide, record a seat for `user` when one is used, log the decision, answer."""
    now = now or timezone.now()
    decision = _decide(organisation, version, user, now)
    DownloadDecision.objects.create(
        decided_at=now,
        organisation=organisation,
        version=version,
        licence=decision.licence,
        allowed=decision.allowed,
        reason=decision.reason,
    )
    return decision
