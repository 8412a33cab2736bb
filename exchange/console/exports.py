"""CSV exports for a period: trades and audit events.

UTF-8 with a BOM so Excel opens Chinese text correctly; every text cell passes through
listings.cleaning.neutralize_formula so a value like "=HYPERLINK(...)" stays text in a
spreadsheet. Rows are streamed: the audit log can be long.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.utils import timezone

from exchange.audit.models import AuditEvent
from exchange.console.stats import trades_in
from listings.cleaning import neutralize_formula

BOM = "\ufeff"

TRADE_COLUMNS = [
    "order_id",
    "funded_at",
    "status",
    "outcome",
    "listing_id",
    "listing_title",
    "category",
    "seller_id",
    "seller_name",
    "buyer_id",
    "buyer_name",
    "amount_fen",
    "fee_fen",
    "seller_received_fen",
    "buyer_refunded_fen",
    "contract_reference",
]

AUDIT_COLUMNS = [
    "id",
    "created_at",
    "actor_id",
    "actor_label",
    "organisation_id",
    "action",
    "object_type",
    "object_id",
    "changes",
    "prev_hash",
    "hash",
]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        if getattr(value, "tzinfo", None) is not None:
            value = timezone.localtime(value)
        return str(value.isoformat())
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralize_formula(str(value))


def csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(v) for v in row])


def trade_rows(start: date, end: date) -> Iterator[list[Any]]:
    orders = (
        trades_in(start, end)
        .select_related("listing", "seller", "buyer", "contract")
        .order_by("funded_at", "id")
    )
    for o in orders.iterator(chunk_size=1000):
        yield [
            o.pk,
            o.funded_at,
            o.status,
            o.outcome,
            o.listing_id,
            o.listing.title,
            o.listing.category,
            o.seller_id,
            o.seller.name,
            o.buyer_id,
            o.buyer.name,
            o.amount_fen,
            o.fee_fen,
            o.seller_received_fen,
            o.buyer_refunded_fen,
            o.contract.reference,
        ]


def audit_rows(start: date, end: date) -> Iterator[list[Any]]:
    events = AuditEvent.objects.filter(
        created_at__date__gte=start, created_at__date__lte=end
    ).order_by("id")
    for e in events.iterator(chunk_size=2000):
        yield [getattr(e, name) for name in AUDIT_COLUMNS]
