"""Ledger fixtures: funded organisations and signed-in API clients acting for them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from exchange.ledger import funding
from exchange.participants.models import Organisation
from tests.factories import MembershipFactory, OrganisationFactory, operator

_keys = itertools.count()


@pytest.fixture
def ops(db: None) -> Any:
    return operator()


@pytest.fixture
def fund(ops: Any) -> Callable[[Organisation, int], None]:
    """Put money into an organisation's available balance the audited way."""

    def _fund(organisation: Organisation, amount_fen: int) -> None:
        funding.record_manual_deposit(
            operator=ops, organisation=organisation, amount_fen=amount_fen, reason="test funding"
        )

    return _fund


@pytest.fixture
def buyer(db: None) -> Organisation:
    return OrganisationFactory(name="买方测试机构")


@pytest.fixture
def seller(db: None) -> Organisation:
    return OrganisationFactory(name="卖方测试机构")


@pytest.fixture
def owner_client(org_owner: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(org_owner.user)
    return client


def new_key() -> str:
    return f"test-key-{next(_keys)}"


@pytest.fixture
def member_of() -> Callable[..., Any]:
    return MembershipFactory
