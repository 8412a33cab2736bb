from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client

from exchange.console.site import ConsoleSite
from tests.console.factories import Platform


@pytest.fixture(autouse=True)
def _console_installed() -> None:
    if not isinstance(admin.site, ConsoleSite):
        pytest.fail(
            "The console is not the admin site: INSTALLED_APPS needs "
            "'exchange.console.admin_config.ConsoleAdminConfig' in place of "
            "'django.contrib.admin', and 'exchange.console' "
            "(see exchange/settings.py)."
        )


@pytest.fixture(autouse=True)
def _console_settings(settings: Any) -> None:
    settings.PLATFORM_FEE_BPS = 500
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def platform(db: None) -> Platform:
    return Platform()


def client_for(user: Any, language: str = "en") -> Client:
    """A logged-in client whose browser asks for `language` (the site defaults to Chinese; these
    tests read English text unless they say otherwise)."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client
