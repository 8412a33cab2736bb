"""Serve the local backend's signed links (the S3 backend's links go to the store directly).

A link is its own authorisation: the caller checked the buyer's licence before minting it, and
the signed token names exactly one published object and an expiry a few minutes away. Tampered
or foreign tokens answer 403, expired ones 410 Gone (so a client knows to ask for a new link).
Quarantine objects are unreachable here: download tokens only ever name a PUBLISHED key, and
the view reads from the PUBLISHED area whatever the token says.
"""

from __future__ import annotations

from typing import Any

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseForbidden,
    HttpResponseNotFound,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from . import get_storage
from .base import Area, InvalidKey, InvalidUpload, ObjectNotFound, StorageError
from .local import (
    DOWNLOAD_SALT,
    UPLOAD_SALT,
    LocalObjectStorage,
    TokenExpired,
    TokenInvalid,
    read_token,
)

# Form fields other than the file, plus multipart framing; anything beyond is refused unread.
_FORM_OVERHEAD = 64 * 1024


def _gone() -> HttpResponse:
    return HttpResponse("link expired\n", status=410, content_type="text/plain")


def _local() -> LocalObjectStorage | None:
    storage = get_storage()
    return storage if isinstance(storage, LocalObjectStorage) else None


def _payload(token: str, salt: str) -> dict[str, Any] | HttpResponse:
    try:
        return read_token(token, salt=salt)
    except TokenExpired:
        return _gone()
    except TokenInvalid:
        return HttpResponseForbidden("invalid link\n", content_type="text/plain")


@require_safe
def download(request: HttpRequest, token: str) -> HttpResponseBase:
    payload = _payload(token, DOWNLOAD_SALT)
    if isinstance(payload, HttpResponse):
        return payload
    storage = _local()
    if storage is None:
        return HttpResponseNotFound()
    try:
        fh = storage.open_read(Area.PUBLISHED, str(payload["k"]))
    except (ObjectNotFound, InvalidKey):
        return HttpResponseNotFound("no such object\n", content_type="text/plain")
    # Always an attachment: a published CSV or HTML file must never render in the site's origin.
    response = FileResponse(fh, as_attachment=True, filename=str(payload.get("f") or "download"))
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class _Limited:
    """Reads at most `limit` bytes, failing instead of silently truncating a larger body."""

    def __init__(self, source: HttpRequest, limit: int) -> None:
        self._source = source
        self._left = limit

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size if size is not None and size >= 0 else -1)
        self._left -= len(data)
        if self._left < 0:
            raise InvalidUpload("request body larger than declared")
        return data


def _content_length(request: HttpRequest) -> int | None:
    try:
        value = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


@csrf_exempt  # the signed token is the credential; there is no session to forge requests with
@require_http_methods(["PUT", "POST"])
def upload(request: HttpRequest, token: str) -> HttpResponseBase:
    payload = _payload(token, UPLOAD_SALT)
    if isinstance(payload, HttpResponse):
        return payload
    storage = _local()
    if storage is None:
        return HttpResponseNotFound()
    op, key = payload.get("op"), str(payload.get("k"))
    if (request.method == "POST") != (op == "post"):
        return HttpResponseForbidden("wrong method for this link\n", content_type="text/plain")
    expected_type = payload.get("ct")
    length = _content_length(request)
    try:
        if op == "post":
            return _form_upload(request, storage, key, int(payload["max"]), expected_type, length)
        if expected_type and request.META.get("CONTENT_TYPE") != expected_type:
            return HttpResponseForbidden("content type does not match the link\n")
        if length is None:
            return HttpResponse("Content-Length required\n", status=411)
        body = _Limited(request, length)
        if op == "put":
            info = storage.put_stream(Area.QUARANTINE, key, body, expected_type)
            etag = info.etag
        elif op == "part":
            etag = storage.write_part(key, str(payload["u"]), int(payload["n"]), body)
        else:
            return HttpResponseForbidden("invalid link\n", content_type="text/plain")
    except ObjectNotFound:
        return HttpResponseNotFound("no such upload\n", content_type="text/plain")
    except StorageError as error:
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain")
    response = HttpResponse(status=200)
    response["ETag"] = f'"{etag}"'
    return response


def _form_upload(
    request: HttpRequest,
    storage: LocalObjectStorage,
    key: str,
    max_size: int,
    expected_type: str | None,
    length: int | None,
) -> HttpResponseBase:
    if length is None:
        return HttpResponse("Content-Length required\n", status=411)
    if length > max_size + _FORM_OVERHEAD:
        return HttpResponse("upload too large\n", status=413)
    # Django spools files above FILE_UPLOAD_MAX_MEMORY_SIZE to disk: memory stays bounded.
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return HttpResponse("missing file field\n", status=400)
    if uploaded.size is None or uploaded.size > max_size:
        return HttpResponse("upload too large\n", status=413)
    if expected_type and request.POST.get("Content-Type") != expected_type:
        return HttpResponseForbidden("content type does not match the link\n")
    storage.put_stream(Area.QUARANTINE, key, uploaded, expected_type)
    return HttpResponse(status=204)
