"""One table's decisions (column profiles, k-anonymity plan) and the transformation of its batches.

A :class:`TableJob` profiles a table, plans k-anonymity over the whole table, then transforms batch
after batch.  Once profiled and planned, batches are independent of each other: that is what lets
:mod:`parallel` hand them to worker processes (each holding a copy of the job's decisions).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import columnar, detectors, io_formats
from .kanon import KAnonymity
from .lexicon import CUES_AFTER, CUES_BEFORE
from .policy import Policy
from .profiling import ColumnProfile, profile_column
from .report import ColumnReport
from .transforms import (
    Pseudonymizer,
    age_band,
    generalise_address,
    generalise_date,
    generalise_postcode,
    map_distinct,
)
from .validators import PLATE_PROVINCES

# A column's counts from one batch: (non-empty cells, changed cells, free-text findings by kind).
CountsDelta = tuple[int, int, Counter[str]]

# RE2 prefilter (C++, whole array at once) for cells of unclassified columns: only cells that could
# hold something the scanner finds go through the Python scanner.  It must stay a superset of
# scan().
_PREFILTER = (
    r"[0-9０-９][0-9０-９ \-]{8,}|[0-9]\.[0-9]{1,3}\.[0-9]|[@＠]|[0-9A-Fa-f]?::?[0-9A-Fa-f]{1,4}:"
    r"|[(（]0[0-9]|[0-9A-Z]{9}"
    rf"|[{PLATE_PROVINCES}][A-Z]"
    r"|[路街道巷弄同区园寓厦村苑场心][0-9０-９一二三四五六七八九十百零〇A-Za-z]{1,5}(?:号|栋|幢|座)"
    "|" + "|".join(re.escape(c) for c in sorted(set(CUES_BEFORE) | set(CUES_AFTER)))
)


def _quasi_level0(profile: ColumnProfile, policy: Policy) -> Callable[[str], str] | None:
    """The per-value generalisation a quasi-identifier gets before k-anonymity looks at it."""
    if profile.transform != "generalise":
        return None
    g = policy.raw["generalise"]
    kind = profile.kind
    if kind == "birth_date":
        level = str(g["date"])
        return lambda s: generalise_date(s, level)
    if kind == "age":
        width = int(g["age_band"])
        return lambda s: age_band(s, width)
    if kind == "postcode":
        digits = int(g["postcode_digits"])
        return lambda s: generalise_postcode(s, digits)
    if kind == "district":
        return generalise_address
    return lambda s: "*"


@dataclass(frozen=True)
class Decisions:
    name: str
    policy: Policy
    profiles: dict[str, ColumnProfile]
    kanon: KAnonymity | None


class TableJob:
    def __init__(self, name: str, policy: Policy, pseudo: Pseudonymizer) -> None:
        self.name = name
        self.policy = policy
        self.pseudo = pseudo
        self.profiles: dict[str, ColumnProfile] = {}
        self.reports: dict[str, ColumnReport] = {}
        self.kanon: KAnonymity | None = None

    # -- profiling -------------------------------------------------------------------------------

    def profile(self, *batches: io_formats.Batch) -> None:
        """Classify the columns not classified yet from the first ``sample_rows`` rows of
        ``batches`` (consecutive batches), so the sample does not depend on the batch size."""
        n = self.policy.sample_rows
        for i, (name, strings) in enumerate(
            zip(batches[0].columns, batches[0].strings, strict=True)
        ):
            if name in self.profiles:
                continue
            sample: list[str | None] = []
            if strings is not None:
                for batch in batches:
                    more = batch.strings[i] if batch.columns[i : i + 1] == [name] else None
                    if more is None or len(sample) >= n:
                        break
                    sample.extend(more.slice(0, n - len(sample)).to_pylist())
            prof = profile_column(name, sample, self.policy)
            if strings is None:  # binary / nested Parquet column: nothing textual to scan
                prof.cls, prof.kind, prof.transform = "other", None, "keep"
                prof.evidence["not_text"] = True
            self.profiles[name] = prof
            self.reports[name] = ColumnReport(self.name, prof.to_dict())

    def profile_samples(self, samples: dict[str, list[str | None]]) -> None:
        """Profile columns from samples gathered beforehand (JSON Lines: the whole file's keys)."""
        for name, sample in samples.items():
            if name not in self.profiles:
                prof = profile_column(name, sample, self.policy)
                self.profiles[name] = prof
                self.reports[name] = ColumnReport(self.name, prof.to_dict())

    def quasi_columns(self) -> list[str]:
        return [
            c
            for c, p in self.profiles.items()
            if p.cls == "quasi_identifier" and p.transform != "drop"
        ]

    # -- k-anonymity pass
    # ---------------------------------------------------------------------------

    def needs_kanon(self) -> bool:
        return bool(self.quasi_columns()) and self.policy.k_enabled

    def plan_kanon(self, table: io_formats.Table) -> dict[str, Any] | None:
        if not self.needs_kanon():
            return None
        cols = self.quasi_columns()
        ka = KAnonymity(
            cols,
            [self.profiles[c].kind or "" for c in cols],
            self.policy.k,
            self.policy.max_suppression,
        )
        for batch in table.batches(columns=cols):
            values = self._quasi_values(batch, cols)
            _, first, sizes = columnar.group_rows(values)
            keys = zip(*(v.take(first).to_pylist() for v in values), strict=True)
            ka.observe_counts(zip(keys, sizes, strict=True))
        self.kanon = ka
        return ka.plan()

    def _quasi_values(self, batch: io_formats.Batch, cols: list[str]) -> list[pa.Array]:
        """Level-0 generalised quasi-identifier columns (nulls as "")."""
        out = []
        pos = {c: i for i, c in enumerate(batch.columns)}
        for c in cols:
            arr = batch.strings[pos[c]]
            prof = self.profiles[c]
            if arr is None:
                out.append(pa.array(["*"] * batch.num_rows, pa.string()))
                continue
            arr = arr.cast(pa.string()) if arr.type != pa.string() else arr
            if prof.transform == "generalise" and prof.kind == "birth_date":
                arr = columnar.generalise_date_column(
                    arr, str(self.policy.raw["generalise"]["date"])
                )
            else:
                fn = _quasi_level0(prof, self.policy)
                if fn is not None:
                    arr = map_distinct(arr, fn)
            out.append(pc.fill_null(arr, ""))
        return out

    # -- transforming
    # --------------------------------------------------------------------------------

    def output_columns(self, columns: list[str]) -> list[str]:
        return [c for c in columns if self.profiles[c].transform != "drop"]

    def process(self, batch: io_formats.Batch) -> dict[str, pa.Array]:
        """Every output column of ``batch`` (dropped columns left out), counted in the report."""
        return self.complete(batch, self.changes(batch))

    def changes(self, batch: io_formats.Batch) -> dict[str, pa.Array]:
        """Only the columns whose cells this batch changes, counted in the report.

        A worker process sends back just these; the unchanged ones are already in the parent.
        """
        self.profile(batch)  # JSON Lines may bring new keys in later batches
        out: dict[str, pa.Array] = {}
        pos = {c: i for i, c in enumerate(batch.columns)}
        # This row's name columns, to catch the same person named without a cue in text.
        name_values: list[pa.Array] = []
        for c, p in self.profiles.items():
            arr_c = batch.strings[pos[c]] if c in pos else None
            if arr_c is not None and p.kind == "name" and p.cls == "identifier":
                name_values.append(arr_c)
        for name in batch.columns:
            prof = self.profiles[name]
            rep = self.reports[name]
            arr = batch.strings[pos[name]]
            if prof.transform == "drop":
                rep.changed += batch.num_rows
                continue
            if arr is None:
                continue
            rep.cells += batch.num_rows - arr.null_count - _count_empty(arr)
            new = self._transform(prof, arr, rep, name_values)
            if new is not arr:
                rep.changed += _count_changed(arr, new)
                out[name] = new
        if self.kanon is not None:
            self._apply_kanon(batch, out)
        return out

    def complete(
        self, batch: io_formats.Batch, changes: dict[str, pa.Array]
    ) -> dict[str, pa.Array]:
        """The output columns of ``batch``: its changed columns, its untouched ones as read."""
        native = batch.native if isinstance(batch.native, pa.RecordBatch) else None
        out: dict[str, pa.Array] = {}
        for i, name in enumerate(batch.columns):
            if self.profiles[name].transform == "drop":
                continue
            if name in changes:
                out[name] = changes[name]
            elif native is not None:
                out[name] = native.column(i)
            else:
                arr = batch.strings[i]
                out[name] = arr if arr is not None else pa.nulls(batch.num_rows, pa.string())
        return out

    # -- handing the job to worker processes
    # ---------------------------------------------------------------------------

    def decisions(self) -> Decisions:
        """What a worker process needs to transform this table's batches exactly as this process
        would (the k-anonymity plan without its per-group counts, which only planning needs)."""
        kanon = self.kanon.without_counts() if self.kanon is not None else None
        return Decisions(self.name, self.policy, self.profiles, kanon)

    @classmethod
    def from_decisions(cls, decisions: Decisions, pseudo: Pseudonymizer) -> TableJob:
        job = cls(decisions.name, decisions.policy, pseudo)
        job.profiles = decisions.profiles
        job.reports = {c: ColumnReport(job.name, {}) for c in job.profiles}
        job.kanon = decisions.kanon
        return job

    def take_counts(self) -> dict[str, CountsDelta]:
        """The report counts gathered since the last call, reset to zero (in a worker)."""
        counts = {c: (r.cells, r.changed, r.findings) for c, r in self.reports.items()}
        self.reports = {c: ColumnReport(self.name, {}) for c in self.profiles}
        return counts

    def add_counts(self, counts: dict[str, CountsDelta]) -> None:
        """Add a worker's counts for one batch to this job's report (in the parent)."""
        for c, (cells, changed, findings) in counts.items():
            rep = self.reports[c]
            rep.cells += cells
            rep.changed += changed
            rep.findings.update(findings)

    def _transform(
        self,
        prof: ColumnProfile,
        arr: pa.Array,
        rep: ColumnReport,
        name_values: list[pa.Array],
    ) -> pa.Array:
        kind = prof.kind or "mixed"
        t = prof.transform
        if prof.cls == "identifier":
            # The whole column is personal data: transformed in bulk, never scanned cell by cell.
            if t == "pseudonym":
                return columnar.pseudonymise(arr, kind, self.pseudo)
            if t == "generalise" and kind == "address":
                return columnar.generalise_address_column(arr)
            return columnar.mask_column(arr, kind)
        if prof.cls == "quasi_identifier":
            return arr  # generalised with k-anonymity below, all quasi-identifiers together
        if t == "keep":
            return arr
        if detectors.ACCELERATED and arr.type == pa.string():
            return self._redact_in_c(prof, arr, rep, name_values)
        cells = arr.to_pylist()
        if prof.cls == "other":
            # Prefilter in C++ so only plausible cells pay for the Python scanner.
            hits = pc.match_substring_regex(arr, _PREFILTER).to_pylist()
            idx = [i for i, h in enumerate(hits) if h]
            if not idx:
                return arr
            red = detectors.redact_many([cells[i] for i in idx], rep.findings)
            changed = False
            for i, r in zip(idx, red, strict=True):
                if r != cells[i]:
                    cells[i] = r
                    changed = True
            if not changed:
                return arr
        else:
            cells = detectors.redact_many(cells, rep.findings)
        if name_values:
            cells = detectors.redact_known_values(
                cells, [a.to_pylist() for a in name_values], detectors.TAGS["name"], rep.findings
            )
        return pa.array(cells, type=pa.string())

    def _redact_in_c(
        self,
        prof: ColumnProfile,
        arr: pa.Array,
        rep: ColumnReport,
        name_values: list[pa.Array],
    ) -> pa.Array:
        """The Python path below with the C scanner: the same cells change the same way.

        No prefilter: the C scanner is cheaper than the RE2 one.  As below, the names of the row's
        name columns are looked for in every free-text cell, and in a cell of another column only
        if the scanner found something in that column.
        """
        new = detectors.redact_array(arr, rep.findings)
        if prof.cls == "other" and new.equals(arr):
            return arr
        if not name_values:
            return new
        return detectors.redact_known_array(new, name_values, detectors.TAGS["name"], rep.findings)

    def _apply_kanon(self, batch: io_formats.Batch, out: dict[str, pa.Array]) -> None:
        assert self.kanon is not None
        cols = self.kanon.columns
        present = [c for c in cols if c in batch.columns]
        if len(present) != len(cols):
            return
        values = self._quasi_values(batch, cols)
        # The plan is applied once per distinct combination, then spread back to the rows.
        codes, first, _ = columnar.group_rows(values)
        keys = zip(*(v.take(first).to_pylist() for v in values), strict=True)
        generalised = [self.kanon.apply(key) for key in keys]
        pos = {c: i for i, c in enumerate(batch.columns)}
        for j, c in enumerate(cols):
            orig = batch.strings[pos[c]]
            if orig is None:
                continue
            orig = orig.cast(pa.string()) if orig.type != pa.string() else orig
            per_group = pa.array([g[j] for g in generalised], type=pa.string())
            # Keep empty cells empty: a missing value is not a generalised one.
            arr = pc.if_else(columnar.non_empty(orig), pc.take(per_group, codes), orig)
            changed = _count_changed(orig, arr)
            self.reports[c].changed += changed
            if changed:
                out[c] = arr


def _count_empty(arr: pa.Array) -> int:
    # binary_length reads the offsets only; utf8_length would read every byte.
    return int(pc.sum(pc.equal(pc.binary_length(arr), 0)).as_py() or 0)


def _count_changed(old: pa.Array, new: pa.Array) -> int:
    diff = pc.fill_null(pc.not_equal(old, new), False)
    return int(pc.sum(diff).as_py() or 0) + abs(old.null_count - new.null_count)
