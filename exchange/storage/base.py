"""The object storage interface shared by the local and S3 backends.

Two areas: QUARANTINE holds raw uploads and is readable only by the pipeline (through this
interface, never through a link); PUBLISHED holds the cleaned files buyers download through
short-lived links. Callers generate keys; every method validates them so a hostile name can
neither escape the local root nor reach an unexpected S3 key.

Link lifetimes: a requested lifetime above the cap is *refused* (LinkLifetimeError), not clamped,
so a caller asking for an hour learns at once that it cannot have it instead of handing out a
link that dies earlier than promised.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO, Protocol

from django.conf import settings


class Area(StrEnum):
    QUARANTINE = "quarantine"
    PUBLISHED = "published"


# --- Errors: callers catch these, never botocore's or OSError ---------------------------------


class StorageError(Exception):
    """A storage operation failed and retrying will not help (bad key, misconfiguration...)."""


class StorageUnavailable(StorageError):
    """The store could not be reached or is overloaded: transient, worth a retry."""


class ObjectNotFound(StorageError):
    """No object under that key (or no multipart upload with that id)."""


class ObjectChanged(StorageError):
    """The object under that key is no longer the one with the ETag the caller pinned."""


class InvalidKey(StorageError, ValueError):
    """The key is not acceptable (traversal, control characters, too long...)."""


class AreaAccessDenied(StorageError, PermissionError):
    """The operation is not allowed on that area."""


class QuarantineAccessDenied(AreaAccessDenied):
    """Quarantine objects are never served by a link: only the pipeline reads them."""


class LinkLifetimeError(StorageError, ValueError):
    """The requested link lifetime is not positive or above the cap."""


class InvalidUpload(StorageError):
    """A multipart upload cannot be completed as described (missing, small or mismatched parts)."""


# --- Values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectInfo:
    """What put_stream wrote: size and SHA-256 computed on the bytes as they went through us."""

    size: int
    sha256: str
    etag: str


@dataclass(frozen=True)
class ObjectStat:
    size: int
    etag: str
    content_type: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class UploadedPart:
    part_number: int
    etag: str
    size: int


@dataclass(frozen=True)
class PresignedPost:
    """An HTML-form style upload: POST multipart/form-data to `url` with `fields`, then the file
    in a field named "file" (last). The store enforces `max_size` itself."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# --- Key and lifetime rules ------------------------------------------------------------------

