"""Reads about participants, filtered by who is asking."""

from __future__ import annotations

from django.db.models import QuerySet

from exchange.participants.models import ApiKey, Organisation, PlatformRole, User


def is_platform_staff(user: User) -> bool:
    """user.is_regulator or user.is_operator, in one query instead of two (every order or
    dispute lookup asks this)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    staff = (PlatformRole.REGULATOR, PlatformRole.OPERATOR)
    return user.groups.filter(name__in=staff).exists()


def organisations_visible_to(user: User) -> QuerySet[Organisation]:
    if is_platform_staff(user):
        return Organisation.objects.all()
    return Organisation.objects.filter(memberships__user=user).distinct()


def api_keys_of(organisation: Organisation) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organisation=organisation).select_related("created_by")
