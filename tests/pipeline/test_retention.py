"""Raw uploads leave quarantine: at once by default, after the retention period otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exchange.storage import Area, ObjectStorage
from listings.models import Listing, ListingVersion
from listings.pipeline.models import Upload
from listings.pipeline.runner import purge_expired_quarantine
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def finished_upload(storage: ObjectStorage, status: str, finished_ago: timedelta) -> Upload:
    membership = MembershipFactory(role="owner")
    listing = Listing.objects.create(seller=membership.organisation, title="t", category="other")
    version = ListingVersion.objects.create(listing=listing, number=1)
    upload = Upload.objects.create(
        version=version,
        organisation=membership.organisation,
        created_by=membership.user,
        display_name="a.csv",
        format="csv",
        declared_size=3,
        quarantine_key=f"uploads/{version.pk}/raw-{status}",
        status=status,
        finished_at=timezone.now() - finished_ago,
    )
    storage.put_bytes(Area.QUARANTINE, upload.quarantine_key, b"a,b")
    return upload


def test_expired_raw_uploads_are_purged_and_recent_ones_kept(local_storage, settings) -> None:
    settings.QUARANTINE_RETENTION_SECONDS = 3600
    old = finished_upload(local_storage, "published", timedelta(hours=2))
    rejected = finished_upload(local_storage, "rejected", timedelta(hours=3))
    recent = finished_upload(local_storage, "published", timedelta(minutes=5))
    assert purge_expired_quarantine() == 2
    assert not local_storage.exists(Area.QUARANTINE, old.quarantine_key)
    assert not local_storage.exists(Area.QUARANTINE, rejected.quarantine_key)
    assert local_storage.exists(Area.QUARANTINE, recent.quarantine_key)
    old.refresh_from_db()
    assert old.quarantine_purged_at is not None
    # A second run finds nothing left to do.
    assert purge_expired_quarantine() == 0


def test_unfinished_uploads_are_never_purged(local_storage, settings) -> None:
    settings.QUARANTINE_RETENTION_SECONDS = 0
    running = finished_upload(local_storage, "processing", timedelta(days=3))
    assert purge_expired_quarantine() == 0
    assert local_storage.exists(Area.QUARANTINE, running.quarantine_key)
