"""Who may call what: API-key scopes, organisation membership, frozen organisations."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop
from rest_framework import permissions
from rest_framework.request import Request

from exchange.participants.models import ApiKey, Organisation
from exchange.participants.services import OrganisationFrozen, ensure_not_frozen


class HasScope(permissions.IsAuthenticated):
    """Authenticated, and views name `required_scope` that API keys must carry. Session users act
    with all scopes of their memberships, so the scope check applies to keys only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        scope = getattr(view, "required_scope", "read")
        if isinstance(request.auth, ApiKey) and not request.auth.has_scope(scope):
            self.message = gettext(
                "This API key lacks the '%(scope)s' scope this operation needs."
            ) % {"scope": scope}
            return False
        return True


def acting_organisation(request: Request) -> Organisation | None:
    """The organisation a request acts for: the key's, or the session's chosen membership."""
    if isinstance(request.auth, ApiKey):
        return request.auth.organisation
    user = request.user
    if not user.is_authenticated:
        return None
    org_id = request.headers.get("X-Organisation") or request.session.get("organisation_id")
    memberships = user.memberships.select_related("organisation")
    if org_id:
        membership = memberships.filter(organisation_id=org_id).first()
    else:
        membership = memberships.order_by("created_at").first()
    return membership.organisation if membership else None


class NotFrozen(permissions.BasePermission):
    """Refuses writes (anything but GET/HEAD/OPTIONS) for a frozen organisation, saying why."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        organisation = acting_organisation(request)
        if organisation is not None:
            try:
                ensure_not_frozen(organisation, gettext_noop("move data or money"))
            except OrganisationFrozen as exc:
                self.message = str(exc)
                return False
        return True
