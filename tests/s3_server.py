"""pytest plugin: a real SeaweedFS for the session, and storage fixtures on top of it.

Enabled from tests/conftest.py with `pytest_plugins = ["tests.s3_server"]`
(or on the command line with `-p tests.s3_server`).

* `seaweedfs` (session): starts `weed server -s3` on free loopback ports with credentials
  enforced; errors (never skips) with the server's log when it cannot start.
* `s3_storage`: settings pointed at it with two fresh buckets for this test, created up front
  and destroyed afterwards; yields the S3ObjectStorage.
* `local_storage`: the local backend rooted in the test's tmp_path.

Both storage fixtures use a 5 MiB multipart threshold and chunk (S3's minimum part size), so
tests exercise multipart transfers with small files.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exchange.storage import ObjectStorage, get_storage, reset_storage_cache
from scripts import seaweed

TEST_PART_SIZE = 5 * 1024 * 1024
TEST_CONCURRENCY = 2


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.SeaweedServer]:
    data_dir = tmp_path_factory.mktemp("seaweedfs")
    try:
        server = seaweed.start(data_dir, timeout=45)
    except seaweed.SeaweedError as error:
        raise RuntimeError(f"could not start SeaweedFS for the S3 tests: {error}") from error
    try:
        yield server
    finally:
        server.stop(grace=1.0)  # the data is thrown away: no need to wait for the filer


def _small_parts(settings: Any) -> None:
    settings.STORAGE_MULTIPART_THRESHOLD = TEST_PART_SIZE
    settings.STORAGE_MULTIPART_CHUNK = TEST_PART_SIZE
    settings.STORAGE_MULTIPART_CONCURRENCY = TEST_CONCURRENCY


@pytest.fixture
def s3_storage(seaweedfs: seaweed.SeaweedServer, settings: Any) -> Iterator[ObjectStorage]:
    env = seaweedfs.env()
    suffix = uuid.uuid4().hex[:12]
    settings.STORAGE_BACKEND = "s3"
    settings.S3_ENDPOINT_URL = env["S3_ENDPOINT_URL"]
    settings.S3_PUBLIC_ENDPOINT_URL = ""
    settings.S3_REGION = env["S3_REGION"]
    settings.S3_ACCESS_KEY_ID = env["S3_ACCESS_KEY_ID"]
    settings.S3_SECRET_ACCESS_KEY = env["S3_SECRET_ACCESS_KEY"]
    settings.S3_ADDRESSING_STYLE = "path"
    settings.S3_QUARANTINE_BUCKET = f"test-q-{suffix}"
    settings.S3_PUBLISHED_BUCKET = f"test-p-{suffix}"
    _small_parts(settings)
    reset_storage_cache()
    storage = get_storage()
    storage.ensure_buckets()
    try:
        yield storage
    finally:
        # Each bucket is a SeaweedFS collection with a volume of its own: drop them so a long
        # session does not run out of volumes.
        destroy = getattr(storage, "destroy_buckets", None)
        if destroy is not None:
            destroy()
        reset_storage_cache()


@pytest.fixture
def local_storage(tmp_path: Path, settings: Any) -> Iterator[ObjectStorage]:
    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_LOCAL_ROOT = tmp_path / "storage"
    settings.STORAGE_LOCAL_BASE_URL = "http://testserver"
    _small_parts(settings)
    reset_storage_cache()
    try:
        yield get_storage()
    finally:
        reset_storage_cache()
