"""The pipeline: read in batches, profile, plan k-anonymity, transform, write, report."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Generator, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import io_formats, parallel
from .errors import CleaningError
from .policy import Policy, load_policy
from .report import Report
from .table_job import TableJob
from .transforms import Pseudonymizer

Progress = Callable[[int, int], None]


def anonymize_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    policy: Policy | dict[str, Any] | str | os.PathLike[str] | None = None,
    secret: bytes,
    progress: Progress | None = None,
    workers: int = 1,
) -> Report:
    """Anonymise one file into another of the same format and return the report.

    ``workers`` > 1 transforms CSV/TSV/Parquet batches in that many worker processes (see
    :mod:`parallel`); the output and the report are the same as with the default single process.
    Raises :class:`CleaningError` (message free of personal data) on bad input, policy or secret.
    The output file is written to a temporary name and renamed only on success, so a failed run
    never leaves a partial output behind.
    """
    started = time.perf_counter()
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise CleaningError("the pseudonymisation secret must be at least 16 bytes")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise CleaningError("workers must be a whole number of at least 1")
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

    block = io_formats.POOLED_CSV_BLOCK_SIZE if workers > 1 else io_formats.CSV_BLOCK_SIZE
    tables, info = io_formats.open_tables(src, fmt, csv_block_size=block)
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
            job = TableJob(table.name, pol, pseudo)
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
                head = _head(first, batches, pol.sample_rows)
                job.profile(*head)
                if job.needs_kanon():
                    # Planning reads the whole table with a reader of its own: close this one
                    # first rather than hold two readers' read-ahead buffers at once.
                    batches.close()
                    stats = job.plan_kanon(table)
                    assert stats is not None
                    stats["table"] = table.name
                    report.k_anonymity.append(stats)
                    batches = table.batches()
                    head = _head(next(batches), batches, 0)
                # JSON Lines batches carry every key of the file (surveyed above), so the first
                # batch's columns are all the columns.
                writer.start_table(table.name, job.output_columns(head[0].columns))
                rest = chain(head, batches)
                # A pool pays off from two batches on (a worker takes ~0.2 s to start).
                pooled = workers > 1 and len(head) > 1 and fmt in parallel.POOLED_FORMATS
                outputs = (
                    parallel.transform_batches(job, rest, workers=workers, secret=bytes(secret))
                    if pooled
                    else _transform_here(job, rest)
                )
                # closing(): on an error the pool is shut down now, not when garbage collected.
                with contextlib.closing(outputs):
                    for batch, out in outputs:
                        writer.write(batch, out)
                        rows_done += batch.num_rows
                        if progress is not None:
                            progress(rows_done, table.bytes_done())
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


def _transform_here(
    job: TableJob, batches: Iterator[io_formats.Batch]
) -> Generator[tuple[io_formats.Batch, dict[str, pa.Array]], None, None]:
    """The single-process path: each batch transformed in this process, one at a time."""
    for batch in batches:
        yield batch, job.process(batch)


def _head(
    first: io_formats.Batch, batches: Iterator[io_formats.Batch], rows: int
) -> list[io_formats.Batch]:
    """``first`` and the batches after it, up to ``rows`` rows and at least two batches (or all
    of them if fewer): the profiling sample, and whether a pool has more than one batch to share."""
    head = [first]
    while len(head) < 2 or sum(b.num_rows for b in head) < rows:
        more = next(batches, None)
        if more is None:
            break
        head.append(more)
    return head
