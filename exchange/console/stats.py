"""Dashboard figures, computed with ORM aggregates (and one pass over cleaning reports).

A *trade* is an order that was funded: money reached escrow, a licence was issued. It is counted
on the calendar day (platform time zone) it was funded, at its contract amount, whatever happened
to it afterwards (a refund is a later event; the trade still took place).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from exchange.participants.models import Organisation
from exchange.trading.models import Dispute, Order
from listings.models import Category, ListingVersion
from listings.pipeline.models import Upload


@dataclass(frozen=True)
class DayFigure:
    day: date
    trades: int
    value_fen: int


@dataclass(frozen=True)
class CategoryFigure:
    category: str
    label: str
    trades: int
    value_fen: int


@dataclass(frozen=True)
class PiiFigure:
    """Across every published version: columns classified as this type, the values in them,
    and the findings of this type in free text."""

    kind: str
    columns: int
    column_values: int
    free_text_findings: int

    @property
    def total(self) -> int:
        return self.column_values + self.free_text_findings


@dataclass
class Dashboard:
    start: date
    end: date
    per_day: list[DayFigure]
    per_category: list[CategoryFigure]
    pending_reviews: int
    open_disputes: int
    awaiting_verification: int
    pii: list[PiiFigure]
    failed_runs: int
    recent_failures: list[Upload] = field(default_factory=list)

    @property
    def total_trades(self) -> int:
        return sum(d.trades for d in self.per_day)

    @property
    def total_value_fen(self) -> int:
        return sum(d.value_fen for d in self.per_day)


def trades_in(start: date, end: date) -> QuerySet[Order]:
    """Orders funded on the days start..end (inclusive, platform time zone)."""
    return Order.objects.filter(
        funded_at__isnull=False, funded_at__date__gte=start, funded_at__date__lte=end
    )


def trades_per_day(start: date, end: date) -> list[DayFigure]:
    rows = (
        trades_in(start, end)
        .annotate(day=TruncDate("funded_at"))
        .values("day")
        .annotate(trades=Count("id"), value=Sum("amount_fen"))
    )
    found = {row["day"]: row for row in rows}
    days = []
    day = start
    while day <= end:  # every day, so a chart shows the quiet ones too
        row = found.get(day)
        days.append(
            DayFigure(day, row["trades"] if row else 0, int(row["value"] or 0) if row else 0)
        )
        day += timedelta(days=1)
    return days


def trades_per_category(start: date, end: date) -> list[CategoryFigure]:
    rows = (
        trades_in(start, end)
        .values("listing__category")
        .annotate(trades=Count("id"), value=Sum("amount_fen"))
        .order_by("-value", "listing__category")
    )
    labels = dict(Category.choices)
    return [
        CategoryFigure(
            row["listing__category"],
            str(labels.get(row["listing__category"], row["listing__category"])),
            row["trades"],
            int(row["value"] or 0),
        )
        for row in rows
    ]


def pending_reviews() -> int:
    return ListingVersion.objects.filter(status=ListingVersion.Status.SUBMITTED).count()


def open_disputes() -> int:
    return Dispute.objects.exclude(status=Dispute.Status.RESOLVED).count()


def awaiting_verification() -> int:
    return Organisation.objects.filter(status=Organisation.Status.PENDING).count()


def failed_pipeline_runs() -> QuerySet[Upload]:
    """Uploads the platform could not finish (not files rejected as bad input)."""
    return Upload.objects.filter(status=Upload.Status.FAILED)


def pii_findings_by_type() -> list[PiiFigure]:
    """Personal information found by the cleaning engine, by type, over all published versions.

    Reports are JSON shaped by listings.cleaning.report; reading them in Python keeps this the
    same on SQLite and PostgreSQL. Only reports are read, never data.
    """
    columns: Counter[str] = Counter()
    values: Counter[str] = Counter()
    free_text: Counter[str] = Counter()
    reports = (
        ListingVersion.objects.filter(pipeline_status=ListingVersion.PipelineStatus.PUBLISHED)
        .exclude(cleaning_report=None)
        .values_list("cleaning_report", flat=True)
    )
    for report in reports.iterator(chunk_size=500):
        if not isinstance(report, dict):
            continue
        for column in report.get("columns") or []:
            if not isinstance(column, dict):
                continue
            kind = column.get("type")
            if kind and column.get("classification") in ("identifier", "quasi_identifier"):
                columns[kind] += 1
                values[kind] += _int((column.get("counts") or {}).get("non_empty_cells"))
        for kind, count in (report.get("free_text_findings") or {}).items():
            free_text[str(kind)] += _int(count)
    kinds = sorted(set(columns) | set(free_text))
    figures = [PiiFigure(k, columns[k], values[k], free_text[k]) for k in kinds]
    return sorted(figures, key=lambda f: (-f.total, f.kind))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def dashboard(start: date | None = None, end: date | None = None) -> Dashboard:
    end = end or timezone.localdate()
    start = start or end - timedelta(days=29)
    failed = failed_pipeline_runs()
    return Dashboard(
        start=start,
        end=end,
        per_day=trades_per_day(start, end),
        per_category=trades_per_category(start, end),
        pending_reviews=pending_reviews(),
        open_disputes=open_disputes(),
        awaiting_verification=awaiting_verification(),
        pii=pii_findings_by_type(),
        failed_runs=failed.count(),
        recent_failures=list(
            failed.select_related("version", "version__listing").order_by("-updated_at")[:10]
        ),
    )
