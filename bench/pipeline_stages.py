"""Where the upload pipeline's time goes: each stage timed alone, in one process, on local files.

    .venv/bin/python bench/pipeline_stages.py --size-mb 128

Generates the same seeded CSV as bench/pipeline_bench.py, then times validation (which notes the
chunks' byte ranges), cutting the chunk files from their ranges, anonymising one chunk, joining
the cleaned chunks and hashing the result. No object store
and no Celery: these are the CPU costs that pipeline_bench.py's wall times are made of. Scale the
figures linearly to estimate a larger file (the stages are linear in its size).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=128)
    parser.add_argument("--chunk-mb", type=int, default=32)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
    import django

    django.setup()
    # Run as a script, this file's folder is on sys.path: the sibling bench is importable.
    from pipeline_bench import generate

    from listings.cleaning import anonymize_file
    from listings.pipeline import chunking, conf
    from listings.pipeline.validation import validate_file

    work = Path(tempfile.mkdtemp(prefix="pipeline-stages-"))
    try:
        data = work / "bench.csv"
        generate(data, args.size_mb)
        size_mb = data.stat().st_size / 1024**2
        timings: list[tuple[str, float, str]] = []

        started = time.perf_counter()
        validated = validate_file(
            data, "bench.csv", conf.limits(), split_every=args.chunk_mb * 1024 * 1024
        )
        timings.append(("validate", time.perf_counter() - started, f"{validated.rows} rows"))

        # In the pipeline each chunk task cuts its own range (in parallel); timed here for all.
        started = time.perf_counter()
        ranges = chunking.byte_ranges(validated.header_end, validated.splits)
        chunks = []
        with open(data, "rb") as raw:
            header = raw.read(validated.header_end)
            for index, (start, end) in enumerate(ranges):
                raw.seek(start)
                chunk = work / f"chunk-{index:05d}.csv"
                chunking.write_chunk(header, io.BytesIO(raw.read(end - start)), "utf-8", chunk)
                chunks.append(chunk)
        timings.append(("cut chunks by range", time.perf_counter() - started, f"{len(chunks)}"))

        first = chunks[0]
        started = time.perf_counter()
        anonymize_file(str(first), str(work / "clean-0.csv"), fmt="csv", secret=b"s" * 32)
        seconds = time.perf_counter() - started
        chunk_mb = first.stat().st_size / 1024**2
        timings.append(
            ("anonymise one chunk", seconds, f"{chunk_mb:.0f} MB, {chunk_mb / seconds:.1f} MB/s")
        )

        # Publishing joins the outputs on the object store's side (UploadPartCopy); the local
        # join below is what the local backend and small files do instead.
        started = time.perf_counter()
        skip = chunking.header_length(work / "clean-0.csv", "csv")
        with open(work / "merged.csv", "wb") as target:
            for index in range(len(chunks)):
                with open(work / "clean-0.csv", "rb") as part:
                    part.seek(0 if index == 0 else skip)
                    shutil.copyfileobj(part, target, 1 << 20)
        timings.append(("join (local backend)", time.perf_counter() - started, f"{len(chunks)}"))

        started = time.perf_counter()
        digest = hashlib.sha256()
        with open(work / "merged.csv", "rb") as merged:
            while block := merged.read(1 << 20):
                digest.update(block)
        timings.append(("sha-256 of the result", time.perf_counter() - started, ""))

        print(f"file: {size_mb:.0f} MB CSV")
        for name, seconds, note in timings:
            per_gb = seconds * 1024 / size_mb if name != "anonymise one chunk" else None
            scaled = f"{per_gb:7.1f} s per GB" if per_gb is not None else " " * 16
            print(f"{name:24s} {seconds:7.2f} s  {scaled}  {note}")
        anonymise_per_gb = timings[2][1] * 1024 / chunk_mb
        print(f"{'anonymise (all chunks)':24s} {'':9s}  {anonymise_per_gb:7.1f} s per GB of CPU")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
