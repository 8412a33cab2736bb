"""Local folder backend: the embedded default (`make run`) and a fast test double.

Layout under STORAGE_LOCAL_ROOT:
    quarantine/<key>   published/<key>     the two areas
    .tmp/              files being written; same file system, so os.replace is atomic
    .multipart/<id>/   emulated multipart uploads: meta.json and <part>.<md5> files

Links are Django URLs carrying a token signed with SECRET_KEY (django.core.signing) that names
the key and an expiry time; exchange.storage.views checks them. Download tokens and upload
tokens use different salts, so one can never be replayed as the other.
"""

from __future__ import annotations

import contextlib
import io
import json
import mimetypes
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from django.core import signing
from django.urls import reverse

from .base import (
    COPY_CHUNK,
    MIN_PART_SIZE,
    Area,
    ConcatenatedReader,
    HashingReader,
    InvalidKey,
    InvalidUpload,
    ObjectChanged,
    ObjectInfo,
    ObjectNotFound,
    ObjectStat,
    ObjectStorage,
    PresignedPost,
    Readable,
    StorageError,
    UploadedPart,
    as_area,
    is_local_upload_id,
    max_download_ttl,
    max_upload_ttl,
    validate_key,
    validate_part_number,
    validate_prefix,
)

DOWNLOAD_SALT = "exchange.storage.local.download"
UPLOAD_SALT = "exchange.storage.local.upload"
_MD5_HEX_LEN = 32
_T = TypeVar("_T")


def sign_token(payload: dict[str, Any], *, salt: str, ttl: int) -> str:
    """A URL-safe signed token; the absolute expiry travels inside, signed with the rest."""
    return signing.dumps({**payload, "x": time.time() + ttl}, salt=salt, compress=True)


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def read_token(token: str, *, salt: str) -> dict[str, Any]:
    """The payload of a token made by sign_token; TokenInvalid or TokenExpired otherwise."""
    cap = max_upload_ttl() if salt == UPLOAD_SALT else max_download_ttl()
    try:
        # max_age re-checks the signing timestamp against the cap: even a token minted with a
        # wrong expiry (a bug, a changed setting) cannot outlive the cap.
        payload = signing.loads(token, salt=salt, max_age=cap + 1)
    except signing.SignatureExpired as error:
        raise TokenExpired from error
    except signing.BadSignature as error:
        raise TokenInvalid from error
    if not isinstance(payload, dict) or not isinstance(payload.get("x"), int | float):
        raise TokenInvalid
    if payload["x"] < time.time():
        raise TokenExpired
    return payload


