"""Uploads through the real pipeline: API → presigned PUT into SeaweedFS → Celery worker on
Redis → published object, with the version recording files, schema, sample and report."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time
import urllib.request
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rest_framework.test import APIClient

from exchange.audit.verify import verify_chain
from exchange.storage import Area, ObjectStorage
from listings.models import Listing, ListingVersion
from listings.pipeline.models import ChunkResult, Upload
from listings.pipeline.tasks import process_upload
from tests.factories import MembershipFactory
from tests.pipeline.conftest import worker_children
from tests.pipeline.synthetic import identifiers, people

pytestmark = [pytest.mark.s3, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller(pipeline_storage: ObjectStorage) -> Any:
    membership = MembershipFactory(role="owner", organisation__kind="seller")
    listing = Listing.objects.create(
        seller=membership.organisation, title="门诊记录", category="medical"
    )
    version = ListingVersion.objects.create(listing=listing, number=1)
    client = APIClient()
    client.force_login(membership.user)
    return client, version


def upload_bytes(
    client: APIClient, version: ListingVersion, filename: str, data: bytes, language: str = ""
) -> str:
    start = client.post(
        f"/api/v1/listings/{version.listing_id}/versions/{version.number}/uploads/",
        {"filename": filename, "size": len(data)},
        format="json",
        **({"HTTP_ACCEPT_LANGUAGE": language} if language else {}),
    )
    assert start.status_code == 201, start.content
    body = start.json()
    instructions = body["instructions"]
    if instructions["method"] == "PUT":
        request = urllib.request.Request(instructions["url"], data=data, method="PUT")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        parts = None
    else:
        size = instructions["part_size"]
        parts = []
        for part in instructions["parts"]:
            n = part["part_number"]
            chunk = data[(n - 1) * size : n * size]
            request = urllib.request.Request(part["url"], data=chunk, method="PUT")
            with urllib.request.urlopen(request, timeout=30) as response:
                parts.append({"part_number": n, "etag": response.headers["ETag"]})
    complete = client.post(
        f"/api/v1/uploads/{body['upload']['id']}/complete/",
        {"parts": parts} if parts else {},
        format="json",
    )
    assert complete.status_code == 200, complete.content
    return body["upload"]["id"]


def wait_finished(client: APIClient, upload_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/v1/uploads/{upload_id}/").json()
        if state["status"] in ("published", "rejected", "failed"):
            return state
        time.sleep(0.3)
    raise AssertionError(f"upload still {state['status']} at stage {state['stage']}")


def published_keys(storage: ObjectStorage) -> list[str]:
    return list(storage.list_keys(Area.PUBLISHED))


def read_published(storage: ObjectStorage) -> bytes:
    keys = published_keys(storage)
    assert len(keys) == 1, keys
    with storage.open_read(Area.PUBLISHED, keys[0]) as f:
        return f.read()


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def assert_clean(published: bytes, rows: list[dict[str, str]]) -> None:
    text = published.decode("utf-8", errors="replace")
    leaked = [value for value in identifiers(rows) if value in text]
    assert leaked == [], f"{len(leaked)} identifiers survived"
    # What the buyer pays for survives: diagnoses and visit numbers are untouched.
    assert all(r["就诊编号"] in text for r in rows[:50])


def test_gbk_csv_is_published_clean_with_its_report(seller, pipeline_storage) -> None:
    client, version = seller
    rows = people(5000)
    data = csv_bytes(rows, "gbk")
    assert len(data) > 256 * 1024  # large enough to be split into chunks
    upload_id = wait_finished(client, upload_bytes(client, version, "门诊.csv", data), 120)["id"]
    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == "published", upload.error_reason
    assert upload.chunks_total > 1
    assert_clean(read_published(pipeline_storage), rows)
    version.refresh_from_db()
    assert version.pipeline_status == "published" and version.row_count == 5000
    assert [f["name"] for f in version.table_schema["fields"]][:2] == ["患者姓名", "身份证号"]
    assert len(version.sample_rows) == 20
    assert not identifiers(rows) & {str(v) for r in version.sample_rows for v in r.values()}
    classes = {c["name"]: c["classification"] for c in version.cleaning_report["columns"]}
    assert classes["身份证号"] == "identifier" and classes["诊断"] != "identifier"
    file = version.files.get()
    assert file.sha256 and file.size == len(read_published(pipeline_storage))
    # The raw upload and the work objects have left quarantine.
    assert list(pipeline_storage.list_keys(Area.QUARANTINE)) == []
    assert verify_chain().ok


def test_jsonl_is_published_clean(seller, pipeline_storage) -> None:
    client, version = seller
    rows = people(200, seed=11)
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    state = wait_finished(client, upload_bytes(client, version, "records.jsonl", data))
    assert state["status"] == "published", state["error_reason"]
    assert_clean(read_published(pipeline_storage), rows)


def test_parquet_is_published_clean(seller, pipeline_storage, tmp_path) -> None:
    client, version = seller
    rows = people(300, seed=12)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    state = wait_finished(client, upload_bytes(client, version, "t.parquet", path.read_bytes()))
    assert state["status"] == "published", state["error_reason"]
    out = tmp_path / "out.parquet"
    out.write_bytes(read_published(pipeline_storage))
    published = pq.read_table(out).to_pylist()
    assert len(published) == 300
    assert_clean(json.dumps(published, ensure_ascii=False).encode(), rows)


def test_multipart_upload_of_a_large_file(seller, pipeline_storage, settings) -> None:
    client, version = seller
    settings.UPLOAD_PART_BYTES = 5 * 1024 * 1024  # S3's minimum part size
    settings.UPLOAD_MULTIPART_THRESHOLD = 5 * 1024 * 1024 + 1
    rows = people(100_000, seed=13)
    data = csv_bytes(rows)
    assert len(data) > settings.UPLOAD_MULTIPART_THRESHOLD
    state = wait_finished(client, upload_bytes(client, version, "big.csv", data), 240)
    assert state["status"] == "published", state["error_reason"]
    assert state["size"] == len(data)


ADVERSARIAL = {
    "exe.csv": (b"MZ\x90\x00" + b"\x00" * 4000, "bad_magic"),
    "unclosed.csv": (b'a,b\n1,"2\n3,4\n', "unclosed_quote"),
    "nul.csv": (b"a,b\n1,\x002\n", "nul_byte"),
    "bad-utf8.csv": (b"a,b\n1,\xff\xfe\x81\n", "encoding"),
    "wide.csv": ((",".join(f"c{i}" for i in range(100_000)) + "\n").encode(), "too_many_columns"),
    "huge-field.csv": (b"a,b\n1," + b"x" * (10 * 1024 * 1024) + b"\n", "field_too_large"),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_files_are_rejected_and_nothing_published(
    seller, pipeline_storage, name
) -> None:
    client, version = seller
    data, code = ADVERSARIAL[name]
    state = wait_finished(client, upload_bytes(client, version, name, data))
    assert state["status"] == "rejected" and state["error_code"] == code, state
    assert state["error_reason"]
    assert published_keys(pipeline_storage) == []
    version.refresh_from_db()
    assert version.pipeline_status == "failed" and version.files.count() == 0


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "has 1 fields; the header has 2 (row 3)"),
        ("zh-hans", "有 1 个字段；表头有 2 个 (第 3 行)"),
    ],
)
def test_a_refusal_is_worded_in_the_uploaders_language(
    seller, pipeline_storage, language, expected
) -> None:
    # The workers have no request: they speak the language the upload was registered in.
    client, version = seller
    data = "姓名,电话\n张三,13800000000\n李四\n".encode()
    state = wait_finished(client, upload_bytes(client, version, "a.csv", data, language))
    assert (state["status"], state["error_code"]) == ("rejected", "ragged_row"), state
    assert state["error_reason"] == expected


def test_a_refused_registration_speaks_the_request_language(seller, pipeline_storage) -> None:
    client, version = seller
    url = f"/api/v1/listings/{version.listing_id}/versions/{version.number}/uploads/"
    body = {"filename": "a.exe", "size": 10}
    english = client.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert english.status_code == chinese.status_code == 400
    assert "files of type .exe are not accepted" in english.content.decode()
    assert "不接受 .exe 类型的文件" in chinese.content.decode()
    assert not version.uploads.exists()


def test_zip_bomb_is_rejected(seller, pipeline_storage) -> None:
    import zipfile

    client, version = seller
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("d.csv", b"a\n" + b"0" * (60 * 1024 * 1024))
    state = wait_finished(client, upload_bytes(client, version, "bomb.zip", buffer.getvalue()))
    assert state["status"] == "rejected" and state["error_code"] == "zip_bomb"
    assert published_keys(pipeline_storage) == []


def test_formula_cells_are_neutralised_in_the_published_csv(seller, pipeline_storage) -> None:
    client, version = seller
    data = '备注,金额\n=HYPERLINK("http://x"),-12.5\n@SUM(A1),3\n+cmd,4\n'.encode()
    state = wait_finished(client, upload_bytes(client, version, "f.csv", data))
    assert state["status"] == "published", state["error_reason"]
    cells = list(csv.reader(io.StringIO(read_published(pipeline_storage).decode("utf-8-sig"))))
    remarks = [row[0] for row in cells[1:]]
    assert all(cell.startswith("'") for cell in remarks), remarks
    assert next(row[1] for row in cells[1:]) == "-12.5"  # a negative number is data, not a formula


def test_hostile_file_name_never_reaches_a_key(seller, pipeline_storage) -> None:
    client, version = seller
    rows = people(20, seed=3)
    state = wait_finished(client, upload_bytes(client, version, "../../x.csv", csv_bytes(rows)))
    assert state["status"] == "published" and state["display_name"] == "x.csv"
    (key,) = published_keys(pipeline_storage)
    assert ".." not in key and key.startswith(f"datasets/{version.listing_id}/v1/")


def test_a_worker_killed_mid_anonymisation_still_publishes_exactly_once(
    seller, pipeline_storage, pipeline_worker
) -> None:
    client, version = seller
    rows = people(6000, seed=21)
    upload_id = upload_bytes(client, version, "kill.csv", csv_bytes(rows))
    deadline = time.monotonic() + 60
    while Upload.objects.get(pk=upload_id).stage != "anonymise":
        assert time.monotonic() < deadline, "never reached the anonymise stage"
        time.sleep(0.05)
    for pid in worker_children(pipeline_worker):
        os.kill(pid, signal.SIGKILL)
    state = wait_finished(client, upload_id, 180)
    assert state["status"] == "published", state
    assert len(published_keys(pipeline_storage)) == 1
    upload = Upload.objects.get(pk=upload_id)
    assert ChunkResult.objects.filter(upload=upload).count() == upload.chunks_total
    assert_clean(read_published(pipeline_storage), rows)


def test_the_same_task_delivered_twice_gives_one_set_of_outputs(seller, pipeline_storage) -> None:
    client, version = seller
    rows = people(1500, seed=31)
    upload_id = upload_bytes(client, version, "twice.csv", csv_bytes(rows))
    process_upload.apply_async(args=[upload_id])  # a duplicate delivery of the same job
    state = wait_finished(client, upload_id, 120)
    assert state["status"] == "published"
    time.sleep(1.0)  # let any straggling duplicate finish
    assert len(published_keys(pipeline_storage)) == 1
    version.refresh_from_db()
    assert version.files.count() == 1
    assert Upload.objects.get(pk=upload_id).chunks.count() == state["chunks_total"]


def test_chunks_cut_by_byte_range_publish_every_row_once_in_order(seller, pipeline_storage) -> None:
    # A BOM, CRLF line ends and notes with quoted line breaks, commas and quotes, over many
    # chunks: the published file has one header and every record once, in the upload's order.
    client, version = seller
    rows = people(10000, seed=41)
    notes = ["复诊\n注意血压", 'says "ok", fine', "", "普通"]
    for i, row in enumerate(rows):
        row["备注"] = notes[i % len(notes)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    data = b"\xef\xbb\xbf" + out.getvalue().encode()
    upload_id = wait_finished(client, upload_bytes(client, version, "notes.csv", data), 120)["id"]
    upload = Upload.objects.get(pk=upload_id)
    assert upload.status == "published", upload.error_reason
    assert upload.chunks_total >= 3  # a first, a middle and a last chunk
    published = list(
        csv.DictReader(io.StringIO(read_published(pipeline_storage).decode("utf-8-sig")))
    )
    assert [r["就诊编号"] for r in published] == [r["就诊编号"] for r in rows]
    assert [r["备注"] for r in published] == [r["备注"] for r in rows]
    version.refresh_from_db()
    assert version.row_count == 10000
    assert version.files.get().size == len(read_published(pipeline_storage))
