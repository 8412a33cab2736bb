"""Reading and writing the upload formats in bounded-memory batches.

Every reader yields :class:`Batch` objects: the cells of each column as a pyarrow *string* array
(what
the detectors look at) plus whatever the writer of the same format needs to write untouched cells
back
exactly as they were (native pyarrow arrays for Parquet, the original Python rows for JSON Lines and
XLSX).  Every CSV/TSV/XLSX writer neutralises formula injection.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import CleaningError
from .transforms import neutralize_formula, neutralize_formula_array

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet", ".xlsx": "xlsx"}
# Bytes per CSV batch: big enough to amortise per-batch work, small in RAM.  pyarrow's reader keeps
# several blocks in flight and each process's memory grows with the block.  On the 100 MB bench
# corpus one process takes ~250 MB with 2 MB blocks (~190 MB with 1 MB, ~310 MB with 4 MB), and
# 2 MB is ~10% faster than 1 MB.  A pool of two workers with 2 MB blocks reached 507-519 MB
# summed, so pooled runs read 1 MB blocks (~410-450 MB).
CSV_BLOCK_SIZE = 2 << 20
POOLED_CSV_BLOCK_SIZE = 1 << 20
ROW_BATCH = 5000  # rows per batch for row-oriented formats (JSON Lines, XLSX)
PARQUET_BATCH = 32768


def format_of(path: str | os.PathLike[str]) -> str:
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise CleaningError(
            f"unsupported file extension '{ext}' (expected .csv .tsv .jsonl .parquet .xlsx)"
        )
    return FORMATS[ext]


def detect_encoding(path: str | os.PathLike[str], probe: int = 1 << 20) -> tuple[str, bool]:
    """(encoding, has_utf8_bom): UTF-8 (with or without BOM) or GB18030 (a superset of GBK)."""
    with open(path, "rb") as f:
        head = f.read(probe)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", True
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CleaningError("UTF-16 text is not supported; save the file as UTF-8")
    if b"\x00" in head:
        raise CleaningError("the file contains NUL bytes: it is binary, not delimited text")
    final = len(head) < probe
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(head, final=final)
            return enc, False
        except UnicodeDecodeError:
            continue
    raise CleaningError("unknown text encoding (expected UTF-8, GBK or GB18030)")


@dataclass
class Batch:
    columns: list[str]
    strings: list[pa.Array | None]  # None: the column cannot hold text (e.g. nested binary)
    native: Any = None
    num_rows: int = 0


@dataclass
class ReadInfo:
    format: str
    encoding: str | None = None
    bom: bool = False
    bytes_total: int = 0
    tables: list[str] = field(default_factory=list)


class Table(Protocol):
    name: str

    def batches(self, columns: list[str] | None = None) -> Generator[Batch, None, None]: ...

    def bytes_done(self) -> int: ...


def _safe_arrow_error(exc: Exception, what: str) -> CleaningError:
    # pyarrow messages quote the offending row; they must not reach logs (personal data).
    return CleaningError(f"{what}: the file is malformed ({type(exc).__name__})")


# --- CSV / TSV


class CsvTable:
    def __init__(
        self, path: str, delimiter: str, encoding: str, block_size: int | None = None
    ) -> None:
        self.name = Path(path).stem
        self.path = path
        self.delimiter = delimiter
        self.encoding = encoding
        self.block_size = block_size or CSV_BLOCK_SIZE
        self._fh: BinaryIO | None = None
        self.columns = self._header()

    def _read_options(self, **kw: Any) -> pacsv.ReadOptions:
        return pacsv.ReadOptions(encoding=self.encoding, block_size=self.block_size, **kw)

    def _parse_options(self) -> pacsv.ParseOptions:
        return pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)

    def _header(self) -> list[str]:
        try:
            with pacsv.open_csv(
                self.path, read_options=self._read_options(), parse_options=self._parse_options()
            ) as r:
                names = list(r.schema.names)
        except (pa.ArrowInvalid, pa.ArrowException) as exc:
            raise _safe_arrow_error(exc, "CSV header") from None
        if len(set(names)) != len(names):
            raise CleaningError("duplicate column names in the header")
        return names

    def batches(self, columns: list[str] | None = None) -> Generator[Batch, None, None]:
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in self.columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            include_columns=columns,
        )
        self._fh = open(self.path, "rb")  # noqa: SIM115 - closed below; tell() drives progress
        try:
            reader = pacsv.open_csv(
                self._fh,
                read_options=self._read_options(),
                parse_options=self._parse_options(),
                convert_options=convert,
            )
            while True:
                try:
                    rb = reader.read_next_batch()
                except StopIteration:
                    break
                yield batch_of(rb)
        except (pa.ArrowInvalid, pa.ArrowException) as exc:
            raise _safe_arrow_error(exc, "CSV") from None
        finally:
            self._fh.close()

    def bytes_done(self) -> int:
        try:
            return self._fh.tell() if self._fh and not self._fh.closed else 0
        except (OSError, ValueError):
            return 0


class CsvWriter:
    def __init__(self, path: str, delimiter: str, bom: bool) -> None:
        self.path = path
        self.delimiter = delimiter
        self.bom = bom
        self._writer: pacsv.CSVWriter | None = None
        self._fh: BinaryIO | None = None

    def start_table(self, name: str, columns: list[str]) -> None:
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        if self.bom:
            self._fh.write(codecs.BOM_UTF8)
        self._columns = columns
        self._schema = pa.schema([(neutralize_formula(c), pa.string()) for c in columns])
        self._writer = pacsv.CSVWriter(
            self._fh, self._schema, write_options=pacsv.WriteOptions(delimiter=self.delimiter)
        )

    def write(self, batch: Batch, out: dict[str, pa.Array]) -> None:
        assert self._writer is not None
        arrays = [neutralize_formula_array(out[c].cast(pa.string())) for c in self._columns]
        self._writer.write_batch(pa.record_batch(arrays, schema=self._schema))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._fh is not None:
            self._fh.close()


# --- Parquet


def _as_strings(arr: pa.Array) -> pa.Array | None:
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    if pa.types.is_dictionary(arr.type):
        return _as_strings(arr.dictionary_decode())
    if (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_decimal(arr.type)
        or pa.types.is_temporal(arr.type)
    ):
        try:
            if pa.types.is_floating(arr.type):
                # 13812345678.0 -> "13812345678": whole floats print as integers.
                whole = pc.equal(arr, pc.floor(arr))
                as_int = pc.cast(pc.cast(arr, pa.int64(), safe=False), pa.string())
                return pc.if_else(whole, as_int, pc.cast(arr, pa.string()))
            return pc.cast(arr, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return None


def batch_of(rb: pa.RecordBatch) -> Batch:
    """The batch of a CSV/TSV/Parquet record batch: everything follows from the record batch
    itself, so a worker process is sent only that."""
    return Batch(list(rb.schema.names), [_as_strings(c) for c in rb.columns], rb, rb.num_rows)


class ParquetTable:
    def __init__(self, path: str) -> None:
        self.name = Path(path).stem
        self.path = path
        try:
            self._pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
            raise _safe_arrow_error(exc, "Parquet") from None
        self.columns = list(self._pf.schema_arrow.names)
        self._done = 0
        self._size = os.path.getsize(path)

    def batches(self, columns: list[str] | None = None) -> Generator[Batch, None, None]:
        total = max(self._pf.metadata.num_rows, 1)
        rows = 0
        try:
            for rb in self._pf.iter_batches(batch_size=PARQUET_BATCH, columns=columns):
                rows += rb.num_rows
                self._done = int(self._size * rows / total)
                yield batch_of(rb)
        except (pa.ArrowInvalid, pa.ArrowException) as exc:
            raise _safe_arrow_error(exc, "Parquet") from None

    def bytes_done(self) -> int:
        return self._done


class ParquetWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: pq.ParquetWriter | None = None

    def start_table(self, name: str, columns: list[str]) -> None:
        self._columns = columns

    def write(self, batch: Batch, out: dict[str, pa.Array]) -> None:
        arrays = [out[c] for c in self._columns]
        if self._writer is None:
            fields = [
                pa.field(c, a.type if not pa.types.is_null(a.type) else pa.string())
                for c, a in zip(self._columns, arrays, strict=True)
            ]
            self._writer = pq.ParquetWriter(self.path, pa.schema(fields))
        schema = self._writer.schema
        arrays = [
            a if a.type == f.type else a.cast(f.type) for a, f in zip(arrays, schema, strict=True)
        ]
        self._writer.write_batch(pa.record_batch(arrays, schema=schema))

    def close(self) -> None:
        if self._writer is None:  # no rows at all: still write a valid, empty file
            schema = pa.schema([(c, pa.string()) for c in getattr(self, "_columns", [])])
            self._writer = pq.ParquetWriter(self.path, schema)
        self._writer.close()


# --- JSON Lines


def _cell_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return json.dumps(value, ensure_ascii=False)


class JsonlTable:
    def __init__(self, path: str, encoding: str) -> None:
        self.name = Path(path).stem
        self.path = path
        self.encoding = encoding
        self._fh: Any = None
        self.columns: list[str] = []

    def _row_lists(self) -> Iterator[list[dict[str, Any]]]:
        self._fh = open(self.path, "rb")  # noqa: SIM115 - closed below
        decoder = codecs.getincrementaldecoder(self.encoding)()
        try:
            rows: list[dict[str, Any]] = []
            for lineno, raw in enumerate(self._fh, start=1):
                try:
                    line = decoder.decode(raw)
                except UnicodeDecodeError:
                    raise CleaningError(f"line {lineno} is not valid {self.encoding}") from None
                if lineno == 1:
                    line = line.removeprefix("\ufeff")
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise CleaningError(f"line {lineno} is not valid JSON") from None
                if not isinstance(obj, dict):
                    raise CleaningError(f"line {lineno} is not a JSON object")
                rows.append(obj)
                if len(rows) >= ROW_BATCH:
                    yield rows
                    rows = []
            if rows:
                yield rows
        finally:
            self._fh.close()

    def survey(self, sample_rows: int) -> dict[str, list[str | None]]:
        """A first pass over the whole file: every key (in order of first appearance) with the
        first ``sample_rows`` values it takes.

        Keys that appear only late in the file are thereby profiled, written and (if they are
        quasi-identifiers) part of k-anonymity like the others; afterwards every batch carries
        every key.
        """
        samples: dict[str, list[str | None]] = {}
        for rows in self._row_lists():
            for row in rows:
                for key, value in row.items():
                    values = samples.get(key)
                    if values is None:
                        values = samples[key] = []
                    if len(values) < sample_rows:
                        values.append(_cell_text(value))
        self.columns = list(samples)
        return samples

    def batches(self, columns: list[str] | None = None) -> Generator[Batch, None, None]:
        for rows in self._row_lists():
            yield self._batch(rows, columns)

    def _batch(self, rows: list[dict[str, Any]], columns: list[str] | None) -> Batch:
        seen = dict.fromkeys(self.columns)
        for r in rows:
            for k in r:
                if k not in seen:
                    seen[k] = None
        self.columns = list(seen)
        cols = columns or self.columns
        strings = [pa.array([_cell_text(r.get(c)) for r in rows], type=pa.string()) for c in cols]
        return Batch(list(cols), list(strings), rows, len(rows))

    def bytes_done(self) -> int:
        try:
            return self._fh.tell() if self._fh and not self._fh.closed else 0
        except (OSError, ValueError):
            return 0


def _replace_cell(original: Any, new: str | None, old_text: str | None) -> Any:
    if new == old_text:
        return original
    if isinstance(original, dict | list) and new is not None:
        try:
            return json.loads(new)  # redaction tags keep the JSON valid
        except ValueError:
            return new
    return new


class JsonlWriter:
    def __init__(self, path: str) -> None:
        self._fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def start_table(self, name: str, columns: list[str]) -> None:
        self._columns = set(columns)

    def write(self, batch: Batch, out: dict[str, pa.Array]) -> None:
        rows: list[dict[str, Any]] = batch.native
        changed: dict[str, tuple[list[Any], list[Any]]] = {}
        for i, c in enumerate(batch.columns):
            if c in out and batch.strings[i] is not None and out[c] is not batch.strings[i]:
                changed[c] = (out[c].to_pylist(), batch.strings[i].to_pylist())  # type: ignore[union-attr]
        # Keys without an output array are the dropped ones (every key of a row is a column).
        dropped = {c for c in batch.columns if c not in out}
        lines = []
        for j, row in enumerate(rows):
            new = {}
            for k, value in row.items():
                if k in dropped:
                    continue
                if k in changed:
                    value = _replace_cell(value, changed[k][0][j], changed[k][1][j])
                new[k] = value
            lines.append(json.dumps(new, ensure_ascii=False))
        self._fh.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._fh.close()


# --- XLSX


def _xlsx_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text.removesuffix("T00:00:00")
    return str(value)


class XlsxSheet:
    def __init__(self, book_path: str, sheet: str, size: int) -> None:
        self.name = sheet
        self.path = book_path
        self._size = size
        self._done = 0
        self.columns = self._header()

    def _open(self) -> Any:
        import openpyxl

        try:
            return openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types on corrupt input
            raise CleaningError(f"XLSX unreadable ({type(exc).__name__})") from None

    def _header(self) -> list[str]:
        wb = self._open()
        try:
            first = next(wb[self.name].iter_rows(max_row=1, values_only=True), ())
        finally:
            wb.close()
        names = [
            str(h) if h is not None and str(h).strip() else f"col{i + 1}"
            for i, h in enumerate(first)
        ]
        if len(set(names)) != len(names):
            raise CleaningError(f"duplicate column names in sheet '{self.name}'")
        return names

    def batches(self, columns: list[str] | None = None) -> Generator[Batch, None, None]:
        wb = self._open()
        try:
            n = len(self.columns)
            rows: list[list[Any]] = []
            it = wb[self.name].iter_rows(min_row=2, values_only=True)
            for count, row in enumerate(it, start=1):
                vals = list(row[:n]) + [None] * (n - len(row))
                rows.append(vals)
                if len(rows) >= ROW_BATCH:
                    self._done = count
                    yield self._batch(rows, columns)
                    rows = []
            if rows:
                yield self._batch(rows, columns)
        finally:
            wb.close()

    def _batch(self, rows: list[list[Any]], columns: list[str] | None) -> Batch:
        cols = columns or self.columns
        idx = [self.columns.index(c) for c in cols]
        strings = [pa.array([_xlsx_text(r[i]) for r in rows], type=pa.string()) for i in idx]
        return Batch(list(cols), list(strings), rows, len(rows))

    def bytes_done(self) -> int:
        return 0  # openpyxl streams the zip; progress is reported in rows


class XlsxWriter:
    def __init__(self, path: str) -> None:
        import openpyxl

        self.path = path
        self._wb = openpyxl.Workbook(write_only=True)

    def start_table(self, name: str, columns: list[str]) -> None:
        self._ws = self._wb.create_sheet(title=name[:31])
        self._columns = columns
        self._ws.append([_xlsx_safe(c) for c in columns])

    def write(self, batch: Batch, out: dict[str, pa.Array]) -> None:
        rows: list[list[Any]] = batch.native
        pos = {c: i for i, c in enumerate(batch.columns)}
        cols = []
        for c in self._columns:
            i = pos[c]
            s = batch.strings[i]
            if s is not None and out[c] is not s:
                new, old = out[c].to_pylist(), s.to_pylist()
                cols.append([r[i] if a == b else a for r, a, b in zip(rows, new, old, strict=True)])
            else:
                cols.append([r[i] for r in rows])
        for values in zip(*cols, strict=True):
            self._ws.append([_xlsx_safe(x) for x in values])

    def close(self) -> None:
        self._wb.save(self.path)


def _xlsx_safe(value: Any) -> Any:
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        # openpyxl would store "=..." as a formula: neutralise, and drop control characters XML
        # cannot carry.
        return neutralize_formula(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


# --- factory


def open_tables(
    path: str, fmt: str, *, csv_block_size: int | None = None
) -> tuple[list[Table], ReadInfo]:
    size = os.path.getsize(path)
    info = ReadInfo(format=fmt, bytes_total=size)
    if fmt in ("csv", "tsv"):
        enc, bom = detect_encoding(path)
        info.encoding, info.bom = enc, bom
        delimiter = "," if fmt == "csv" else "\t"
        tables: list[Table] = [CsvTable(path, delimiter, enc, csv_block_size)]
    elif fmt == "jsonl":
        enc, bom = detect_encoding(path)
        info.encoding, info.bom = enc, bom
        tables = [JsonlTable(path, enc)]
    elif fmt == "parquet":
        tables = [ParquetTable(path)]
    else:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            names = list(wb.sheetnames)
            wb.close()
        except Exception as exc:
            raise CleaningError(f"XLSX unreadable ({type(exc).__name__})") from None
        tables = [XlsxSheet(path, n, size) for n in names]
    info.tables = [t.name for t in tables]
    return tables, info


class Writer(Protocol):
    def start_table(self, name: str, columns: list[str]) -> None: ...

    def write(self, batch: Batch, out: dict[str, pa.Array]) -> None: ...

    def close(self) -> None: ...


def open_writer(path: str, fmt: str, bom: bool = False) -> Writer:
    if fmt in ("csv", "tsv"):
        return CsvWriter(path, "," if fmt == "csv" else "\t", bom)
    if fmt == "jsonl":
        return JsonlWriter(path)
    if fmt == "parquet":
        return ParquetWriter(path)
    return XlsxWriter(path)
