"""Portal fixtures: fast password hashing, and a seller / buyer pair with a listed dataset built
through the real services."""

from __future__ import annotations

from typing import Any

import pytest

from tests.portal.browser import browser_env, chromium  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _portal_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
