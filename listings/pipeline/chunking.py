"""Splitting text files at record boundaries, merging cleaned chunks, reading samples.

Streaming throughout: a chunk is written while it is read, a merge copies in blocks, a sample
reads only its first rows. Chunks are always written as UTF-8 (the validated encoding is decoded
here once), so the engine never has to guess an encoding from a chunk's first megabyte.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

SPLITTABLE = ("csv", "tsv", "jsonl")
SAMPLE_ROWS = 20


def _delimiter(fmt: str) -> str:
    return "\t" if fmt == "tsv" else ","


def _lines(f: TextIO) -> Iterator[str]:
    # readline() keeps the file position exact after each record the csv reader pulls, which
    # the merge relies on; the validator has already bounded line length.
    while line := f.readline():
        yield line


def split_text(path: Path, fmt: str, encoding: str, target_bytes: int, out_dir: Path) -> list[Path]:
    """Split into UTF-8 files of about `target_bytes`, each a valid file of `fmt` (CSV/TSV
    chunks repeat the header). Returns the chunk paths in order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks: list[Path] = []
    with open(path, encoding=encoding, newline="") as source:
        if fmt == "jsonl":
            header_line = None
            records: Iterator[Any] = _lines(source)
        else:
            csv.field_size_limit(64 * 1024 * 1024)
            records = csv.reader(_lines(source), delimiter=_delimiter(fmt), strict=True)
            header_line = next(records)
        target: Any = None
        writer: Any = None
        written = 0
        for record in records:
            if target is None or written >= target_bytes:
                if target is not None:
                    target.close()
                chunk = out_dir / f"chunk-{len(chunks):05d}.{fmt}"
                chunks.append(chunk)
                target = open(chunk, "w", encoding="utf-8", newline="")  # noqa: SIM115
                written = 0
                if header_line is not None:
                    writer = csv.writer(target, delimiter=_delimiter(fmt), lineterminator="\n")
                    writer.writerow(header_line)
            if header_line is None:
                target.write(record if record.endswith("\n") else record + "\n")
                written += len(record)
            else:
                if not record:
                    continue
                writer.writerow(record)
                written += sum(len(cell) for cell in record) + len(record)
        if target is not None:
            target.close()
    if not chunks:
        # A file with a header and no rows still publishes (an empty table is a valid product).
        chunk = out_dir / f"chunk-00000.{fmt}"
        with open(chunk, "w", encoding="utf-8", newline="") as target:
            if header_line is not None:
                csv.writer(target, delimiter=_delimiter(fmt), lineterminator="\n").writerow(
                    header_line
                )
        chunks.append(chunk)
    return chunks


def merge_outputs(paths: list[Path], fmt: str, target: io.BufferedWriter | Any) -> None:
    """Concatenate cleaned chunk outputs in order into `target` (binary). CSV/TSV chunks after
    the first lose their header record."""
    for index, path in enumerate(paths):
        if fmt in ("csv", "tsv") and index > 0:
            with open(path, encoding="utf-8-sig", newline="") as f:
                reader = csv.reader(_lines(f), delimiter=_delimiter(fmt))
                next(reader, None)
                while text := f.read(1024 * 1024):
                    target.write(text.encode("utf-8"))
        else:
            with open(path, "rb") as raw:
                while block := raw.read(1024 * 1024):
                    target.write(block)


def read_sample(
    path: Path, fmt: str, n: int = SAMPLE_ROWS
) -> tuple[list[str], list[dict[str, Any]]]:
    """The first `n` rows of a cleaned file as dicts of display strings."""
    if fmt in ("csv", "tsv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(_lines(f), delimiter=_delimiter(fmt))
            header = next(reader, [])
            rows: list[dict[str, Any]] = []
            for record in reader:
                if len(rows) >= n:
                    break
                rows.append(dict(zip(header, record, strict=False)))
            return header, rows
    if fmt == "jsonl":
        rows = []
        columns: dict[str, None] = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                if len(rows) >= n:
                    break
                if line.strip():
                    record = json.loads(line)
                    columns.update(dict.fromkeys(record))
                    rows.append({k: _display(v) for k, v in record.items()})
        return list(columns), rows
    if fmt == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        names = list(parquet.schema_arrow.names)
        for batch in parquet.iter_batches(batch_size=n):
            return names, [{k: _display(v) for k, v in row.items()} for row in batch.to_pylist()]
        return names, []
    if fmt == "xlsx":
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows_iter = workbook.worksheets[0].iter_rows(values_only=True)
            header = ["" if h is None else str(h) for h in next(rows_iter, ())]
            rows = []
            for values in rows_iter:
                if len(rows) >= n:
                    break
                rows.append({h: _display(v) for h, v in zip(header, values, strict=False)})
            return header, rows
        finally:
            workbook.close()
    raise ValueError(f"no sample reader for {fmt}")


def _display(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _field_type(values: list[Any]) -> str:
    present = [v for v in values if v not in (None, "")]
    if not present:
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "integer"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    texts = [str(v) for v in present]
    if all(_INTEGER.match(t) and not (len(t) > 1 and t.startswith("0")) for t in texts):
        return "integer"
    if all(_NUMBER.match(t) for t in texts):
        return "number"
    if all(_DATE.match(t) and _is_date(t) for t in texts):
        return "date"
    return "string"


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def table_schema(
    columns: list[str], sample: list[dict[str, Any]], column_reports: list[dict[str, Any]]
) -> dict[str, Any]:
    """A Frictionless Table Schema for the cleaned file: field names and types inferred from the
    sample, each field annotated with what the cleaning did to it."""
    by_name = {c.get("name"): c for c in column_reports}
    fields = []
    for name in columns:
        report = by_name.get(name, {})
        field: dict[str, Any] = {"name": name, "type": _field_type([r.get(name) for r in sample])}
        if report:
            field["description"] = (
                f"{report.get('classification', 'other')}"
                + (f" ({report['type']})" if report.get("type") else "")
                + f"; transform: {report.get('transform', 'keep')}"
            )
        fields.append(field)
    return {"fields": fields, "missingValues": [""]}
