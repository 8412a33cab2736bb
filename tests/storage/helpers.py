"""Small tools shared by the storage tests: plain HTTP with no credentials, generated data."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from email.message import Message

MiB = 1024 * 1024


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes


def http(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """One request with urllib: no SDK, no credentials, exactly what a buyer's browser sends."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url[:40]}")
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def multipart_form(fields: dict[str, str], file_data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields` then the file in a field named "file"."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += file_data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class GeneratedStream:
    """`size` pseudo-random bytes produced on demand: a large upload that never sits in memory.

    `fail_after` makes the source break part-way, like a client that disconnects.
    """

    def __init__(self, size: int, seed: bytes = b"seed", fail_after: int | None = None) -> None:
        self.size = size
        self.position = 0
        self.fail_after = fail_after
        self._block = hashlib.sha256(seed).digest() * 2048  # 64 KiB pattern
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        if self.fail_after is not None and self.position >= self.fail_after:
            raise ConnectionResetError("source went away")
        left = self.size - self.position
        if size is None or size < 0:
            size = left
        size = min(size, left, 1 * MiB)
        offset = self.position % len(self._block)
        data = (self._block[offset:] + self._block)[:size]
        self.position += len(data)
        self.sha256.update(data)
        return data


def expected_sha256(size: int, seed: bytes = b"seed") -> str:
    stream = GeneratedStream(size, seed)
    while stream.read(MiB):
        pass
    return stream.sha256.hexdigest()
