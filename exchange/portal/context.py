"""Who the browser user acts for. One rule for every page: the organisation chosen in the
session (when the user is still a member of it), else the user's oldest membership."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from exchange.participants.models import Membership, Organisation, User
from listings.selectors import ANONYMOUS, Viewer

SESSION_KEY = "organisation_id"


def current_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Log in first.")
    return user


def memberships_of(user: User) -> list[Membership]:
    return list(
        Membership.objects.filter(user_id=user.pk)
        .select_related("organisation")
        .order_by("created_at")
    )


def acting_organisation(request: HttpRequest) -> Organisation | None:
    user = request.user
    if not isinstance(user, User):
        return None
    memberships = memberships_of(user)
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.organisation_id == chosen:
            return membership.organisation
    return memberships[0].organisation if memberships else None


def viewer_of(request: HttpRequest) -> Viewer:
    if not request.user.is_authenticated:
        return ANONYMOUS
    return Viewer.for_user(request.user, acting_organisation(request))


def require_organisation(
    request: HttpRequest, *, sell: bool = False, buy: bool = False
) -> Organisation:
    organisation = acting_organisation(request)
    if organisation is None:
        raise PermissionDenied("You act for no organisation yet: register one first.")
    if sell and not organisation.can_sell:
        raise PermissionDenied("This organisation is registered as a buyer only.")
    if buy and not organisation.can_buy:
        raise PermissionDenied("This organisation is registered as a seller only.")
    return organisation
