"""Chunks of text files as byte ranges, chunk files for the engine, samples and schemas.

Validation notes record boundaries as byte offsets; each chunk task reads its own range of the
stored upload and writes it, after the header record, as a UTF-8 file for the engine. Cleaned
chunk outputs after the first drop their header, so publishing joins them as they are. Streaming
throughout: a chunk is copied in blocks, a sample reads only its first rows.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TextIO

SPLITTABLE = ("csv", "tsv", "jsonl")
SAMPLE_ROWS = 20
COPY_BLOCK = 1024 * 1024


def _delimiter(fmt: str) -> str:
    return "\t" if fmt == "tsv" else ","


def _lines(f: TextIO) -> Iterator[str]:
    # readline() keeps the file position exact after each record the csv reader pulls; the
    # validator has already bounded line length.
    while line := f.readline():
        yield line


def byte_ranges(header_end: int, splits: list[int]) -> list[tuple[int, int]]:
    """The (start, end) byte ranges of the chunks of a validated text file: consecutive, the
    first starting after the header record, each ending at a record boundary."""
    starts = [header_end, *splits[:-1]]
    return list(zip(starts, splits, strict=True))


def write_chunk(header: bytes, body: BinaryIO, encoding: str | None, target: Path) -> None:
    """Write one chunk as a file of its own: the header record, then the body's records.

    Text in GB18030 is decoded here, in the chunk's task, so the engine always reads UTF-8 and
    never guesses an encoding from a chunk's first megabyte. UTF-8 (a BOM is outside the ranges)
    and binary formats are copied as they are."""
    with open(target, "wb") as out:
        if encoding is None or encoding in ("utf-8", "utf-8-sig"):
            out.write(header)
            shutil.copyfileobj(body, out, COPY_BLOCK)
            return
        decoder = codecs.getincrementaldecoder(encoding)()
        out.write(decoder.decode(header, final=True).encode("utf-8"))
        decoder.reset()
        while block := body.read(COPY_BLOCK):
            out.write(decoder.decode(block).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))


def header_length(path: Path, fmt: str) -> int:
    """Bytes taken by the BOM (if any) and the header record of a cleaned CSV/TSV file, which
    every chunk output but the first leaves out so the outputs can be joined as they are."""
    consumed = 0
    with open(path, "rb") as f:
        if f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
            consumed = len(codecs.BOM_UTF8)
        else:
            f.seek(0)

        def lines() -> Iterator[str]:
            nonlocal consumed
            for raw in f:
                consumed += len(raw)
                yield raw.decode("utf-8")

        next(csv.reader(lines(), delimiter=_delimiter(fmt)), None)
    return consumed


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