MAX_KEY_BYTES = 1024
# File systems (the local backend) and SeaweedFS (KeyTooLongError) cap a name at 255 bytes.
MAX_SEGMENT_BYTES = 255
# S3 limits: parts are numbered 1..10000 and all but the last must be at least 5 MiB.
MAX_PART_NUMBER = 10_000
MIN_PART_SIZE = 5 * 1024 * 1024
COPY_CHUNK = 1024 * 1024
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative object key, else raise InvalidKey.

    Rules: non-empty text of at most 1024 UTF-8 bytes, 255 per "/"-separated segment;
    printable (no NUL, newline or other control or invisible separator characters); no
    backslash; no leading or trailing "/"; no empty, "." or ".." segment. The same key then
    means the same thing on every backend and on every file system.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("object key must be a non-empty string")
    if len(key.encode("utf-8", errors="surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"object key longer than {MAX_KEY_BYTES} bytes")
    if not key.isprintable():
        raise InvalidKey("object key contains non-printable characters")
    if "\\" in key:
        raise InvalidKey("object key contains a backslash")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey("object key must not start or end with '/'")
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise InvalidKey("object key has an empty, '.' or '..' segment")
        if len(segment.encode("utf-8", errors="surrogatepass")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"object key segment longer than {MAX_SEGMENT_BYTES} bytes")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as error:  # lone surrogates
        raise InvalidKey("object key is not valid Unicode") from error
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key (a trailing "/" is allowed)."""
    if prefix:
        validate_key(prefix.rstrip("/") if prefix.endswith("/") else prefix)
    return prefix


def validate_part_number(part_number: int) -> int:
    if not isinstance(part_number, int) or not 1 <= part_number <= MAX_PART_NUMBER:
        raise InvalidUpload(f"part number must be 1..{MAX_PART_NUMBER}")
    return part_number


def as_area(area: Area | str) -> Area:
    try:
        return Area(area)
    except ValueError as error:
        raise StorageError(f"unknown storage area {area!r}") from error


def max_download_ttl() -> int:
    return int(getattr(settings, "STORAGE_MAX_DOWNLOAD_LINK_TTL_SECONDS", 15 * 60))


def max_upload_ttl() -> int:
    return int(getattr(settings, "STORAGE_MAX_UPLOAD_LINK_TTL_SECONDS", 6 * 60 * 60))


def resolve_ttl(ttl: int | None, *, default: int, cap: int) -> int:
    """The lifetime to sign for: the default when None; refused when <= 0 or above the cap."""
    value = default if ttl is None else ttl
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise LinkLifetimeError("link lifetime must be a positive number of seconds")
    if value > cap:
        raise LinkLifetimeError(f"link lifetime {value} s is above the cap of {cap} s")
    return value


def normalise_etag(etag: str) -> str:
    return etag.strip().strip('"')


class HashingReader(io.RawIOBase):
    """Wraps a readable; counts and hashes bytes as they pass, so put_stream never buffers."""

    def __init__(self, source: Readable) -> None:
        super().__init__()
        self._source = source
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)  # S3-style ETag for the local backend
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            data = self._source.read(-1)
        else:
            # Fill the request: sockets and decompressors return short reads, and s3transfer
            # would turn a short read into an undersized multipart part (EntityTooSmall).
            pieces: list[bytes] = []
            wanted = size
            while wanted > 0:
                piece = self._source.read(wanted)
                if not piece:
                    break
                pieces.append(piece)
                wanted -= len(piece)
            data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if data:
            self.sha256.update(data)
            self.md5.update(data)
            self.size += len(data)
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# --- The interface ---------------------------------------------------------------------------


class ObjectStorage(ABC):
    """One interface, two backends (exchange.storage.local, exchange.storage.s3).

    Reads and writes stream in bounded memory whatever the object size. Links are only ever
    issued for PUBLISHED objects (downloads) and QUARANTINE keys (direct uploads).
    """

    @abstractmethod
    def ensure_buckets(self) -> None:
        """Create both areas if missing (idempotent); run at deploy time and in tests."""

    @abstractmethod
    def allow_browser_uploads(self, origins: Sequence[str]) -> None:
        """Let pages served from `origins` PUT straight into quarantine (presigned uploads) and
        read each part's ETag (idempotent; run at deploy time)."""

    # -- objects --

    @abstractmethod
    def put_stream(
        self,
        area: Area | str,
        key: str,
        fileobj: Readable,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Write everything `fileobj.read()` yields under `key`, replacing any previous object.

        Either the whole object becomes visible or nothing does (no partial objects).
        """

    def put_bytes(
        self, area: Area | str, key: str, data: bytes, content_type: str | None = None
    ) -> ObjectInfo:
        return self.put_stream(area, key, io.BytesIO(data), content_type)

    @abstractmethod
    def open_read(self, area: Area | str, key: str) -> BinaryIO:
        """A binary stream over the object; the caller closes it (use `with`)."""

    @abstractmethod
    def read_range(self, area: Area | str, key: str, start: int, length: int) -> bytes:
        """`length` bytes from offset `start` (fewer at the end of the object)."""

    @abstractmethod
    def open_range(
        self, area: Area | str, key: str, start: int, length: int, *, if_match: str | None = None
    ) -> BinaryIO:
        """A binary stream over `length` bytes from offset `start` (fewer at the end of the
        object), read as it is consumed; the caller closes it (use `with`).

        With `if_match` (an ETag from stat), ObjectChanged is raised unless the bytes come from
        exactly that object: a reader can pin what it reads to what it checked earlier."""

    @abstractmethod
    def stat(self, area: Area | str, key: str) -> ObjectStat:
        """Size, ETag and content type; ObjectNotFound when missing."""

    def size(self, area: Area | str, key: str) -> int:
        return self.stat(area, key).size

    def exists(self, area: Area | str, key: str) -> bool:
        try:
            self.stat(area, key)
        except ObjectNotFound:
            return False
        return True

    @abstractmethod
    def delete(self, area: Area | str, key: str) -> None:
        """Remove the object; deleting a missing object is not an error (idempotent)."""

    @abstractmethod
    def list_keys(self, area: Area | str, prefix: str = "") -> Iterator[str]:
        """Keys under `prefix`, in lexicographic order."""

    def copy(
        self,
        src_area: Area | str,
        src_key: str,
        dst_area: Area | str,
        dst_key: str,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Stream an object to another key/area (hashing it on the way)."""
        with self.open_read(src_area, src_key) as source:
            return self.put_stream(dst_area, dst_key, source, content_type)

    def compose(
        self,
        src_area: Area | str,
        src_keys: Sequence[str],
        dst_area: Area | str,
        dst_key: str,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Write the concatenation of `src_keys`, in order, under `dst_key`: all or nothing.

        This default streams every source through us once (hashing on the way); a backend that
        can join objects on its side overrides it and reads the result back once for the hash.
        """
        joined = ConcatenatedReader(
            functools.partial(self.open_read, src_area, key) for key in src_keys
        )
        with contextlib.closing(joined):
            return self.put_stream(dst_area, dst_key, joined, content_type)

    # -- links --

    def download_url(
        self,
        area: Area | str,
        key: str,
        *,
        filename: str | None = None,
        ttl: int | None = None,
    ) -> str:
        """A link anyone holding it can GET for `ttl` seconds (default DOWNLOAD_LINK_TTL_SECONDS,
        capped by STORAGE_MAX_DOWNLOAD_LINK_TTL_SECONDS). The response carries
        `Content-Disposition: attachment` with `filename` (default: the key's last segment).

        Raises QuarantineAccessDenied for the QUARANTINE area: raw uploads have no links.
        Authorising the buyer (licence, organisation) is the caller's job, on every request.
        """
        if as_area(area) is not Area.PUBLISHED:
            raise QuarantineAccessDenied("quarantine objects are never served by a link")
        validate_key(key)
        lifetime = resolve_ttl(
            ttl, default=int(settings.DOWNLOAD_LINK_TTL_SECONDS), cap=max_download_ttl()
        )
        return self._download_url(key, filename or key.rsplit("/", 1)[-1], lifetime)

    @abstractmethod
    def _download_url(self, key: str, filename: str, ttl: int) -> str: ...

    def upload_url(
        self,
        key: str,
        *,
        area: Area | str = Area.QUARANTINE,
        ttl: int | None = None,
        content_type: str | None = None,
    ) -> str:
        """A presigned PUT for a direct upload into QUARANTINE (the only area uploads may reach).

        When `content_type` is given the client must send exactly that Content-Type header.
        The size cannot be limited on a presigned PUT; use `upload_post` to enforce one.
        """
        self._check_upload_area(area)
        validate_key(key)
        lifetime = self._upload_ttl(ttl)
        return self._upload_url(key, lifetime, content_type)

    @abstractmethod
    def _upload_url(self, key: str, ttl: int, content_type: str | None) -> str: ...

    def upload_post(
        self,
        key: str,
        *,
        max_size: int,
        area: Area | str = Area.QUARANTINE,
        ttl: int | None = None,
        content_type: str | None = None,
    ) -> PresignedPost:
        """A presigned form POST into QUARANTINE whose size the store itself limits to
        `max_size` bytes (S3 `content-length-range`), so an oversized upload is refused before
        it is stored."""
        self._check_upload_area(area)
        validate_key(key)
        if max_size <= 0:
            raise StorageError("max_size must be positive")
        return self._upload_post(key, self._upload_ttl(ttl), max_size, content_type)

    @abstractmethod
    def _upload_post(
        self, key: str, ttl: int, max_size: int, content_type: str | None
    ) -> PresignedPost: ...

    # -- multipart direct uploads (always into QUARANTINE) --

    @abstractmethod
    def create_multipart(self, key: str, *, content_type: str | None = None) -> str:
        """Start a multipart upload into QUARANTINE; returns its upload id."""

    @abstractmethod
    def part_upload_url(
        self, key: str, upload_id: str, part_number: int, *, ttl: int | None = None
    ) -> str:
        """A presigned PUT for one part (1..10000); the response's ETag header names the part."""

    @abstractmethod
    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """Parts received so far, by part number: lets a client resume an interrupted upload."""

    @abstractmethod
    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> ObjectStat:
        """Assemble the parts [(part_number, etag), ...] in ascending order into the object."""

    @abstractmethod
    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Discard an upload and its parts (missing upload: not an error)."""

    # -- helpers for subclasses --

    @staticmethod
    def _check_upload_area(area: Area | str) -> None:
        if as_area(area) is not Area.QUARANTINE:
            raise AreaAccessDenied("direct uploads go to quarantine only; the pipeline publishes")

    @staticmethod
    def _upload_ttl(ttl: int | None) -> int:
        return resolve_ttl(ttl, default=int(settings.UPLOAD_LINK_TTL_SECONDS), cap=max_upload_ttl())

    @staticmethod
    def _check_upload_id(upload_id: str) -> str:
        if not isinstance(upload_id, str) or not upload_id or len(upload_id) > 1024:
            raise ObjectNotFound("no such multipart upload")
        return upload_id

    @staticmethod
    def _check_parts(parts: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
        checked = [(validate_part_number(n), normalise_etag(etag)) for n, etag in parts]
        if not checked:
            raise InvalidUpload("a multipart upload needs at least one part")
        numbers = [n for n, _ in checked]
        if numbers != sorted(set(numbers)):
            raise InvalidUpload("parts must be listed once each, in ascending order")
        return checked


def is_local_upload_id(upload_id: str) -> bool:
    return bool(_UPLOAD_ID.match(upload_id))


class ConcatenatedReader:
    """Reads several streams one after the other, opening each only when the one before it is
    used up, so at most one is open at a time; close() closes the open one (after a failure)."""

    def __init__(self, openers: Iterable[Callable[[], BinaryIO]]) -> None:
        self._openers = list(openers)
        self._current: BinaryIO | None = None

    def read(self, size: int = -1, /) -> bytes:
        size = COPY_CHUNK if size is None or size < 0 else size
        while True:
            if self._current is None:
                if not self._openers:
                    return b""
                self._current = self._openers.pop(0)()
            data = self._current.read(size)
            if data:
                return data
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def sha256_of(storage: ObjectStorage, area: Area | str, key: str) -> tuple[int, str]:
    """Size and SHA-256 of a stored object, in one streaming read."""
    digest = hashlib.sha256()
    size = 0
    with storage.open_read(area, key) as source:
        while block := source.read(COPY_CHUNK * 4):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()
