"""Shared fixtures. The suite runs against real PostgreSQL and Redis (see the Makefile)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytest_plugins = ["tests.s3_server"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings: None) -> None:
    """Let Django's test flush TRUNCATE the append-only audit table (see audit migration 0002)."""
    from django.conf import settings

    db: dict[str, Any] = settings.DATABASES["default"]
    if str(db["ENGINE"]).endswith("postgresql"):
        options: dict[str, Any] = db.setdefault("OPTIONS", {})
        extra = "-c exchange.audit_truncate_allowed=on"
        options["options"] = f"{options.get('options', '')} {extra}".strip()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Factories set real passwords; PBKDF2 costs ~0.7 s a user on a busy 2-core machine. Tests
    # that log in with a password still work: MD5 hashing is only weaker, not different.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters and delivery counts live in the cache; tests must not see each other's.
    cache.clear()


@pytest.fixture
def english() -> Iterator[None]:
    """Service calls made outside a request speak the site's default language (Chinese), as
    LANGUAGE_CODE says; tests that read English refusals ask for English, as a browser would."""
    with translation.override("en"):
        yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def org_owner(db: None) -> Any:
    """A verified seller-and-buyer organisation with its owner."""
    membership = MembershipFactory(role="owner", organisation__status="verified")
    return membership


@pytest.fixture
def make_user(db: None) -> Any:
    return UserFactory


@pytest.fixture
def make_org(db: None) -> Any:
    return OrganisationFactory
