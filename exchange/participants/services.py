"""Writes about participants. Each runs in one transaction and records its audit event."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from exchange.audit.services import record
from exchange.participants.models import (
    ApiKey,
    ApiKeyScope,
    Membership,
    Organisation,
    User,
    hash_api_secret,
)

API_KEY_TOKEN_PREFIX = "dx"  # noqa: S105  (a public marker, not a secret)


class OrganisationFrozen(PermissionDenied):
    """The organisation is frozen: nothing that moves data or money is allowed."""


def ensure_not_frozen(organisation: Organisation, doing: str) -> None:
    """Call before anything that moves data or money. The refusal says why and since when.

    `doing` is an English phrase marked with gettext_noop by the caller; it is translated here,
    at raise time, into the request's language."""
    if organisation.is_frozen:
        params = {
            "name": organisation.name,
            "doing": gettext(doing),
            "since": f"{organisation.status_changed_at:%Y-%m-%d}"
            if organisation.status_changed_at
            else "",
            "reason": organisation.status_reason,
        }
        # One whole sentence per shape (with/without date, with/without reason): translators
        # cannot reorder sentence fragments glued together in code.
        if params["since"] and params["reason"]:
            message = gettext(
                "Organisation '%(name)s' is frozen since %(since)s: %(reason)s. "
                "It cannot %(doing)s until a regulator unfreezes it."
            )
        elif params["since"]:
            message = gettext(
                "Organisation '%(name)s' is frozen since %(since)s. "
                "It cannot %(doing)s until a regulator unfreezes it."
            )
        elif params["reason"]:
            message = gettext(
                "Organisation '%(name)s' is frozen: %(reason)s. "
                "It cannot %(doing)s until a regulator unfreezes it."
            )
        else:
            message = gettext(
                "Organisation '%(name)s' is frozen. "
                "It cannot %(doing)s until a regulator unfreezes it."
            )
        raise OrganisationFrozen(message % params)


def membership_of(user: User, organisation: Organisation) -> Membership | None:
    return Membership.objects.filter(user=user, organisation=organisation).first()


def require_manager(user: User, organisation: Organisation) -> None:
    """Refuse unless `user` is an owner or admin of `organisation` (members trade, not manage)."""
    member = membership_of(user, organisation)
    if member is None or not member.can_manage:
        raise PermissionDenied(gettext("Only an owner or admin of the organisation may do this."))


@transaction.atomic
def register_organisation(*, user: User, name: str, kind: str, uscc: str) -> Organisation:
    """Create an organisation (pending verification) with `user` as its owner."""
    organisation = Organisation(name=name.strip(), kind=kind, uscc=uscc.strip().upper())
    organisation.full_clean()
    organisation.save()
    Membership.objects.create(user=user, organisation=organisation, role=Membership.Role.OWNER)
    record(
        "organisation.registered",
        organisation,
        actor=user,
        organisation=organisation,
        changes={"name": organisation.name, "kind": kind},
    )
    return organisation


@transaction.atomic
def add_member(*, actor: User, organisation: Organisation, user: User, role: str) -> Membership:
    require_manager(actor, organisation)
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"must be one of {', '.join(Membership.Role.values)}"})
    membership, _ = Membership.objects.update_or_create(
        user=user, organisation=organisation, defaults={"role": role}
    )
    record(
        "organisation.member_set",
        organisation,
        actor=actor,
        organisation=organisation,
        changes={"user_id": user.pk, "role": role},
    )
    return membership


def _set_status(
    *, actor: User, organisation: Organisation, status: str, reason: str, action: str
) -> Organisation:
    if not (actor.is_regulator or actor.is_operator):
        raise PermissionDenied(
            gettext("Only a regulator or platform operator may change an organisation's status.")
        )
    # NO KEY UPDATE: other transactions' foreign-key checks on this row (KEY SHARE, taken at
    # their commit while they hold the audit chain's lock) do not wait for it, so a freeze
    # during trading cannot deadlock against them; two status changes still exclude each other.
    locked = Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
    old = locked.status
    locked.status = status
    locked.status_reason = reason
    locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "status_reason", "status_changed_at"])
    record(
        action,
        locked,
        actor=actor,
        organisation=locked,
        changes={"status": [old, status], "reason": reason},
    )
    return locked


@transaction.atomic
def verify_organisation(
    *, actor: User, organisation: Organisation, reason: str = ""
) -> Organisation:
    return _set_status(
        actor=actor,
        organisation=organisation,
        status=Organisation.Status.VERIFIED,
        reason=reason,
        action="organisation.verified",
    )


@transaction.atomic
def freeze_organisation(*, actor: User, organisation: Organisation, reason: str) -> Organisation:
    if not reason.strip():
        raise ValidationError({"reason": gettext("a reason is required to freeze an organisation")})
    return _set_status(
        actor=actor,
        organisation=organisation,
        status=Organisation.Status.FROZEN,
        reason=reason.strip(),
        action="organisation.frozen",
    )


@transaction.atomic
def unfreeze_organisation(*, actor: User, organisation: Organisation, reason: str) -> Organisation:
    if not reason.strip():
        raise ValidationError(
            {"reason": gettext("a reason is required to unfreeze an organisation")}
        )
    return _set_status(
        actor=actor,
        organisation=organisation,
        status=Organisation.Status.VERIFIED,
        reason=reason.strip(),
        action="organisation.unfrozen",
    )


@dataclass(frozen=True)
class IssuedApiKey:
    key: ApiKey
    token: str  # shown once; only its hash is stored


@transaction.atomic
def create_api_key(
    *,
    actor: User,
    organisation: Organisation,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
) -> IssuedApiKey:
    require_manager(actor, organisation)
    unknown = sorted(set(scopes) - set(ApiKeyScope.values))
    if not scopes or unknown:
        raise ValidationError(
            {
                "scopes": f"choose one or more of {', '.join(ApiKeyScope.values)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            }
        )
    now = timezone.now()
    expires_at = expires_at or now + timedelta(days=settings.API_KEY_DEFAULT_LIFETIME_DAYS)
    if expires_at <= now:
        raise ValidationError({"expires_at": gettext("must be in the future")})
    prefix = secrets.token_hex(6)
    token = f"{API_KEY_TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organisation=organisation,
        name=name.strip() or "API key",
        prefix=prefix,
        key_hash=hash_api_secret(token),
        scopes=sorted(set(scopes)),
        created_by=actor,
        expires_at=expires_at,
    )
    record(
        "api_key.created",
        key,
        actor=actor,
        organisation=organisation,
        changes={"prefix": prefix, "scopes": key.scopes, "expires_at": expires_at.isoformat()},
    )
    return IssuedApiKey(key=key, token=token)


@transaction.atomic
def revoke_api_key(*, actor: User, key: ApiKey, reason: str = "") -> ApiKey:
    if not (actor.is_regulator or actor.is_operator):
        require_manager(actor, key.organisation)
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record(
            "api_key.revoked",
            locked,
            actor=actor,
            organisation=locked.organisation_id,
            changes={"prefix": locked.prefix, "reason": reason},
        )
    return locked


def parse_api_token(token: str) -> tuple[str, str] | None:
    """Split 'dx_<prefix>_<secret>' into (prefix, token); None if it is not shaped like a key."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], token


def touch_api_key(key: ApiKey, now: Any = None) -> None:
    """Record last use, at most once a minute per key, so busy keys do not write on every call."""
    now = now or timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
