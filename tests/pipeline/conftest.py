"""A real Celery worker on Redis and real S3 (SeaweedFS) for the pipeline tests.

The worker is one process for the whole session (starting Django and Celery costs seconds); it
reads the test database (tests here use transactional_db so their rows are committed and visible
to it) and a fixed pair of buckets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from exchange.celery import app
from exchange.storage import ObjectStorage, get_storage, reset_storage_cache
from scripts import seaweed

ROOT = Path(__file__).resolve().parents[2]
BUCKETS = {
    "S3_QUARANTINE_BUCKET": "pipeline-quarantine",
    "S3_PUBLISHED_BUCKET": "pipeline-published",
}
# Small chunks so a few-MB test file is split and cleaned by a real chord.
CHUNK_BYTES = 256 * 1024


def _storage_env(server: seaweed.SeaweedServer) -> dict[str, str]:
    return {**server.env(), "STORAGE_BACKEND": "s3", "S3_ADDRESSING_STYLE": "path", **BUCKETS}


@pytest.fixture(scope="session")
def pipeline_worker(
    seaweedfs: seaweed.SeaweedServer,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[subprocess.Popen[bytes]]:
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    name = f"pipeline-{uuid.uuid4().hex[:8]}@%h"
    env = {
        **os.environ,
        **_storage_env(seaweedfs),
        "DATABASE_URL": database_url,
        "PIPELINE_CHUNK_BYTES": str(CHUNK_BYTES),
        "CELERY_MAX_REDELIVERIES": "3",
    }
    app.control.purge()
    process = subprocess.Popen(
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
            "2",
            "--loglevel",
            "INFO",
            "-n",
            name,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "wb"),  # noqa: SIM115 - closed when the process ends
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited at start:\n" + log.read_text()[-3000:])
        if "ready." in log.read_text(errors="replace"):
            break
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("the Celery worker did not become ready:\n" + log.read_text()[-3000:])
    process.log_path = log
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def pipeline_storage(
    seaweedfs: seaweed.SeaweedServer, settings: Any, pipeline_worker: Any, transactional_db: None
) -> Iterator[ObjectStorage]:
    """The test process's storage, pointed at the worker's buckets, emptied before each test."""
    for key, value in _storage_env(seaweedfs).items():
        setattr(settings, key, value)
    settings.PIPELINE_CHUNK_BYTES = CHUNK_BYTES
    reset_storage_cache()
    storage = get_storage()
    storage.ensure_buckets()
    for area in ("quarantine", "published"):
        for key in list(storage.list_keys(area)):
            storage.delete(area, key)
    yield storage
    reset_storage_cache()


def worker_children(worker: subprocess.Popen[bytes]) -> list[int]:
    """Pids of the worker's pool processes (its direct children)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may contain spaces, so split
        # after its closing parenthesis.
        if int(stat.rsplit(")", 1)[1].split()[1]) == worker.pid:
            children.append(int(entry.name))
    return children
