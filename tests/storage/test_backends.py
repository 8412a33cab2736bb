"""The ObjectStorage contract, run against both backends: the local folder and SeaweedFS."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exchange.storage import (
    Area,
    AreaAccessDenied,
    InvalidKey,
    LinkLifetimeError,
    ObjectChanged,
    ObjectNotFound,
    ObjectStorage,
    QuarantineAccessDenied,
)
from exchange.storage.local import LocalObjectStorage

from ..s3_server import TEST_CONCURRENCY, TEST_PART_SIZE
from .helpers import GeneratedStream, MiB, expected_sha256

pytestmark = pytest.mark.urls("tests.storage.urls")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest) -> ObjectStorage:
    backend: ObjectStorage = request.getfixturevalue(f"{request.param}_storage")
    return backend


def test_put_get_stat_exists(storage: ObjectStorage) -> None:
    data = "编号,电话\n1,138\n".encode()
    info = storage.put_bytes(Area.PUBLISHED, "v1/数据.csv", data, "text/csv")
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.etag
    with storage.open_read(Area.PUBLISHED, "v1/数据.csv") as fh:
        assert fh.read() == data
    stat = storage.stat("published", "v1/数据.csv")
    assert (stat.size, stat.etag) == (len(data), info.etag)
    assert stat.content_type is not None and stat.content_type.startswith("text/csv")
    assert storage.exists(Area.PUBLISHED, "v1/数据.csv")
    assert not storage.exists(Area.QUARANTINE, "v1/数据.csv")  # areas are separate
    assert storage.size(Area.PUBLISHED, "v1/数据.csv") == len(data)
    assert storage.read_range(Area.PUBLISHED, "v1/数据.csv", 2, 4) == data[2:6]
    assert storage.read_range(Area.PUBLISHED, "v1/数据.csv", 10_000, 4) == b""


def test_overwrite_replaces(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.QUARANTINE, "k", b"first version")
    storage.put_bytes(Area.QUARANTINE, "k", b"2")
    with storage.open_read(Area.QUARANTINE, "k") as fh:
        assert fh.read() == b"2"


def test_large_stream_round_trip_in_bounded_memory(storage: ObjectStorage) -> None:
    """A 40 MiB stream goes through multipart (5 MiB parts in tests) in a few parts' memory.

    s3transfer keeps about (concurrency + 3) parts in flight for a non-seekable stream; the
    bound below is that, well under the object size, and does not grow with it.
    """
    size = 40 * MiB
    bound = (TEST_CONCURRENCY + 3) * TEST_PART_SIZE + 2 * MiB
    assert bound < size
    tracemalloc.start()
    try:
        info = storage.put_stream(Area.QUARANTINE, "big/upload.bin", GeneratedStream(size))
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with storage.open_read(Area.QUARANTINE, "big/upload.bin") as fh:
            while chunk := fh.read(MiB):
                digest.update(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size
    assert info.sha256 == expected_sha256(size) == digest.hexdigest()
    assert storage.size(Area.QUARANTINE, "big/upload.bin") == size
    assert put_peak < bound, f"put used {put_peak / MiB:.1f} MiB"
    assert get_peak < 4 * MiB, f"get used {get_peak / MiB:.1f} MiB"
    if not isinstance(storage, LocalObjectStorage):
        # S3 ETags of multipart objects end in -<number of parts>: proof it went multipart.
        assert info.etag.endswith(f"-{size // TEST_PART_SIZE}")


def test_failed_put_leaves_nothing(storage: ObjectStorage, tmp_path: Path) -> None:
    source = GeneratedStream(12 * MiB, fail_after=7 * MiB)  # fails after the first part
    with pytest.raises(ConnectionResetError):
        storage.put_stream(Area.QUARANTINE, "partial.bin", source)
    assert not storage.exists(Area.QUARANTINE, "partial.bin")
    assert list(storage.list_keys(Area.QUARANTINE)) == []
    if isinstance(storage, LocalObjectStorage):
        assert list((storage.root / ".tmp").iterdir()) == []


def test_delete_and_missing_objects(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.PUBLISHED, "a/b/c.txt", b"x")
    storage.delete(Area.PUBLISHED, "a/b/c.txt")
    storage.delete(Area.PUBLISHED, "a/b/c.txt")  # idempotent
    assert not storage.exists(Area.PUBLISHED, "a/b/c.txt")
    with pytest.raises(ObjectNotFound):
        storage.open_read(Area.PUBLISHED, "a/b/c.txt")
    with pytest.raises(ObjectNotFound):
        storage.stat(Area.PUBLISHED, "a/b/c.txt")
    with pytest.raises(ObjectNotFound):
        storage.read_range(Area.PUBLISHED, "a/b/c.txt", 0, 1)
    if isinstance(storage, LocalObjectStorage):
        assert list((storage.root / "published").iterdir()) == []  # emptied folders pruned


def test_list_keys_by_prefix_in_order(storage: ObjectStorage) -> None:
    keys = ["v2/b.csv", "v1/z.csv", "v1/a.csv", "v10/a.csv", "other.csv"]
    for key in keys:
        storage.put_bytes(Area.PUBLISHED, key, b"1")
    storage.put_bytes(Area.QUARANTINE, "v1/raw.csv", b"1")
    assert list(storage.list_keys(Area.PUBLISHED)) == sorted(keys)
    assert list(storage.list_keys(Area.PUBLISHED, "v1/")) == ["v1/a.csv", "v1/z.csv"]
    assert list(storage.list_keys(Area.PUBLISHED, "v1")) == ["v1/a.csv", "v1/z.csv", "v10/a.csv"]
    assert list(storage.list_keys(Area.PUBLISHED, "nothing/")) == []
    assert list(storage.list_keys(Area.QUARANTINE)) == ["v1/raw.csv"]


def test_copy_between_areas(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.QUARANTINE, "in.csv", b"clean enough")
    info = storage.copy(Area.QUARANTINE, "in.csv", Area.PUBLISHED, "out.csv", "text/csv")
    assert info.sha256 == hashlib.sha256(b"clean enough").hexdigest()
    with storage.open_read(Area.PUBLISHED, "out.csv") as fh:
        assert fh.read() == b"clean enough"


HOSTILE_KEYS = [
    "../escape",
    "a/../../escape",
    "/etc/passwd",
    "a\\..\\b",
    "a//b",
    "./a",
    "a/.",
    "a/",
    "",
    "nul\x00byte",
    "new\nline",
    "tab\there",
    "zero\u200bwidth",
    "x" * 1025,
    "é" * 128,  # 256 UTF-8 bytes in one segment
    "/".join(["é" * 100] * 6),  # 1205 UTF-8 bytes
]


def test_hostile_keys_refused(storage: ObjectStorage, tmp_path: Path) -> None:
    before = sorted(tmp_path.rglob("*"))
    calls: dict[str, Callable[[str], object]] = {
        "put": lambda key: storage.put_bytes(Area.QUARANTINE, key, b"evil"),
        "open_read": lambda key: storage.open_read(Area.QUARANTINE, key),
        "exists": lambda key: storage.exists(Area.QUARANTINE, key),
        "delete": lambda key: storage.delete(Area.QUARANTINE, key),
        "list_keys": lambda key: list(storage.list_keys(Area.QUARANTINE, key)),
        "download_url": lambda key: storage.download_url(Area.PUBLISHED, key),
        "upload_url": lambda key: storage.upload_url(key),
        "create_multipart": lambda key: storage.create_multipart(key),
    }
    for key in HOSTILE_KEYS:
        for name, call in calls.items():
            if name == "list_keys" and key in {"", "a/"}:
                continue  # valid listing prefixes
            with pytest.raises(InvalidKey):
                call(key)
                pytest.fail(f"{name} accepted {key!r}")
    assert sorted(tmp_path.rglob("*")) == before


def test_longest_allowed_key(storage: ObjectStorage) -> None:
    key = "/".join(["y" * 204] * 5)  # 1024 bytes, segments of 204 (each at most 255)
    storage.put_bytes(Area.QUARANTINE, key, b"1")
    assert list(storage.list_keys(Area.QUARANTINE, "y")) == [key]
    with pytest.raises(InvalidKey):
        storage.put_bytes(Area.QUARANTINE, "z" * 256, b"1")


def test_quarantine_never_gets_a_download_link(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.QUARANTINE, "raw.csv", b"id,phone\n")
    for area in (Area.QUARANTINE, "quarantine"):
        with pytest.raises(QuarantineAccessDenied):
            storage.download_url(area, "raw.csv")
    with pytest.raises(QuarantineAccessDenied):
        storage.download_url(Area.QUARANTINE, "raw.csv", ttl=1, filename="x.csv")


def test_uploads_only_into_quarantine(storage: ObjectStorage) -> None:
    with pytest.raises(AreaAccessDenied):
        storage.upload_url("v1/data.csv", area=Area.PUBLISHED)
    with pytest.raises(AreaAccessDenied):
        storage.upload_post("v1/data.csv", area="published", max_size=10)


def test_download_lifetime_is_capped(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.PUBLISHED, "f.csv", b"1")
    for ttl in (0, -5, 15 * 60 + 1, 24 * 3600):
        with pytest.raises(LinkLifetimeError):
            storage.download_url(Area.PUBLISHED, "f.csv", ttl=ttl)
    assert storage.download_url(Area.PUBLISHED, "f.csv", ttl=15 * 60)


def test_download_lifetime_cap_is_a_setting(storage: ObjectStorage, settings: Any) -> None:
    settings.STORAGE_MAX_DOWNLOAD_LINK_TTL_SECONDS = 60
    settings.DOWNLOAD_LINK_TTL_SECONDS = 30
    with pytest.raises(LinkLifetimeError):
        storage.download_url(Area.PUBLISHED, "f.csv", ttl=61)
    assert storage.download_url(Area.PUBLISHED, "f.csv")


def test_open_range_streams_a_window(storage: ObjectStorage) -> None:
    data = bytes(range(256)) * 100
    storage.put_bytes(Area.QUARANTINE, "raw/r.bin", data)
    with storage.open_range(Area.QUARANTINE, "raw/r.bin", 300, 5000) as fh:
        assert fh.read(10) + fh.read() == data[300:5300]
    with storage.open_range(Area.QUARANTINE, "raw/r.bin", len(data) - 3, 100) as fh:
        assert fh.read() == data[-3:]
    with storage.open_range(Area.QUARANTINE, "raw/r.bin", len(data) + 10, 4) as fh:
        assert fh.read() == b""


@pytest.mark.parametrize("part_bytes", [1000, 5 * MiB + 7], ids=["small", "5MiB"])
def test_compose_joins_objects_in_order_across_areas(
    storage: ObjectStorage, part_bytes: int
) -> None:
    # Parts of 5 MiB and more are joined on the S3 side; smaller ones are streamed through us.
    parts = [bytes([65 + i]) * part_bytes for i in range(3)] + [b"tail"]
    keys = [f"work/u/out-{i:05d}.csv" for i in range(len(parts))]
    for key, data in zip(keys, parts, strict=True):
        storage.put_bytes(Area.QUARANTINE, key, data)
    info = storage.compose(Area.QUARANTINE, keys, Area.PUBLISHED, "datasets/joined.csv", "text/csv")
    joined = b"".join(parts)
    assert (info.size, info.sha256) == (len(joined), hashlib.sha256(joined).hexdigest())
    assert info.etag == storage.stat(Area.PUBLISHED, "datasets/joined.csv").etag
    with storage.open_read(Area.PUBLISHED, "datasets/joined.csv") as fh:
        assert fh.read() == joined
    assert all(storage.exists(Area.QUARANTINE, key) for key in keys)  # sources are kept


def test_compose_of_a_missing_source_publishes_nothing(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.QUARANTINE, "work/v/out-00000.csv", b"x" * (5 * MiB))
    with pytest.raises(ObjectNotFound):
        storage.compose(
            Area.QUARANTINE,
            ["work/v/out-00000.csv", "work/v/out-00001.csv"],
            Area.PUBLISHED,
            "datasets/never.csv",
        )
    assert not storage.exists(Area.PUBLISHED, "datasets/never.csv")


def test_open_range_pinned_to_an_etag_refuses_a_replaced_object(storage: ObjectStorage) -> None:
    storage.put_bytes(Area.QUARANTINE, "raw/p.csv", b"checked bytes")
    etag = storage.stat(Area.QUARANTINE, "raw/p.csv").etag
    with storage.open_range(Area.QUARANTINE, "raw/p.csv", 0, 7, if_match=etag) as fh:
        assert fh.read() == b"checked"
    with storage.open_range(Area.QUARANTINE, "raw/p.csv", 3, 0, if_match=etag) as fh:
        assert fh.read() == b""
    storage.put_bytes(Area.QUARANTINE, "raw/p.csv", b"other  bytes!")
    for length in (7, 0):
        with pytest.raises(ObjectChanged):
            storage.open_range(Area.QUARANTINE, "raw/p.csv", 0, length, if_match=etag)
    storage.put_bytes(Area.QUARANTINE, "raw/p.csv", b"short")  # a range past its end
    with pytest.raises(ObjectChanged):
        storage.open_range(Area.QUARANTINE, "raw/p.csv", 8, 4, if_match=etag)
