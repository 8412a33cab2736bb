from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from exchange.participants.models import Membership
from tests.trading.factories import Market


@pytest.fixture(autouse=True)
def _trading_settings(settings: Any) -> None:
    settings.PLATFORM_FEE_BPS = 500
    settings.DOWNLOAD_LINK_TTL_SECONDS = 300
    # The test webhook receivers listen on 127.0.0.1.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 3


@pytest.fixture
def market(db: None, local_storage: Any) -> Market:
    return Market(local_storage)


def client_for(membership: Membership) -> APIClient:
    client = APIClient()
    client.force_authenticate(membership.user)
    return client
