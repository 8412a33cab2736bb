"""schemathesis against the live /api/v1/schema/ served in-process (WSGI): every operation,
bounded examples, authenticated as a buyer with every scope. No 5xx, responses conform to the
schema, and every status answered is documented."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import SeededMarket
from tests.api.schema_support import ensure_error_hook

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_schema(monkeypatch: Any, in_process_requests: None, no_throttling: None) -> Any:
    ensure_error_hook(monkeypatch)
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


def real_ids(seeded: SeededMarket) -> dict[str, Any]:
    market = seeded.market
    order = seeded.orders["delivered"]
    return {
        "listing_id": market.listing.pk,
        "plan_id": market.listing.price_plans.first().pk,
        "number": market.v1.number,
        "version_id": market.v1.pk,
        "order_id": order.pk,
        "contract_id": order.contract_id,
        "licence_id": str(order.licence_id),
        "offer_id": order.price_plan.offers.first().pk,
        "template_id": order.contract.template_id,
        "dispute_id": seeded.orders["disputed"].dispute.pk,
        # api-keys/{id}/ and organisations/{id}/: the buyer's own organisation.
        "id": seeded.buyer.membership.organisation_id,
    }


def point_at_real_objects(case: Any, ids: dict[str, Any]) -> None:
    """Random ids almost always miss: send half the cases (those with an even first integer
    parameter) to objects that exist, so the handlers behind the 404 run too."""
    params = case.path_parameters or {}
    if not params:
        return
    first = next(iter(params.values()))
    if isinstance(first, int) and first % 2:
        return
    for name in params:
        if name in ids:
            params[name] = ids[name]


CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Positive cases are valid by the schema: their answers must match it entirely. Negative cases
# break the schema on purpose: they must be refused cleanly (never a 5xx), with a documented code.
MODES = [
    (GenerationMode.POSITIVE, 10, CHECKS),
    (GenerationMode.NEGATIVE, 5, [not_a_server_error, status_code_conformance]),
]


def fuzz_operation(operation: Any, seeded: SeededMarket, ids: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    for mode, examples, checks in MODES:
        if mode == GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # nothing to make invalid; hypothesis would search long to find that out
        runner = _runner(operation, mode, examples, checks, seeded, ids)
        try:
            runner()
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (e.g. GET without params)
        except (AssertionError, BaseExceptionGroup) as exc:
            # schemathesis raises a group of distinct failures; collect all, report at the end.
            failures.append(f"{operation.label} ({mode.value}): {_describe(exc)}")
    return failures


def has_inputs(operation: Any) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return str(exc)[:1500]


def _runner(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    checks: list[Any],
    seeded: SeededMarket,
    ids: dict[str, Any],
) -> Any:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        seeded.buyer.refresh()
        point_at_real_objects(case, ids)
        case.call_and_validate(headers=seeded.buyer.headers, checks=checks)

    return run


def test_api_conforms_to_its_schema(api_schema: Any, seeded: SeededMarket) -> None:
    ids = real_ids(seeded)
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        failures += fuzz_operation(operation, seeded, ids)
    assert operations > 50, "the schema lost its operations"
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures)
