"""`manage.py storage_setup` against real SeaweedFS: buckets created, and browsers from the
site's origin (only) allowed to PUT into quarantine and read the ETag, checked by a real
CORS preflight."""

from __future__ import annotations

import urllib.request
import uuid
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from exchange.storage import Area, ObjectStorage, get_storage, reset_storage_cache


def _preflight(url: str, origin: str) -> dict[str, str]:
    request = urllib.request.Request(
        url,
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return {k.lower(): v for k, v in error.headers.items()}


def test_storage_setup_creates_buckets_and_allows_the_site_origin(
    s3_storage: ObjectStorage, settings: Any
) -> None:
    # Fresh bucket names: the command must create them, not the fixture.
    suffix = uuid.uuid4().hex[:10]
    settings.S3_QUARANTINE_BUCKET = f"setup-q-{suffix}"
    settings.S3_PUBLISHED_BUCKET = f"setup-p-{suffix}"
    settings.SITE_URL = "https://data.example.test/"
    settings.CSRF_TRUSTED_ORIGINS = ["https://trade.example.test"]
    reset_storage_cache()
    storage = get_storage()
    try:
        out = StringIO()
        call_command("storage_setup", "--origin", "http://127.0.0.1:8000", stdout=out)
        call_command("storage_setup", stdout=StringIO())  # idempotent
        storage.put_bytes(Area.QUARANTINE, "probe", b"x")
        assert storage.browser_upload_origins() == [
            "https://data.example.test",
            "https://trade.example.test",
        ]
        assert "https://data.example.test" in out.getvalue()
        link = storage.upload_url("browser-upload", ttl=60)
        allowed = _preflight(link, "https://data.example.test")
        assert allowed.get("access-control-allow-origin") in ("https://data.example.test", "*")
        refused = _preflight(link, "https://evil.example.test")
        assert refused.get("access-control-allow-origin") != "https://evil.example.test"
    finally:
        storage.destroy_buckets()
        reset_storage_cache()


@pytest.mark.django_db
def test_storage_setup_on_local_storage_is_a_no_op_for_cors(local_storage: ObjectStorage) -> None:
    out = StringIO()
    call_command("storage_setup", stdout=out)
    assert "storage ready (local)" in out.getvalue()
