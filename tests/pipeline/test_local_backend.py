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
from listings.pipeline import services
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
