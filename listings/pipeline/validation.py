"""Validation of an uploaded file before anything reads it for meaning.

Pure Python, streaming, bounded memory. Checks, in order: the extension is one we trade; the
first bytes match it (a binary renamed .csv is refused); archives (.zip, .gz) stay within limits on
ratio, total size and entry count and are never nested; text is UTF-8 (with or without BOM) or
GBK/GB18030; no NUL bytes; CSV/TSV structure (unclosed quotes, ragged rows, duplicate headers),
JSON Lines objects, Parquet footers and XLSX workbooks parse; limits on field size, columns and
rows; a deadline.

Every refusal is a `Rejection` with a plain reason the seller reads, naming the row and column
where there is one. Reasons never quote cell contents: they may be personal data.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrPromise

TEXT_FORMATS = ("csv", "tsv", "jsonl")
FORMATS = (*TEXT_FORMATS, "parquet", "xlsx")
ARCHIVES = ("zip", "gz")

# Signatures of things that must never pass as tabular text (executables, documents, media).
BINARY_MAGIC: dict[bytes, StrPromise] = {
    b"\x7fELF": gettext_lazy("an ELF executable"),
    b"MZ": gettext_lazy("a Windows executable"),
    b"%PDF": gettext_lazy("a PDF document"),
    b"PK\x03\x04": gettext_lazy("a ZIP archive"),
    b"\x1f\x8b": gettext_lazy("a gzip archive"),
    b"PAR1": gettext_lazy("a Parquet file"),
    b"\x89PNG": gettext_lazy("a PNG image"),
    b"\xff\xd8\xff": gettext_lazy("a JPEG image"),
    b"GIF8": gettext_lazy("a GIF image"),
    b"Rar!": gettext_lazy("a RAR archive"),
    b"7z\xbc\xaf": gettext_lazy("a 7-Zip archive"),
    b"\xd0\xcf\x11\xe0": gettext_lazy("a legacy Office document"),
    b"\xca\xfe\xba\xbe": gettext_lazy("a Java class or Mach-O binary"),
    b"#!": gettext_lazy("a script"),
}
UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 5 * 1024**3
    max_field_bytes: int = 1024 * 1024
    max_columns: int = 2000
    max_rows: int = 100_000_000
    max_archive_ratio: int = 100
    max_archive_entries: int = 10
    max_seconds: float = 1800.0


@dataclass
class Rejection(Exception):
    """The file is refused. `reason` is shown to the seller as is."""

    reason: str
    code: str = "invalid"
    row: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        # Made in the language active where the refusal is recorded (the uploader's: see tasks).
        where = []
        if self.row is not None:
            where.append(_("row %(row)d") % {"row": self.row})
        if self.column is not None:
            where.append(_("column %(column)d") % {"column": self.column})
        return f"{self.reason} ({', '.join(where)})" if where else self.reason


@dataclass
class ValidatedFile:
    """What validation learnt. `path` is the data file to read next (extracted from an archive
    into a temporary file when the upload was one; `cleanup()` removes it)."""

    path: Path
    format: str
    encoding: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: int = 0
    size: int = 0
    archive: str | None = None
    notes: list[str] = field(default_factory=list)
    # Byte layout of a text file, found while parsing it, so it can be cut into chunks without a
    # second pass: data starts at `data_start` (after a BOM), the header record ends at
    # `header_end` (CSV/TSV; equal to data_start for JSONL), and `splits` are record boundaries
    # about `split_every` bytes apart, ending with the file size. Empty when not worked out.
    data_start: int = 0
    header_end: int = 0
    splits: list[int] = field(default_factory=list)
    _temporary: bool = False

    def cleanup(self) -> None:
        if self._temporary:
            self.path.unlink(missing_ok=True)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise Rejection(
                _("validation took longer than the %(seconds)d s allowed for one file")
                % {"seconds": round(self.seconds)},
                code="timeout",
            )


def split_extension(filename: str) -> tuple[str, str | None]:
    """(data format, archive) from a file name: 'a.csv' → ('csv', None); 'a.csv.gz' → ('csv',
    'gz'); 'a.zip' → ('', 'zip') (the format comes from the entry inside)."""
    name = os.path.basename(filename.replace("\\", "/")).lower()
    parts = name.split(".")
    if len(parts) < 2:
        raise Rejection(
            _("the file name has no extension; use .csv, .tsv, .jsonl, .parquet or .xlsx")
        )
    ext = parts[-1]
    if ext == "zip":
        return "", "zip"
    if ext == "gz":
        inner = parts[-2] if len(parts) >= 3 else ""
        if inner not in FORMATS:
            raise Rejection(_("a .gz upload must be named like data.csv.gz (csv, tsv, jsonl)"))
        return inner, "gz"
    if ext == "txt":
        return "csv", None
    if ext not in FORMATS:
        raise Rejection(
            _(
                "files of type .%(ext)s are not accepted; use .csv, .tsv, .jsonl, .parquet or "
                ".xlsx (optionally in .zip or .gz)"
            )
            % {"ext": ext[:10]},
            code="unsupported_type",
        )
    return ext, None


def _binary_kind(head: bytes) -> str | None:
    for magic, kind in BINARY_MAGIC.items():
        if head.startswith(magic):
            return str(kind)  # in the active language
    return None


def _copy_limited(
    source: IO[bytes] | gzip.GzipFile, target: IO[bytes], *, limit: int, what: str
) -> int:
    total = 0
    while chunk := source.read(1024 * 1024):
        total += len(chunk)
        if total > limit:
            raise Rejection(
                _("%(what)s expands beyond %(mb)d MB") % {"what": what, "mb": limit // 1024**2},
                code="too_large",
            )
        target.write(chunk)
    return total


def _unpack_gzip(path: Path, limits: Limits, workdir: Path) -> Path:
    compressed = path.stat().st_size
    limit = min(limits.max_bytes, max(compressed, 1) * limits.max_archive_ratio)
    out = workdir / "unpacked"
    try:
        with gzip.open(path, "rb") as source, open(out, "wb") as target:
            _copy_limited(source, target, limit=limit, what=_("the gzip file"))
    except (OSError, EOFError, gzip.BadGzipFile):
        out.unlink(missing_ok=True)
        raise Rejection(
            _("the gzip file is damaged or not gzip at all"), code="bad_archive"
        ) from None
    with open(out, "rb") as unpacked:
        if unpacked.read(2) == b"\x1f\x8b":
            out.unlink(missing_ok=True)
            raise Rejection(_("archives inside archives are not accepted"), code="nested_archive")
    return out


def _unpack_zip(path: Path, limits: Limits, workdir: Path) -> tuple[Path, str]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise Rejection(
            _("the zip file is damaged or not a zip at all"), code="bad_archive"
        ) from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > limits.max_archive_entries:
            raise Rejection(
                _("the zip holds %(files)d files; at most %(limit)d")
                % {"files": len(entries), "limit": limits.max_archive_entries},
                code="bad_archive",
            )
        data = []
        for info in entries:
            inner = info.filename.lower()
            if inner.endswith((".zip", ".gz", ".rar", ".7z", ".tar", ".bz2", ".xz")):
                raise Rejection(
                    _("archives inside archives are not accepted"), code="nested_archive"
                )
            if inner.rsplit(".", 1)[-1] in FORMATS:
                data.append(info)
        if len(data) != 1:
            raise Rejection(
                _(
                    "a zip upload must hold exactly one data file "
                    "(.csv, .tsv, .jsonl, .parquet, .xlsx)"
                ),
                code="bad_archive",
            )
        info = data[0]
        compressed = max(info.compress_size, 1)
        # The declared size can lie (zip bombs do): check it, then count while extracting too.
        limit = min(limits.max_bytes, compressed * limits.max_archive_ratio)
        if info.file_size > limit:
            raise Rejection(
                _("the zip entry expands %(ratio)dx; the limit is %(limit)dx and %(mb)d MB")
                % {
                    "ratio": info.file_size // compressed,
                    "limit": limits.max_archive_ratio,
                    "mb": limits.max_bytes // 1024**2,
                },
                code="zip_bomb",
            )
        out = workdir / "unpacked"
        try:
            with archive.open(info) as source, open(out, "wb") as target:
                _copy_limited(source, target, limit=limit, what=_("the zip entry"))
        except Rejection:
            out.unlink(missing_ok=True)
            raise Rejection(
                _("the zip entry expands beyond the allowed ratio"), code="zip_bomb"
            ) from None
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
            out.unlink(missing_ok=True)
            raise Rejection(_("the zip entry cannot be read"), code="bad_archive") from None
        return out, info.filename.rsplit(".", 1)[-1].lower()


def _detect_encoding(path: Path, deadline: Deadline) -> tuple[str, int]:
    """'utf-8-sig' or 'utf-8' or 'gb18030', and the byte offset data starts at (after a BOM).

    Decodes the whole file incrementally: a file that is UTF-8 for 100 MB and then not is GBK (or
    broken), and only reading to the end tells."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(UTF16_BOMS):
        raise Rejection(_("UTF-16 text is not accepted; save the file as UTF-8"), code="encoding")
    start = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    failure_offset = 0
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = start
        try:
            with open(path, "rb") as f:
                f.seek(start)
                while chunk := f.read(1024 * 1024):
                    deadline.check()
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8":
                failure_offset = offset + exc.start
            continue
        if encoding == "utf-8" and start:
            return "utf-8-sig", start
        return encoding, start
    raise Rejection(
        _("the text is neither UTF-8 nor GBK/GB18030 (first invalid byte at offset %(offset)d)")
        % {"offset": failure_offset},
        code="encoding",
    )


