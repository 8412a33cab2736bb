"""Upload pipeline throughput: one large CSV through real Celery workers, SeaweedFS and PostgreSQL.

Runs the same file with 1 worker process and then with 2, and reports for each: wall time from
"upload complete" to "published", MB/s, peak RSS of each worker process, and the speed-up of
2 over 1. The baseline for MB/s is a plain streaming copy of the same file through the object
store (download + upload), measured in the same run.

    .venv/bin/python bench/pipeline_bench.py --size-mb 1024

Needs PostgreSQL and Redis on 127.0.0.1 (as `make test`); uses its own database
`exchange_bench` and Redis databases 11-12; starts SeaweedFS itself.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "exchange_bench"
ENV = {
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/11",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/12",
    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/11",
    "STORAGE_BACKEND": "s3",
    "S3_QUARANTINE_BUCKET": "bench-quarantine",
    "S3_PUBLISHED_BUCKET": "bench-published",
    "PIPELINE_CHUNK_BYTES": str(32 * 1024 * 1024),
    "STORAGE_MULTIPART_CONCURRENCY": "2",
    "CELERY_TASK_TIME_LIMIT": "7200",
    "CELERY_TASK_SOFT_TIME_LIMIT": "7000",
}


def generate(path: Path, size_mb: int, seed: int = 20261126) -> None:
    """A seeded synthetic table: names, resident IDs, phones in columns and in free text."""
    from tests.pipeline.synthetic import mobile, name, resident_id

    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["就诊编号", "患者姓名", "身份证号", "联系电话", "诊断", "费用", "备注"])
        i = 0
        while f.tell() < target:
            for _ in range(5000):
                i += 1
                writer.writerow(
                    [
                        f"V{i:09d}",
                        name(rng),
                        resident_id(rng),
                        mobile(rng),
                        rng.choice(["高血压", "糖尿病", "哮喘", "冠心病", "骨折"]),
                        f"{rng.randrange(100, 999999) / 100:.2f}",
                        f"复诊，联系家属{name(rng)}，电话{mobile(rng)}",
                    ]
                )


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def run_once(data: Path, workers: int, env: dict[str, str]) -> dict[str, Any]:
    import django

    django.setup()
    from django.db import transaction

    from exchange.participants.models import Membership
    from exchange.storage import Area, get_storage
    from listings.models import Listing, ListingVersion
    from listings.pipeline import services
    from listings.pipeline.models import Upload
    from tests.factories import MembershipFactory

    log = open(tempfile.mktemp(suffix=".log"), "wb")  # noqa: SIM115, S306
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "exchange",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(workers),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench{workers}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    time.sleep(6)
    membership = cast(Membership, MembershipFactory(role="owner", organisation__kind="seller"))
    listing = Listing.objects.create(
        seller=membership.organisation, title="bench", category="medical"
    )
    version = ListingVersion.objects.create(listing=listing, number=1)
    storage = get_storage()
    upload, _ = services.start_upload(
        actor=membership.user,
        organisation=membership.organisation,
        version=version,
        filename="bench.csv",
        size=data.stat().st_size,
    )
    with open(data, "rb") as f:
        storage.put_stream(Area.QUARANTINE, upload.quarantine_key, f)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with transaction.atomic():
        services._accept(upload, membership.user, data.stat().st_size)
    peak: dict[int, float] = {}
    # When each stage was first seen (polled every 0.5 s): where the wall time goes.
    stage_seen: dict[str, float] = {}
    while True:
        upload.refresh_from_db()
        stage_seen.setdefault(upload.stage, time.monotonic() - started)
        for pid in [worker.pid, *children(worker.pid)]:
            peak[pid] = max(peak.get(pid, 0.0), peak_rss_mb(pid))
        if upload.status in (Upload.Status.PUBLISHED, Upload.Status.REJECTED, Upload.Status.FAILED):
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()[0]
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=60)
    if upload.status != Upload.Status.PUBLISHED:
        raise SystemExit(f"pipeline ended {upload.status}: {upload.error_reason}")
    size_mb = data.stat().st_size / 1024**2
    marks = [*sorted(stage_seen.items(), key=lambda item: item[1]), ("end", elapsed)]
    stages = {name: round(marks[i + 1][1] - at, 1) for i, (name, at) in enumerate(marks[:-1])}
    return {
        "stages": stages,
        "seconds": elapsed,
        "mb_s": size_mb / elapsed,
        "peak_rss_mb": max(v for pid, v in peak.items() if pid != worker.pid),
        "chunks": upload.chunks_total,
        # The machine is shared: the 1-minute load average around the run says how much.
        "load_before": load_before,
        "load_after": load_after,
    }


def copy_baseline(data: Path) -> float:
    """MB/s of streaming the file into the store and back: the floor any pipeline pays."""
    from exchange.storage import Area, get_storage

    storage = get_storage()
    started = time.monotonic()
    with open(data, "rb") as f:
        storage.put_stream(Area.QUARANTINE, "bench/copy", f)
    with storage.open_read(Area.QUARANTINE, "bench/copy") as source, open(os.devnull, "wb") as out:
        while block := source.read(1024 * 1024):
            out.write(block)
    storage.delete(Area.QUARANTINE, "bench/copy")
    return data.stat().st_size / 1024**2 / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    try:
        run(work, args.size_mb)
    finally:
        # The file, its copies and SeaweedFS's volumes take several GB per run.
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, size_mb: int) -> None:
    from scripts import seaweed

    data = work / "bench.csv"
    print(f"generating {size_mb} MB ...", flush=True)
    generate(data, size_mb)
    pg = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["dropdb", *pg, "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", *pg, DB_NAME], check=True)
    with seaweed.running(work / "seaweed") as server:
        env = {**os.environ, **ENV, **server.env(), "DJANGO_SETTINGS_MODULE": "exchange.settings"}
        os.environ.update({k: v for k, v in env.items() if k in ENV or k.startswith("S3_")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "exchange.settings"
        migrate = [sys.executable, "manage.py", "migrate", "-v0"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from exchange.storage import get_storage

        get_storage().ensure_buckets()
        baseline = copy_baseline(data)
        one = run_once(data, 1, env)
        two = run_once(data, 2, env)
    size = data.stat().st_size / 1024**2
    print(f"file: {size:.0f} MB CSV, {one['chunks']:.0f} chunks")
    print(f"baseline (stream into the store and back): {baseline:.1f} MB/s")
    for label, r in (("1 worker ", one), ("2 workers", two)):
        print(
            f"{label}: {r['seconds']:.1f} s, {r['mb_s']:.2f} MB/s "
            f"({r['mb_s'] / baseline:.3f}x baseline), "
            f"peak RSS per worker {r['peak_rss_mb']:.0f} MB, "
            f"load average {r['load_before']:.1f} -> {r['load_after']:.1f}"
        )
        print(f"  seconds per stage: {r['stages']}")
    print(f"speed-up 2 vs 1: {one['seconds'] / two['seconds']:.2f}x")


if __name__ == "__main__":
    main()
