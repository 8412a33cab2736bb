"""Fetching a presigned link to disk and proving it is the published file.

The bytes are hashed while they stream into a hidden partial file next to the target; only a
file whose SHA-256 (and size) match what the API published is renamed into place. Anything
else is deleted, so a directory never holds a file that looks finished but is not.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from exchange.client.http import USER_AGENT, ClientError, TransportError

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


class ChecksumMismatch(ClientError):
    def __init__(self, name: str, expected: str, actual: str) -> None:
        super().__init__(f"{name}: SHA-256 {actual} does not match the published {expected}")
        self.name = name
        self.expected = expected
        self.actual = actual


class LinkExpired(ClientError):
    """The presigned link is no longer valid (HTTP 403/410): ask the API for a fresh one."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sha256: str


def safe_name(name: str, fallback: str) -> str:
    """A plain file name: no directories, no leading dots (the name comes from the server)."""
    base = _UNSAFE.sub("_", os.path.basename(name.replace("\\", "/"))).lstrip(".")
    return base or fallback


def fetch_verified(
    url: str,
    target: Path,
    *,
    expected_sha256: str,
    expected_size: int | None = None,
    timeout: float = 60.0,
) -> Downloaded:
    """Download `url` to `target`, keeping it only if its SHA-256 is `expected_sha256`."""
    partial = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    size = 0
    # No Authorization header: the link is its own credential, and it may point at another
    # host (an S3 store) that must never see the API key.
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,  # noqa: S310
            open(partial, "wb") as out,
        ):
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        partial.unlink(missing_ok=True)
        if exc.code in (403, 410):
            raise LinkExpired(f"{target.name}: the download link answered {exc.code}") from None
        raise TransportError(f"{target.name}: the download answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise TransportError(f"{target.name}: {getattr(exc, 'reason', exc)}") from None
    actual = digest.hexdigest()
    if actual != expected_sha256.lower() or (expected_size is not None and size != expected_size):
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(target.name, expected_sha256, actual)
    os.replace(partial, target)
    return Downloaded(path=target, size=size, sha256=actual)
