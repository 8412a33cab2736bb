"""Who may do what in the console, decided once per request.

Regulators read everything and change things only through the review actions (which call the
services, which audit). Operators run the platform: their model permissions come from
exchange.participants.roles. Superusers are platform administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class ConsoleRole:
    regulator: bool
    operator: bool
    superuser: bool

    @property
    def platform_staff(self) -> bool:
        return self.regulator or self.operator or self.superuser

    @property
    def read_only(self) -> bool:
        # A regulator who is also an operator stays read-only: the narrower role wins.
        return self.regulator and not self.superuser


_NOBODY = ConsoleRole(regulator=False, operator=False, superuser=False)


def role_of_user(user: Any) -> ConsoleRole:
    if user is None or not user.is_authenticated or not user.is_active:
        return _NOBODY
    names = set(user.groups.values_list("name", flat=True))
    return ConsoleRole(
        regulator="regulator" in names,
        operator="operator" in names,
        superuser=bool(user.is_superuser),
    )


def role_of(request: HttpRequest) -> ConsoleRole:
    """The requesting user's role, cached on the request (the admin asks many times a page)."""
    cached = getattr(request, "_console_role", None)
    if cached is None or cached[0] != getattr(request.user, "pk", None):
        cached = (getattr(request.user, "pk", None), role_of_user(request.user))
        request._console_role = cached  # type: ignore[attr-defined]
    return cached[1]
