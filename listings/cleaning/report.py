"""The cleaning report: what was found, what was done, how risky the result is.

It is published next to the cleaned file and read by the reviewer, so it holds counts, shares and
decisions only: never a cell value, never the secret.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .version import ENGINE_VERSION


@dataclass
class ColumnReport:
    table: str
    profile: dict[str, Any]
    cells: int = 0
    changed: int = 0
    findings: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.profile)
        d["table"] = self.table
        d["counts"] = {"non_empty_cells": self.cells, "changed_cells": self.changed}
        if self.findings:
            d["counts"]["findings"] = dict(sorted(self.findings.items()))
        return d


@dataclass
class Report:
    input: dict[str, Any]
    output: dict[str, Any]
    policy: dict[str, Any]
    columns: list[ColumnReport] = field(default_factory=list)
    k_anonymity: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    engine_version: str = ENGINE_VERSION

    @property
    def free_text_findings(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for c in self.columns:
            total.update(c.findings)
        return dict(sorted(total.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": "listings.cleaning",
            "engine_version": self.engine_version,
            "input": self.input,
            "output": self.output,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "columns": [c.to_dict() for c in self.columns],
            "free_text_findings": self.free_text_findings,
            "k_anonymity": self.k_anonymity,
            "policy": self.policy,
        }
