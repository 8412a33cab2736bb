"""The pipeline on the local-folder backend (`make run`, no S3): chunks read by byte range from
the stored upload, outputs joined into one published file, all in-process."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import pytest

from exchange.portal.demo import eager_pipeline
from exchange.storage import Area, ObjectStorage
from listings.models import Listing, ListingVersion
from listings.pipeline import runner, services, tasks
from listings.pipeline.models import Upload
from tests.factories import MembershipFactory
from tests.pipeline.synthetic import identifiers, people

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def version(local_storage: ObjectStorage, settings: Any) -> tuple[Any, ListingVersion]:
    settings.PIPELINE_CHUNK_BYTES = 32 * 1024
    membership = MembershipFactory(role="owner", organisation__kind="seller")
    listing = Listing.objects.create(
        seller=membership.organisation, title="门诊", category="medical"
    )
    return membership, ListingVersion.objects.create(listing=listing, number=1)


def test_a_multi_chunk_gbk_csv_publishes_once_on_the_local_backend(
    local_storage: ObjectStorage, version: tuple[Any, ListingVersion]
) -> None:
    membership, listing_version = version
    rows = people(3000, seed=51)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = out.getvalue().encode("gbk")
    with eager_pipeline():
        upload = services.receive_small_upload(
            actor=membership.user,
            organisation=membership.organisation,
            version=listing_version,
            filename="门诊.csv",
            fileobj=io.BytesIO(data),
            size=len(data),
        )
    upload = Upload.objects.get(pk=upload.pk)
    assert upload.status == "published", upload.error_reason
    assert upload.chunks_total > 3
    (key,) = list(local_storage.list_keys(Area.PUBLISHED))
    with local_storage.open_read(Area.PUBLISHED, key) as f:
        published = f.read()
    text = published.decode("utf-8")
    assert not [value for value in identifiers(rows) if value in text]
    records = list(csv.DictReader(io.StringIO(text)))
    assert [r["就诊编号"] for r in records] == [r["就诊编号"] for r in rows]
    file = listing_version.files.get()
    assert (file.size, file.sha256) == (len(published), hashlib.sha256(published).hexdigest())
    assert list(local_storage.list_keys(Area.QUARANTINE)) == []


def test_a_file_replaced_after_validation_is_rejected_and_nothing_published(
    local_storage: ObjectStorage, version: tuple[Any, ListingVersion]
) -> None:
    # Chunks read their range of the stored upload after validation; a seller whose upload link
    # is still valid must not be able to swap in bytes nobody validated.
    membership, listing_version = version
    rows = people(2000, seed=52)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    upload = Upload.objects.create(
        language="en",  # its refusal is read below
        version=listing_version,
        organisation=membership.organisation,
        created_by=membership.user,
        display_name="门诊.csv",
        format="csv",
        declared_size=len(out.getvalue().encode()),
        quarantine_key=f"uploads/{listing_version.pk}/swapped",
        status=Upload.Status.UPLOADED,
    )
    local_storage.put_bytes(Area.QUARANTINE, upload.quarantine_key, out.getvalue().encode())
    assert services.claim(str(upload.pk))
    chunks = runner.prepare(Upload.objects.select_related("version").get(pk=upload.pk))
    assert chunks > 1
    swapped = "姓名,备注\n" + "".join(f"{r['患者姓名']},{r['联系电话']}\n" for r in rows)
    local_storage.put_bytes(Area.QUARANTINE, upload.quarantine_key, swapped.encode())
    tasks.clean_chunk.apply(args=[str(upload.pk), 1])
    tasks.publish_upload.apply(args=[str(upload.pk)])
    upload.refresh_from_db()
    assert (upload.status, upload.error_code) == ("rejected", "changed"), upload.error_reason
    assert "replaced" in upload.error_reason
    assert list(local_storage.list_keys(Area.PUBLISHED)) == []
