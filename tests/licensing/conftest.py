from __future__ import annotations

from typing import Any

import pytest

from tests.licensing.factories import Scenario


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Factories hash a password per user; the production hasher makes that ~0.5 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scenario(db: None) -> Scenario:
    return Scenario()