def _fsync_dir(path: Path) -> None:
    # The rename itself must survive a crash, not only the file's bytes.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalObjectStorage(ObjectStorage):
    def __init__(self, root: Path | str, base_url: str = "") -> None:
        self.root = Path(root).resolve()
        self.base_url = base_url.rstrip("/")
        self._tmp = self.root / ".tmp"
        self._multipart = self.root / ".multipart"
        self.ensure_buckets()

    def ensure_buckets(self) -> None:
        for directory in (*(self.root / a.value for a in Area), self._tmp, self._multipart):
            directory.mkdir(parents=True, exist_ok=True)

    def allow_browser_uploads(self, origins: Sequence[str]) -> None:
        # Local upload links point at the site itself (exchange/storage/views.py): same origin.
        return None

    def __repr__(self) -> str:
        return f"LocalObjectStorage(root={str(self.root)!r})"

    # -- paths --

    def _area_root(self, area: Area | str) -> Path:
        return self.root / as_area(area).value

    def _path(self, area: Area | str, key: str) -> Path:
        validate_key(key)
        area_root = self._area_root(area)
        path = area_root.joinpath(*key.split("/"))
        # validate_key already forbids "..": this second check also catches a symlink planted
        # inside the area that would lead outside it.
        if not path.resolve().is_relative_to(area_root.resolve()):
            raise InvalidKey("object key escapes the storage area")
        return path

    def _write_atomically(self, target: Path, reader: Readable) -> int:
        """Copy reader into a temp file, fsync, then rename over target: all or nothing.

        Errors raised by `reader` (the caller's source) propagate unchanged; errors of our own
        file operations become StorageError.
        """
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        except OSError as error:
            raise StorageError(f"local storage write failed: {error.strerror}") from error
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read(COPY_CHUNK):
                    _checked(out.write, chunk)
                    written += len(chunk)
                _checked(out.flush)
                _checked(os.fsync, out.fileno())
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)
            except (NotADirectoryError, FileExistsError, IsADirectoryError) as error:
                raise StorageError("object key conflicts with an existing object's path") from error
            except OSError as error:
                raise StorageError(f"local storage write failed: {error.strerror}") from error
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(target.parent)
        return written

    @staticmethod
    def _etag(st: os.stat_result) -> str:
        return f"{st.st_mtime_ns:x}-{st.st_size:x}"

    # -- objects --

    def put_stream(
        self,
        area: Area | str,
        key: str,
        fileobj: Readable,
        content_type: str | None = None,
    ) -> ObjectInfo:
        target = self._path(area, key)
        reader = HashingReader(fileobj)
        self._write_atomically(target, reader)
        st = _checked(target.stat)
        return ObjectInfo(size=reader.size, sha256=reader.sha256.hexdigest(), etag=self._etag(st))

    def open_read(self, area: Area | str, key: str) -> BinaryIO:
        path = self._path(area, key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise ObjectNotFound(f"{as_area(area).value}: no such object") from error
        except OSError as error:
            raise StorageError(f"local storage read failed: {error.strerror}") from error

    def read_range(self, area: Area | str, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise StorageError("range start and length must not be negative")
        with self.open_read(area, key) as fh:
            fh.seek(start)
            return fh.read(length)

    def open_range(
        self, area: Area | str, key: str, start: int, length: int, *, if_match: str | None = None
    ) -> BinaryIO:
        if start < 0 or length < 0:
            raise StorageError("range start and length must not be negative")
        fh = self.open_read(area, key)
        # Writes replace the file (a new inode), so the open handle's ETag is that of the bytes
        # it will read, whatever is written under the key meanwhile.
        if if_match is not None and self._etag(os.fstat(fh.fileno())) != if_match:
            fh.close()
            raise ObjectChanged(f"{as_area(area).value}: the object changed")
        fh.seek(start)
        return io.BufferedReader(_Window(fh, length), buffer_size=COPY_CHUNK)

    def stat(self, area: Area | str, key: str) -> ObjectStat:
        path = self._path(area, key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as error:
            raise ObjectNotFound(f"{as_area(area).value}: no such object") from error
        if not path.is_file():
            raise ObjectNotFound(f"{as_area(area).value}: no such object")
        return ObjectStat(
            size=st.st_size,
            etag=self._etag(st),
            content_type=mimetypes.guess_type(key)[0],
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def delete(self, area: Area | str, key: str) -> None:
        path = self._path(area, key)
        area_root = self._area_root(area)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        # Prune emptied folders so the tree mirrors S3, where "folders" do not exist.
        parent = path.parent
        while parent != area_root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list_keys(self, area: Area | str, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        area_root = self._area_root(area)
        start = area_root.joinpath(*prefix.split("/")[:-1]) if "/" in prefix else area_root
        keys: list[str] = []
        for dirpath, _dirnames, filenames in os.walk(start):
            relative = Path(dirpath).relative_to(area_root).as_posix()
            for name in filenames:
                key = name if relative == "." else f"{relative}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        # S3 lists keys in UTF-8 byte order; sort the same way so callers see one behaviour.
        keys.sort(key=lambda k: k.encode("utf-8"))
        yield from keys

    # -- links --

    def _absolute(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _download_url(self, key: str, filename: str, ttl: int) -> str:
        token = sign_token({"k": key, "f": filename}, salt=DOWNLOAD_SALT, ttl=ttl)
        return self._absolute(reverse("storage:download", kwargs={"token": token}))

    def _upload_url(self, key: str, ttl: int, content_type: str | None) -> str:
        token = sign_token({"op": "put", "k": key, "ct": content_type}, salt=UPLOAD_SALT, ttl=ttl)
        return self._absolute(reverse("storage:upload", kwargs={"token": token}))

    def _upload_post(
        self, key: str, ttl: int, max_size: int, content_type: str | None
    ) -> PresignedPost:
        token = sign_token(
            {"op": "post", "k": key, "ct": content_type, "max": max_size},
            salt=UPLOAD_SALT,
            ttl=ttl,
        )
        url = self._absolute(reverse("storage:upload", kwargs={"token": token}))
        return PresignedPost(url=url, fields={"Content-Type": content_type} if content_type else {})

    # -- multipart, emulated with part files --

    def _upload_dir(self, key: str, upload_id: str) -> Path:
        validate_key(key)
        self._check_upload_id(upload_id)
        if not is_local_upload_id(upload_id):
            raise ObjectNotFound("no such multipart upload")
        directory = self._multipart / upload_id
        try:
            meta = json.loads((directory / "meta.json").read_text())
        except (OSError, ValueError) as error:
            raise ObjectNotFound("no such multipart upload") from error
        if meta.get("key") != key:
            raise ObjectNotFound("no such multipart upload")
        return directory

    def create_multipart(self, key: str, *, content_type: str | None = None) -> str:
        self._path(Area.QUARANTINE, key)
        upload_id = secrets.token_hex(16)
        directory = self._multipart / upload_id
        directory.mkdir()
        (directory / "meta.json").write_text(
            json.dumps({"key": key, "content_type": content_type, "created": time.time()})
        )
        return upload_id

    def part_upload_url(
        self, key: str, upload_id: str, part_number: int, *, ttl: int | None = None
    ) -> str:
        self._upload_dir(key, upload_id)
        validate_part_number(part_number)
        token = sign_token(
            {"op": "part", "k": key, "u": upload_id, "n": part_number},
            salt=UPLOAD_SALT,
            ttl=self._upload_ttl(ttl),
        )
        return self._absolute(reverse("storage:upload", kwargs={"token": token}))

    def write_part(self, key: str, upload_id: str, part_number: int, fileobj: Readable) -> str:
        """Store one part (the upload view calls this); returns its ETag (MD5, as S3 does)."""
        directory = self._upload_dir(key, upload_id)
        validate_part_number(part_number)
        reader = HashingReader(fileobj)
        staging = directory / f"{part_number:05d}.incoming-{secrets.token_hex(4)}"
        self._write_atomically(staging, reader)
        etag = reader.md5.hexdigest()
        try:
            os.replace(staging, directory / f"{part_number:05d}.{etag}")
        except OSError as error:
            with contextlib.suppress(OSError):
                staging.unlink()
            raise StorageError(f"local storage write failed: {error.strerror}") from error
        # A re-sent part replaces the earlier one, as in S3.
        for old in directory.glob(f"{part_number:05d}.*"):
            if old.name != f"{part_number:05d}.{etag}" and ".incoming-" not in old.name:
                with contextlib.suppress(OSError):
                    old.unlink()
        return etag

    def _part_files(self, directory: Path) -> dict[int, Path]:
        parts: dict[int, Path] = {}
        for path in directory.iterdir():
            number, _, etag = path.name.partition(".")
            if number.isdigit() and len(etag) == _MD5_HEX_LEN:
                current = parts.get(int(number))
                if current is None or path.stat().st_mtime_ns > current.stat().st_mtime_ns:
                    parts[int(number)] = path
        return parts

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        directory = self._upload_dir(key, upload_id)
        return [
            UploadedPart(part_number=n, etag=p.name.partition(".")[2], size=p.stat().st_size)
            for n, p in sorted(self._part_files(directory).items())
        ]

    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> ObjectStat:
        directory = self._upload_dir(key, upload_id)
        checked = self._check_parts(parts)
        files: list[Path] = []
        for index, (number, etag) in enumerate(checked):
            path = directory / f"{number:05d}.{etag}"
            if len(etag) != _MD5_HEX_LEN or not path.is_file():
                raise InvalidUpload(f"part {number} was not uploaded with that ETag")
            if index < len(checked) - 1 and path.stat().st_size < MIN_PART_SIZE:
                raise InvalidUpload(f"part {number} is smaller than {MIN_PART_SIZE} bytes")
            files.append(path)
        target = self._path(Area.QUARANTINE, key)
        concatenation = ConcatenatedReader(_opener(path) for path in files)
        try:
            self._write_atomically(target, concatenation)
        except OSError as error:  # reading a part file
            raise StorageError(f"local storage read failed: {error.strerror}") from error
        finally:
            concatenation.close()
        shutil.rmtree(directory, ignore_errors=True)
        return self.stat(Area.QUARANTINE, key)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            directory = self._upload_dir(key, upload_id)
        except ObjectNotFound:
            return
        shutil.rmtree(directory, ignore_errors=True)


def _checked(operation: Callable[..., _T], *args: Any) -> _T:
    """Run one of our own file operations, turning OSError into StorageError."""
    try:
        return operation(*args)
    except OSError as error:
        raise StorageError(f"local storage write failed: {error.strerror}") from error


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


class _Window(io.RawIOBase):
    """At most `length` bytes of an open file from its current position; closes the file."""

    def __init__(self, fh: BinaryIO, length: int) -> None:
        super().__init__()
        self._fh = fh
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._fh.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()
