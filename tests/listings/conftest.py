from __future__ import annotations

from typing import Any

import pytest

from tests.factories import operator, regulator
from tests.listings.factories import seller_member


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 costs about a second per synthetic user on this machine; these tests never log in
    # with a password (force_login), so a fast hasher loses nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seller(db: None) -> Any:
    """The owner membership of a verified seller organisation."""
    return seller_member()


@pytest.fixture
def reg(db: None) -> Any:
    return regulator()


@pytest.fixture
def op(db: None) -> Any:
    return operator()