def _check_no_nul(path: Path, deadline: Deadline) -> None:
    line = 1
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            deadline.check()
            at = chunk.find(b"\x00")
            if at >= 0:
                line += chunk.count(b"\n", 0, at)
                raise Rejection(
                    _("the file contains NUL bytes: binary data or a UTF-16 file saved as text"),
                    code="nul_byte",
                    row=line,
                )
            line += chunk.count(b"\n")


def _validate_delimited(
    path: Path,
    encoding: str,
    delimiter: str,
    limits: Limits,
    deadline: Deadline,
    boundaries: _RecordBoundaries | None = None,
) -> tuple[list[str], int, int]:
    """Column names, row count and the byte offset where the header record ends."""
    csv.field_size_limit(limits.max_field_bytes)
    header_end = 0
    with open(path, encoding=encoding, newline="") as f:
        # The csv module reads a whole physical line before splitting it: cap the line so a
        # 10 MB field cannot make us hold 10 MB.
        lines: Iterator[str] = _bounded_lines(f, 2 * limits.max_field_bytes)
        if boundaries is not None:
            lines = boundaries.count(lines)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        row_number = 0
        try:
            header = next(reader, None)
            row_number = 1
            if boundaries is not None:
                header_end = boundaries.header_done()
            if not header:
                raise Rejection(_("the file is empty: it needs a header row"), code="empty")
            if len(header) > limits.max_columns:
                raise Rejection(
                    _("%(columns)d columns; at most %(limit)d are accepted")
                    % {"columns": len(header), "limit": limits.max_columns},
                    code="too_many_columns",
                    row=1,
                )
            names = [h.strip() for h in header]
            seen: dict[str, int] = {}
            for index, name in enumerate(names, start=1):
                if not name:
                    raise Rejection(
                        _("a header cell is empty"), code="bad_header", row=1, column=index
                    )
                if name in seen:
                    raise Rejection(
                        _("header repeats a name already used in column %(column)d")
                        % {"column": seen[name]},
                        code="bad_header",
                        row=1,
                        column=index,
                    )
                seen[name] = index
            rows = 0
            for record in reader:
                row_number += 1
                if row_number % 10000 == 0:
                    deadline.check()
                if boundaries is not None:
                    boundaries.record_done()
                if not record:
                    continue  # blank line
                if len(record) != len(names):
                    raise Rejection(
                        _("has %(fields)d fields; the header has %(header)d")
                        % {"fields": len(record), "header": len(names)},
                        code="ragged_row",
                        row=row_number,
                    )
                rows += 1
                if rows > limits.max_rows:
                    raise Rejection(
                        _("more than %(limit)d rows") % {"limit": limits.max_rows},
                        code="too_many_rows",
                        row=row_number,
                    )
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                raise Rejection(
                    _("a field is larger than %(kb)d KB (or a quote is never closed)")
                    % {"kb": limits.max_field_bytes // 1024},
                    code="field_too_large",
                    row=row_number + 1,
                ) from None
            if "unexpected end of data" in message:
                raise Rejection(
                    _("a quoted field is never closed"), code="unclosed_quote", row=row_number + 1
                ) from None
            raise Rejection(
                _("the row is not valid CSV (stray quote or bad delimiter)"),
                code="bad_csv",
                row=row_number + 1,
            ) from None
    return names, rows, header_end


def _validate_jsonl(
    path: Path,
    encoding: str,
    limits: Limits,
    deadline: Deadline,
    boundaries: _RecordBoundaries | None = None,
) -> tuple[list[str], int]:
    columns: dict[str, None] = {}
    rows = 0
    with open(path, encoding=encoding, newline="") as f:
        lines: Iterator[str] = _bounded_lines(f, limits.max_field_bytes * 4)
        if boundaries is not None:
            lines = boundaries.count(lines)
        for line_number, line in enumerate(lines, start=1):
            if line_number % 10000 == 0:
                deadline.check()
            if boundaries is not None:
                boundaries.record_done()
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise Rejection(
                    _("not valid JSON (at character %(pos)d)") % {"pos": exc.pos},
                    code="bad_json",
                    row=line_number,
                ) from None
            if not isinstance(record, dict):
                raise Rejection(
                    _("each line must be a JSON object"), code="bad_json", row=line_number
                )
            for key in record:
                if key not in columns:
                    columns[key] = None
                    if len(columns) > limits.max_columns:
                        raise Rejection(
                            _("more than %(limit)d distinct keys") % {"limit": limits.max_columns},
                            code="too_many_columns",
                            row=line_number,
                        )
            rows += 1
            if rows > limits.max_rows:
                raise Rejection(
                    _("more than %(limit)d rows") % {"limit": limits.max_rows}, code="too_many_rows"
                )
    if rows == 0:
        raise Rejection(_("the file holds no JSON objects"), code="empty")
    return list(columns), rows


class _RecordBoundaries:
    """Counts the bytes of the lines a parser has consumed, so that after each record it knows
    the byte offset where the next one starts, and keeps one such offset every `every` bytes.

    The csv reader pulls lines only as far as the record it is returning, so the count is exact
    at every record boundary, quoted newlines included. Lengths are of the text re-encoded, which
    for valid UTF-8 and GB18030 is the bytes read; `finish` checks the total against the file size
    and drops the splits if it differs (the file is then cleaned as one chunk)."""

    def __init__(self, encoding: str, start: int, every: int) -> None:
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.offset = start
        self._every = every
        self._chunk_start = start
        self.splits: list[int] = []

    def count(self, lines: Iterator[str]) -> Iterator[str]:
        encoding = self._encoding
        for line in lines:
            self.offset += len(line.encode(encoding))
            yield line

    def header_done(self) -> int:
        """The header is no data: the first chunk's size counts from its end."""
        self._chunk_start = self.offset
        return self.offset

    def record_done(self) -> None:
        if self.offset - self._chunk_start >= self._every:
            self.splits.append(self.offset)
            self._chunk_start = self.offset

    def finish(self, size: int) -> list[int]:
        if self.offset != size:
            return []
        if not self.splits or self.splits[-1] != size:
            self.splits.append(size)
        return self.splits


def _bounded_lines(f: io.TextIOBase, max_chars: int) -> Iterator[str]:
    """Lines, refusing one longer than max_chars without ever holding more than that."""
    line_number = 0
    while True:
        line = f.readline(max_chars + 1)
        if not line:
            return
        line_number += 1
        if len(line) > max_chars and not line.endswith("\n"):
            raise Rejection(
                _("a line is longer than %(kb)d KB") % {"kb": max_chars // 1024},
                code="field_too_large",
                row=line_number,
            )
        yield line


def _validate_parquet(path: Path, limits: Limits) -> tuple[list[str], int]:
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(-4, os.SEEK_END)
        tail = f.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        raise Rejection(_("not a Parquet file (the PAR1 markers are missing)"), code="bad_magic")
    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:
        raise Rejection(_("the Parquet footer cannot be read"), code="bad_parquet") from None
    if meta.num_columns > limits.max_columns:
        raise Rejection(
            _("%(columns)d columns; at most %(limit)d are accepted")
            % {"columns": meta.num_columns, "limit": limits.max_columns},
            code="too_many_columns",
        )
    if meta.num_rows > limits.max_rows:
        raise Rejection(
            _("more than %(limit)d rows") % {"limit": limits.max_rows}, code="too_many_rows"
        )
    schema = meta.schema.to_arrow_schema()
    return list(schema.names), int(meta.num_rows)


def _validate_xlsx(path: Path, limits: Limits, deadline: Deadline) -> tuple[list[str], int]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise Rejection(
                    _("not an Excel workbook (xl/workbook.xml missing)"), code="bad_magic"
                )
            total = sum(i.file_size for i in archive.infolist())
            packed = max(sum(i.compress_size for i in archive.infolist()), 1)
            if total > limits.max_bytes or total // packed > limits.max_archive_ratio:
                raise Rejection(_("the workbook expands beyond the allowed ratio"), code="zip_bomb")
    except zipfile.BadZipFile:
        raise Rejection(
            _("not an Excel workbook (damaged zip container)"), code="bad_magic"
        ) from None
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise Rejection(_("the workbook cannot be read"), code="bad_xlsx") from None
    try:
        sheet = workbook.worksheets[0]
        rows_iter = sheet.iter_rows(values_only=True)
        header = next(rows_iter, None)
        if not header:
            raise Rejection(_("the first sheet is empty: it needs a header row"), code="empty")
        if len(header) > limits.max_columns:
            raise Rejection(
                _("%(columns)d columns; at most %(limit)d are accepted")
                % {"columns": len(header), "limit": limits.max_columns},
                code="too_many_columns",
            )
        columns = ["" if h is None else str(h).strip() for h in header]
        rows = 0
        for rows, _row in enumerate(rows_iter, start=1):
            if rows % 10000 == 0:
                deadline.check()
            if rows > limits.max_rows:
                raise Rejection(
                    _("more than %(limit)d rows") % {"limit": limits.max_rows},
                    code="too_many_rows",
                )
        return columns, rows
    finally:
        workbook.close()


def validate_file(
    path: Path, filename: str, limits: Limits | None = None, *, split_every: int | None = None
) -> ValidatedFile:
    """Validate the upload at `path`, named `filename` by the seller. Raises Rejection.

    With `split_every`, a text file's record boundaries about that many bytes apart are noted on
    the way (ValidatedFile.splits), so the pipeline can cut it into chunks by byte range."""
    limits = limits or Limits()
    deadline = Deadline(limits.max_seconds)
    size = path.stat().st_size
    if size == 0:
        raise Rejection(_("the file is empty"), code="empty")
    if size > limits.max_bytes:
        raise Rejection(
            _("the file is %(mb)d MB; at most %(limit)d MB")
            % {"mb": size // 1024**2, "limit": limits.max_bytes // 1024**2},
            code="too_large",
        )
    fmt, archive = split_extension(filename)
    with open(path, "rb") as f:
        head = f.read(8)

    data_path = path
    temporary = False
    workdir = Path(tempfile.mkdtemp(prefix="validate-"))
    try:
        if archive == "gz":
            if not head.startswith(b"\x1f\x8b"):
                raise Rejection(_("named .gz but is not gzip data"), code="bad_magic")
            data_path, temporary = _unpack_gzip(path, limits, workdir), True
        elif archive == "zip":
            if not head.startswith(b"PK\x03\x04"):
                raise Rejection(_("named .zip but is not a zip archive"), code="bad_magic")
            data_path, fmt = _unpack_zip(path, limits, workdir)
            temporary = True
        if temporary:
            with open(data_path, "rb") as f:
                head = f.read(8)
        result = _validate_data(data_path, fmt, head, limits, deadline, split_every)
        if temporary:
            # Move the extracted data out of the work dir so cleanup() owns exactly one file.
            kept = Path(tempfile.mkstemp(prefix="upload-", suffix=f".{fmt}")[1])
            shutil.move(str(data_path), kept)
            result.path = kept
            result._temporary = True
        result.size = size
        result.archive = archive
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _validate_data(
    path: Path,
    fmt: str,
    head: bytes,
    limits: Limits,
    deadline: Deadline,
    split_every: int | None = None,
) -> ValidatedFile:
    if fmt in TEXT_FORMATS:
        if head.startswith(UTF16_BOMS):
            raise Rejection(
                _("UTF-16 text is not accepted; save the file as UTF-8"), code="encoding"
            )
        kind = _binary_kind(head)
        if kind:
            raise Rejection(
                _("named .%(format)s but the content is %(kind)s") % {"format": fmt, "kind": kind},
                code="bad_magic",
            )
        _check_no_nul(path, deadline)
        encoding, data_start = _detect_encoding(path, deadline)
        boundaries = _RecordBoundaries(encoding, data_start, split_every) if split_every else None
        header_end = data_start
        if fmt == "jsonl":
            columns, rows = _validate_jsonl(path, encoding, limits, deadline, boundaries)
        else:
            delimiter = "\t" if fmt == "tsv" else ","
            columns, rows, header_end = _validate_delimited(
                path, encoding, delimiter, limits, deadline, boundaries
            )
        return ValidatedFile(
            path=path,
            format=fmt,
            encoding=encoding,
            columns=columns,
            rows=rows,
            data_start=data_start,
            header_end=header_end,
            splits=boundaries.finish(path.stat().st_size) if boundaries else [],
        )
    if fmt == "parquet":
        columns, rows = _validate_parquet(path, limits)
        return ValidatedFile(path=path, format=fmt, columns=columns, rows=rows)
    if fmt == "xlsx":
        if not head.startswith(b"PK\x03\x04"):
            raise Rejection(_("named .xlsx but is not an Excel workbook"), code="bad_magic")
        columns, rows = _validate_xlsx(path, limits, deadline)
        return ValidatedFile(path=path, format=fmt, columns=columns, rows=rows)
    raise Rejection(_("unsupported format %(format)s") % {"format": fmt}, code="unsupported_type")
