"""The browser's direct upload to a real S3 store (SeaweedFS) in presigned multipart: a ~12 MB
file goes in several parts with a progress bar that reaches 100 %, a part whose first PUT fails
is sent again on its own (the file is not restarted), and the parts assembled in quarantine are
the file, byte for byte, which the pipeline then publishes."""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from exchange.portal import demo
from exchange.storage import Area
from listings import services
from listings.models import ListingVersion
from listings.pipeline.models import Upload
from tests.portal.browser import PASSWORD, Actor
from tests.portal.factories import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
ROWS = 205_000

# Records the upload bar in sessionStorage, which outlives the reload after publishing.
PROGRESS_PROBE = """
document.addEventListener("DOMContentLoaded", function () {
  var bar = document.getElementById("upload-progress");
  if (!bar) { return; }
  new MutationObserver(function () {
    if (bar.max > 1) { sessionStorage.setItem("upload-progress", bar.value + "/" + bar.max); }
  }).observe(bar, {attributes: true});
});
"""


def _big_csv() -> bytes:
    """About 12 MB of synthetic records with one personal-data column (mobile numbers)."""
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["记录编号", "联系电话", "城市", "金额", "次数", "日期", "备注代码"])
    for n in range(ROWS):
        writer.writerow(
            [
                f"R{n:08d}",
                demo.mobile(rng),
                rng.choice(["北京", "上海", "深圳", "成都"]),
                f"{rng.randrange(100, 999999) / 100:.2f}",
                rng.randrange(0, 50),
                f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                f"C{rng.randrange(0, 10**6):06d}",
            ]
        )
    return out.getvalue().encode("utf-8")


@pytest.fixture
def s3_live(s3_storage: Any, settings: Any, live_server: Any) -> Iterator[Any]:
    settings.UPLOAD_MULTIPART_THRESHOLD = PART
    settings.UPLOAD_PART_BYTES = PART
    settings.QUARANTINE_RETENTION_SECONDS = 3600  # keep the raw upload to compare it
    settings.SITE_URL = live_server.url
    with demo.eager_pipeline():
        yield live_server


def test_multipart_upload_retries_a_failed_part_and_publishes(
    chromium: Any, s3_live: Any, s3_storage: Any, settings: Any
) -> None:
    seller = member("seller", "分片上传测试公司")
    seller.user.set_password(PASSWORD)
    seller.user.save()
    listing = services.create_listing(
        actor=seller.user,
        organisation=seller.organisation,
        title="大文件分片上传",
        category="transport",
        licence_family="commercial",
    )
    version = services.create_version(
        actor=seller.user, organisation=seller.organisation, listing=listing
    )
    data = _big_csv()
    assert 2 * PART < len(data) < 3 * PART  # three parts

    actor = Actor(chromium, s3_live, "en-US", "multipart")
    actor.watch.allowed_hosts.add(urlsplit(settings.S3_ENDPOINT_URL).netloc)
    page = actor.page
    page.add_init_script(PROGRESS_PROBE)
    puts: list[int] = []
    starts: list[str] = []
    page.on(
        "request",
        lambda r: (
            puts.append(int(parse_qs(urlsplit(r.url).query)["partNumber"][0]))
            if r.method == "PUT" and "partNumber=" in r.url
            else starts.append(r.url)
            if r.method == "POST" and r.url.endswith("/uploads/")
            else None
        ),
    )
    failed: list[str] = []

    def fail_part_two_once(route: Any) -> None:
        if not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*[?&]partNumber=2(&|$)"), fail_part_two_once)
    try:
        actor.login(seller.user.email)
        actor.go(f"/seller/versions/{version.pk}/")
        page.set_input_files(
            "#id_file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": data}]
        )
        page.click("#upload-button")
        # The page reloads once published; a transfer that gives up shows its error instead.
        page.wait_for_selector("#submit-review, #upload-error:not([hidden])", timeout=90_000)
        assert page.locator("#upload-error").is_hidden(), page.inner_text("#upload-error")
        page.wait_for_selector("#submit-review")
        assert page.evaluate("sessionStorage.getItem('upload-progress')") == (
            f"{len(data)}/{len(data)}"
        )
        actor.shot("multipart-published")
    finally:
        # The aborted PUT is logged by the browser; it is the failure this test injects.
        actor.watch.console_errors = [
            e for e in actor.watch.console_errors if "ERR_CONNECTION_RESET" not in e
        ]
        actor.close()

    assert len(failed) == 1
    assert sorted(puts) == [1, 2, 2, 3]  # part 2 twice, the others once: no restart
    assert len(starts) == 1
    upload = Upload.objects.get(version=version)
    assert upload.multipart_upload_id and upload.status == "published"
    assert upload.size == upload.declared_size == len(data)
    with s3_storage.open_read(Area.QUARANTINE, upload.quarantine_key) as raw:
        assembled = raw.read()
    assert len(assembled) == len(data)
    assert hashlib.sha256(assembled).hexdigest() == hashlib.sha256(data).hexdigest()
    version.refresh_from_db()
    assert version.pipeline_status == ListingVersion.PipelineStatus.PUBLISHED
    [published] = version.files.all()
    assert published.row_count == ROWS
