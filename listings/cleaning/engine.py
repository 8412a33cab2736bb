"""The pipeline: read in batches, profile, plan k-anonymity, transform, write, report."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import columnar, detectors, io_formats
from .errors import CleaningError
from .kanon import KAnonymity
from .lexicon import CUES_AFTER, CUES_BEFORE
from .policy import Policy, load_policy
from .profiling import ColumnProfile, profile_column
from .report import ColumnReport, Report
from .transforms import (
    Pseudonymizer,
    age_band,
    generalise_address,
    generalise_date,
    generalise_postcode,
    map_distinct,
)
from .validators import PLATE_PROVINCES

Progress = Callable[[int, int], None]

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


class _TableJob:
    def __init__(self, table: io_formats.Table, policy: Policy, pseudo: Pseudonymizer) -> None:
        self.table = table
        self.policy = policy
        self.pseudo = pseudo
        self.profiles: dict[str, ColumnProfile] = {}
        self.reports: dict[str, ColumnReport] = {}
        self.kanon: KAnonymity | None = None
        self._prefilter_ok = True

    # -- profiling -------------------------------------------------------------------------------

    def profile(self, batch: io_formats.Batch) -> None:
        n = self.policy.sample_rows
        for name, strings in zip(batch.columns, batch.strings, strict=True):
            if name in self.profiles:
                continue
            sample = strings.slice(0, n).to_pylist() if strings is not None else []
            prof = profile_column(name, sample, self.policy)
            if strings is None:  # binary / nested Parquet column: nothing textual to scan
                prof.cls, prof.kind, prof.transform = "other", None, "keep"
                prof.evidence["not_text"] = True
            self.profiles[name] = prof
            self.reports[name] = ColumnReport(self.table.name, prof.to_dict())

    def profile_samples(self, samples: dict[str, list[str | None]]) -> None:
        """Profile columns from samples gathered beforehand (JSON Lines: the whole file's keys)."""
        for name, sample in samples.items():
            if name not in self.profiles:
                prof = profile_column(name, sample, self.policy)
                self.profiles[name] = prof
                self.reports[name] = ColumnReport(self.table.name, prof.to_dict())

    def quasi_columns(self) -> list[str]:
        return [
            c
            for c, p in self.profiles.items()
            if p.cls == "quasi_identifier" and p.transform != "drop"
        ]

    # -- k-anonymity pass
    # ---------------------------------------------------------------------------

    def plan_kanon(self) -> dict[str, Any] | None:
        cols = self.quasi_columns()
        if not cols or not self.policy.k_enabled:
            return None
        ka = KAnonymity(
            cols,
            [self.profiles[c].kind or "" for c in cols],
            self.policy.k,
            self.policy.max_suppression,
        )
        for batch in self.table.batches(columns=cols):
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
        self.profile(batch)  # JSON Lines may bring new keys in later batches
        out: dict[str, pa.Array] = {}
        pos = {c: i for i, c in enumerate(batch.columns)}
        native = batch.native if isinstance(batch.native, pa.RecordBatch) else None
        # Values of this row's name columns, to catch the same person named without a cue in text.
        name_values: list[list[str | None]] = []
        for c, p in self.profiles.items():
            arr_c = batch.strings[pos[c]] if c in pos else None
            if arr_c is not None and p.kind == "name" and p.cls == "identifier":
                name_values.append(arr_c.to_pylist())
        for name in batch.columns:
            prof = self.profiles[name]
            rep = self.reports[name]
            arr = batch.strings[pos[name]]
            if prof.transform == "drop":
                rep.changed += batch.num_rows
                continue
            if arr is None:
                out[name] = (
                    native.column(pos[name])
                    if native is not None
                    else pa.nulls(batch.num_rows, pa.string())
                )
                continue
            rep.cells += batch.num_rows - arr.null_count - _count_empty(arr)
            new = self._transform(prof, arr, rep, name_values)
            if new is arr:
                out[name] = native.column(pos[name]) if native is not None else arr
            else:
                rep.changed += _count_changed(arr, new)
                out[name] = new
        if self.kanon is not None:
            self._apply_kanon(batch, out)
        return out

    def _transform(
        self,
        prof: ColumnProfile,
        arr: pa.Array,
        rep: ColumnReport,
        name_values: list[list[str | None]],
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
                cells, name_values, detectors.TAGS["name"], rep.findings
            )
        return pa.array(cells, type=pa.string())

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
    return int(pc.sum(pc.equal(pc.utf8_length(arr), 0)).as_py() or 0)


def _count_changed(old: pa.Array, new: pa.Array) -> int:
    diff = pc.fill_null(pc.not_equal(old, new), False)
    return int(pc.sum(diff).as_py() or 0) + abs(old.null_count - new.null_count)


def anonymize_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    policy: Policy | dict[str, Any] | str | os.PathLike[str] | None = None,
    secret: bytes,
    progress: Progress | None = None,
) -> Report:
    """Anonymise one file into another of the same format and return the report.

    Raises :class:`CleaningError` (message free of personal data) on bad input, policy or secret.
    The output file is written to a temporary name and renamed only on success, so a failed run
    never leaves a partial output behind.
    """
    started = time.perf_counter()
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise CleaningError("the pseudonymisation secret must be at least 16 bytes")
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    src, dst = str(input_path), str(output_path)
    if not os.path.isfile(src):
        raise CleaningError("input file not found")
    fmt = fmt or io_formats.format_of(src)
    if fmt not in io_formats.FORMATS.values():
        raise CleaningError(f"unknown format '{fmt}'")
    if io_formats.FORMATS.get(Path(dst).suffix.lower(), fmt) != fmt:
        raise CleaningError("the output must have the same format (extension) as the input")
    if os.path.abspath(src) == os.path.abspath(dst):
        raise CleaningError("input and output must be different files")

    tables, info = io_formats.open_tables(src, fmt)
    pseudo = Pseudonymizer(bytes(secret))
    tmp = dst + ".part"
    writer = io_formats.open_writer(tmp, fmt, bom=info.bom)
    report = Report(
        input={
            "format": fmt,
            "encoding": info.encoding,
            "utf8_bom": info.bom,
            "bytes": info.bytes_total,
            "tables": info.tables,
        },
        output={"format": fmt, "encoding": "utf-8" if fmt in ("csv", "tsv", "jsonl") else None},
        policy=pol.to_dict(),
    )
    rows_done = 0
    try:
        for table in tables:
            job = _TableJob(table, pol, pseudo)
            survey = getattr(table, "survey", None)
            if survey is not None:
                job.profile_samples(survey(pol.sample_rows))
            batches = table.batches()
            first = next(batches, None)
            if first is None:
                columns = list(getattr(table, "columns", []))
                job.profile(io_formats.Batch(columns, [pa.array([], pa.string())] * len(columns)))
                writer.start_table(table.name, job.output_columns(columns))
            else:
                job.profile(first)
                stats = job.plan_kanon()
                if stats is not None:
                    stats["table"] = table.name
                    report.k_anonymity.append(stats)
                # JSON Lines batches carry every key of the file (surveyed above), so the first
                # batch's columns are all the columns.
                writer.start_table(table.name, job.output_columns(first.columns))
                pending: io_formats.Batch | None = first
                while pending is not None:
                    out = job.process(pending)
                    writer.write(pending, out)
                    rows_done += pending.num_rows
                    if progress is not None:
                        progress(rows_done, table.bytes_done())
                    pending = next(batches, None)
            report.columns.extend(job.reports.values())
        writer.close()
        os.replace(tmp, dst)
    except BaseException:
        # The original error matters, not the cleanup's.
        with contextlib.suppress(Exception):
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    report.rows = rows_done
    report.output["bytes"] = os.path.getsize(dst)
    report.seconds = time.perf_counter() - started
    return report
