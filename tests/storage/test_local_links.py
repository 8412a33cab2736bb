"""The local backend's signed Django links, through the test client.

exchange/urls.py mounts exchange.storage.urls at "storage/"; tests.storage.urls does the same so
these tests do not depend on the rest of the project's URLs.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from exchange.storage import Area, InvalidKey, InvalidUpload, ObjectNotFound, ObjectStorage
from exchange.storage.local import UPLOAD_SALT, LocalObjectStorage, sign_token

from .helpers import MiB, multipart_form

pytestmark = pytest.mark.urls("tests.storage.urls")


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_download_and_upload_links_work_then_expire(
    local_storage: ObjectStorage, client: Client
) -> None:
    local_storage.put_bytes(Area.PUBLISHED, "v1/data.csv", b"a,b\n")
    url = local_storage.download_url(Area.PUBLISHED, "v1/data.csv", filename="数据.csv", ttl=1)
    assert url.startswith("http://testserver/storage/download/")
    response = client.get(url)
    assert response.status_code == 200
    assert _body(response) == b"a,b\n"
    assert response["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%E6%95%B0%E6%8D%AE.csv" in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    assert client.head(url).status_code == 200
    upload = local_storage.upload_url("up/late.csv", ttl=1)
    time.sleep(1.2)
    assert client.get(url).status_code == 410
    assert client.put(upload, data=b"x", content_type="text/csv").status_code == 410
    assert not local_storage.exists(Area.QUARANTINE, "up/late.csv")


def test_tampered_or_foreign_tokens_refused(local_storage: ObjectStorage, client: Client) -> None:
    local_storage.put_bytes(Area.PUBLISHED, "v1/data.csv", b"a,b\n")
    url = local_storage.download_url(Area.PUBLISHED, "v1/data.csv")
    token = url.rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(reverse("storage:download", args=[tampered])).status_code == 403
    assert client.get(reverse("storage:download", args=["garbage"])).status_code == 403
    # An upload token is signed with another salt: it is no download link.
    upload_token = local_storage.upload_url("v1/data.csv").rsplit("/", 1)[1]
    assert client.get(reverse("storage:download", args=[upload_token])).status_code == 403
    # A download link cannot write.
    assert client.put(url, data=b"x").status_code == 405
    assert client.post(reverse("storage:upload", args=[token])).status_code == 403


def test_link_never_reaches_quarantine(local_storage: ObjectStorage, client: Client) -> None:
    local_storage.put_bytes(Area.QUARANTINE, "raw.csv", b"raw personal data")
    with pytest.raises(ObjectNotFound):
        local_storage.stat(Area.PUBLISHED, "raw.csv")
    # Even a validly signed token for that key only ever reads the published area.
    url = local_storage.download_url(Area.PUBLISHED, "raw.csv")
    assert client.get(url).status_code == 404


def test_view_is_off_for_s3_backend(
    local_storage: ObjectStorage, client: Client, settings: Any
) -> None:
    local_storage.put_bytes(Area.PUBLISHED, "f.csv", b"1")
    url = local_storage.download_url(Area.PUBLISHED, "f.csv")
    settings.STORAGE_BACKEND = "s3"
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"
    assert client.get(url).status_code == 404


def test_put_upload_link(local_storage: ObjectStorage, client: Client) -> None:
    url = local_storage.upload_url("up/one.csv", content_type="text/csv", ttl=60)
    response = client.put(url, data=b"x,y\n", content_type="text/csv")
    assert response.status_code == 200
    assert response["ETag"]
    with local_storage.open_read(Area.QUARANTINE, "up/one.csv") as fh:
        assert fh.read() == b"x,y\n"
    assert client.put(url, data=b"<html>", content_type="text/html").status_code == 403
    assert client.get(url).status_code == 405
    assert not local_storage.exists(Area.PUBLISHED, "up/one.csv")


def test_form_upload_enforces_size(local_storage: ObjectStorage, client: Client) -> None:
    post = local_storage.upload_post("up/form.bin", max_size=1000, ttl=60)
    body, content_type = multipart_form(post.fields, b"x" * 1000)
    assert client.post(post.url, data=body, content_type=content_type).status_code == 204
    assert local_storage.size(Area.QUARANTINE, "up/form.bin") == 1000

    post = local_storage.upload_post("up/too-big.bin", max_size=1000, ttl=60)
    body, content_type = multipart_form(post.fields, b"x" * 1001)
    assert client.post(post.url, data=body, content_type=content_type).status_code == 413
    assert not local_storage.exists(Area.QUARANTINE, "up/too-big.bin")


def test_multipart_direct_upload(local_storage: ObjectStorage, client: Client) -> None:
    key = "up/large.bin"
    upload_id = local_storage.create_multipart(key)
    chunks = [b"a" * (5 * MiB), b"b" * 1024]
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        url = local_storage.part_upload_url(key, upload_id, number, ttl=60)
        response = client.put(url, data=chunk, content_type="application/octet-stream")
        assert response.status_code == 200
        parts.append((number, response["ETag"]))
    assert [(p.part_number, p.size) for p in local_storage.list_parts(key, upload_id)] == [
        (1, 5 * MiB),
        (2, 1024),
    ]
    assert not local_storage.exists(Area.QUARANTINE, key)
    stat = local_storage.complete_multipart(key, upload_id, parts)
    assert stat.size == 5 * MiB + 1024
    assert local_storage.read_range(Area.QUARANTINE, key, 5 * MiB - 2, 4) == b"aabb"
    with pytest.raises(ObjectNotFound):
        local_storage.list_parts(key, upload_id)


def test_multipart_refusals(local_storage: ObjectStorage, client: Client) -> None:
    key = "up/small.bin"
    upload_id = local_storage.create_multipart(key)
    parts = []
    for number in (1, 2):
        url = local_storage.part_upload_url(key, upload_id, number)
        response = client.put(url, data=b"tiny", content_type="application/octet-stream")
        parts.append((number, response["ETag"]))
    with pytest.raises(InvalidUpload):  # parts before the last must be >= 5 MiB, as in S3
        local_storage.complete_multipart(key, upload_id, parts)
    with pytest.raises(InvalidUpload):
        local_storage.complete_multipart(key, upload_id, list(reversed(parts)))
    with pytest.raises(InvalidUpload):
        local_storage.complete_multipart(key, upload_id, [(1, "0" * 32)])
    assert local_storage.complete_multipart(key, upload_id, parts[1:]).size == 4
    # Another key, or a made-up upload id, does not reach this upload.
    with pytest.raises(ObjectNotFound):
        local_storage.list_parts("up/other.bin", upload_id)
    with pytest.raises(ObjectNotFound):
        local_storage.list_parts(key, "../../published")
    local_storage.abort_multipart(key, upload_id)


def test_upload_token_for_published_area_cannot_be_forged(
    local_storage: ObjectStorage, client: Client
) -> None:
    # Upload links always write to quarantine; a token naming another area is not honoured.
    token = sign_token({"op": "put", "k": "x.csv", "a": "published"}, salt=UPLOAD_SALT, ttl=60)
    assert client.put(reverse("storage:upload", args=[token]), data=b"1").status_code == 200
    assert local_storage.exists(Area.QUARANTINE, "x.csv")
    assert not local_storage.exists(Area.PUBLISHED, "x.csv")


def test_symlink_out_of_the_area_refused(local_storage: ObjectStorage, tmp_path: Any) -> None:
    assert isinstance(local_storage, LocalObjectStorage)
    outside = tmp_path / "outside"
    outside.mkdir()
    (local_storage.root / "published" / "link").symlink_to(outside)
    with pytest.raises(InvalidKey):
        local_storage.put_bytes(Area.PUBLISHED, "link/evil.txt", b"x")
    assert list(outside.iterdir()) == []
