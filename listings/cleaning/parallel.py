"""Transforming a table's batches in a bounded pool of worker processes.

Once a table is profiled and its k-anonymity plan made, its batches are independent of each other,
so the command line and :func:`anonymize_file` (``workers=N``) can spread them over processes the
way pyarrow spreads its CSV reading and writing over threads.  The parent process reads, writes
and keeps the report; each worker receives the table's decisions and the secret once, at start-up
(as an argument of its initialiser, never logged), then transforms record batches.  At most
``workers`` batches are in flight, and results are taken in input order: the output is byte for
byte the single-process output, and memory stays bounded whatever the file size.

Only formats whose batches are Arrow record batches (CSV, TSV, Parquet) go through the pool; JSON
Lines and XLSX batches carry their original Python rows and are transformed in the parent.

The upload pipeline's chunk tasks call :func:`anonymize_file` with the default ``workers=1``: they
already run in parallel across Celery workers (whose daemonic processes may not have children).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor

import pyarrow as pa

from . import detectors, io_formats
from .table_job import CountsDelta, Decisions, TableJob
from .transforms import Pseudonymizer

POOLED_FORMATS = frozenset({"csv", "tsv", "parquet"})


# Each worker holds ~110-120 MB on CSV next to the parent's ~250 MB: two keep the engine under its
# 500 MB budget on any machine; more is a caller's explicit choice (--workers).
MAX_DEFAULT_WORKERS = 2


def default_workers() -> int:
    """1 (no pool) when the C scanner is built; otherwise one worker per CPU this process may run
    on (its affinity mask, which a container's cpuset narrows; ``os.cpu_count()`` counts the
    host's), at most MAX_DEFAULT_WORKERS.

    With the scanner in C a batch costs less to transform than to send to a worker and back: on
    the 100 MB bench corpus two workers took 1.90 s and 477 MB, one process 1.71 s and 245 MB.
    """
    if detectors.ACCELERATED:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


BatchResult = tuple[dict[str, pa.Array], dict[str, CountsDelta]]

# The worker process's copy of the table job, set once by its initialiser.
_worker_job: TableJob | None = None


def _start_worker(decisions: Decisions, secret: bytes) -> None:
    global _worker_job
    _worker_job = TableJob.from_decisions(decisions, Pseudonymizer(secret))


def _transform_in_worker(rb: pa.RecordBatch) -> BatchResult:
    job = _worker_job
    assert job is not None, "worker used before its initialiser ran"
    changes = job.changes(io_formats.batch_of(rb))
    return changes, job.take_counts()


def transform_batches(
    job: TableJob, batches: Iterable[io_formats.Batch], *, workers: int, secret: bytes
) -> Generator[tuple[io_formats.Batch, dict[str, pa.Array]], None, None]:
    """(batch, output columns) for every batch, in order, transformed by ``workers`` processes.

    The batches must be record-batch backed (:data:`POOLED_FORMATS`).  ``job``'s report receives
    the workers' counts as their results come back.
    """
    # "spawn": a fresh interpreter, so nothing of the parent (open files, Django's database
    # connections, pyarrow's thread pools) is inherited half-way through; a worker's imports take
    # about 0.2 s, paid while the parent reads the first batches.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(job.decisions(), bytes(secret)),
    )
    in_flight: deque[tuple[io_formats.Batch, Future[BatchResult]]] = deque()

    def finish_oldest() -> tuple[io_formats.Batch, dict[str, pa.Array]]:
        batch, future = in_flight.popleft()
        changes, counts = future.result()
        job.add_counts(counts)
        return batch, job.complete(batch, changes)

    try:
        for batch in batches:
            in_flight.append((batch, pool.submit(_transform_in_worker, batch.native)))
            if len(in_flight) >= workers:
                yield finish_oldest()
        while in_flight:
            yield finish_oldest()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
