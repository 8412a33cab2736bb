"""Public verification: from a licence id or a contract hash to "valid or not", with the parties,
the dataset, the term and the policy, so a buyer can show a third party that its data has a lawful
source. Organisation names and USCCs only: no people, no addresses, no prices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from licensing.models import Contract, Licence
from licensing.selectors import find_for_verification


def effective_status(licence: Licence, now: datetime) -> str:
    """The status as of `now`: an active licence past its end is expired even before the beat
    task has marked it."""
    if licence.status == Licence.Status.ACTIVE:
        if licence.ends_at is not None and licence.ends_at <= now:
            return Licence.Status.EXPIRED
        if licence.starts_at > now:
            return "not_started"
    return str(licence.status)


def _party(organisation: Any) -> dict[str, str]:
    return {"name": organisation.name, "uscc": organisation.uscc}


def verify(
    *, licence_id: str | None = None, content_hash: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    contract, licence = find_for_verification(licence_id=licence_id, content_hash=content_hash)
    if contract is None:
        return {"valid": False, "status": "unknown", "reason": "no such licence or contract"}
    integrity = contract.integrity_ok()
    status = effective_status(licence, now) if licence else "no_licence"
    valid = integrity and licence is not None and status == Licence.Status.ACTIVE
    if not integrity:
        reason = "the contract fails its integrity check"
    elif licence is None:
        reason = (
            "the contract is signed but no licence has been issued"
            if contract.status == Contract.Status.SIGNED
            else "the contract is not signed by both parties"
        )
    else:
        reason = {
            "active": "the licence is active and in term",
            "expired": "the licence term has ended",
            "revoked": "the licence was revoked",
            "superseded": "the licence was superseded by a later contract",
            "not_started": "the licence term has not started",
        }[status]
    return {
        "valid": valid,
        "status": status,
        "reason": reason,
        "licence_id": str(licence.pk) if licence else None,
        "contract": {
            "reference": contract.reference,
            "content_hash": contract.content_hash,
            "integrity_ok": integrity,
            "signed_at": contract.signed_at,
            "template": {"key": contract.template.key, "version": contract.template.version},
        },
        "licensor": _party(contract.seller),
        "licensee": _party(contract.buyer),
        "dataset": {
            "listing_id": contract.listing_id,
            "title": contract.listing.title,
            "version": contract.listing_version.number if contract.listing_version else None,
            "plan_kind": contract.plan_kind,
        },
        "term": {
            "starts_at": licence.starts_at if licence else None,
            "ends_at": licence.ends_at if licence else None,
            "term_months": contract.term_months,
        },
        "policy": contract.policy,
    }
