"""Platform roles as auth groups, their permissions kept in step with the models.

Runs after every migrate (post_migrate), so a model added later gets its view permission for
regulators without anyone remembering to grant it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from exchange.participants.models import PlatformRole

# Apps whose models the platform roles see. Django's own (sessions, contenttypes) stay out.
PLATFORM_APPS = ("participants", "audit", "listings", "licensing", "ledger", "trading")
# Operators run the platform day to day but never rewrite history or money.
OPERATOR_READ_ONLY_APPS = ("audit", "ledger")


def sync_platform_roles(**_: Any) -> None:
    platform = Permission.objects.filter(content_type__app_label__in=PLATFORM_APPS)
    regulator, _created = Group.objects.get_or_create(name=PlatformRole.REGULATOR)
    regulator.permissions.set(platform.filter(codename__startswith="view_"))
    operator, _created = Group.objects.get_or_create(name=PlatformRole.OPERATOR)
    operator_perms = platform.exclude(
        content_type__app_label__in=OPERATOR_READ_ONLY_APPS,
        codename__regex=r"^(add|change|delete)_",
    ).exclude(codename__startswith="delete_")
    operator.permissions.set(operator_perms)
