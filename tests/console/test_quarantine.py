"""No console page or action ever shows a quarantine object: no key, no bucket, no link."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.console.conftest import client_for
from tests.console.factories import CHUNK_OUTPUT_KEY, QUARANTINE_KEY, WEBHOOK_SECRET, Platform

pytestmark = pytest.mark.django_db


def console_pages(platform: Platform) -> Iterator[str]:
    yield reverse("admin:index")
    yield reverse("admin:console_review_queue")
    yield reverse("admin:console_review", args=[platform.submitted.pk])
    yield reverse("admin:console_exports")
    yield reverse("admin:console_audit_verify")
    for key, pk in [
        ("dispute-resolve", platform.dispute.pk),
        ("organisation-freeze", platform.seller.organisation.pk),
    ]:
        yield reverse("admin:console_object_action", args=[key, pk])
    for model in admin.site._registry:
        opts = model._meta
        yield reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        for obj in model._default_manager.order_by("pk")[:1]:
            yield reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


FORBIDDEN = [
    QUARANTINE_KEY,
    CHUNK_OUTPUT_KEY,
    "mpu-console-secret",  # the multipart upload id addresses the raw object too
    settings.S3_QUARANTINE_BUCKET,
    "/storage/upload/",  # signed local links into quarantine
    "quarantine_key",
    WEBHOOK_SECRET,  # and secrets generally
]


def test_no_page_shows_a_quarantine_object(platform: Platform) -> None:
    # A platform administrator sees the most (editable forms included); the regulator's view of
    # every list and detail is checked the same way in test_permissions.
    from tests.factories import UserFactory

    client: Client = client_for(UserFactory(is_staff=True, is_superuser=True))
    seen = 0
    # Encrypted or not, the webhook secret is no business of a console page.
    forbidden = [*FORBIDDEN, platform.webhook_endpoint.secret_ciphertext, "secret_ciphertext"]
    for url in console_pages(platform):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for needle in forbidden:
            assert needle not in html, f"{url} shows {needle!r}"
        seen += 1
    assert seen > 30


def test_upload_page_shows_the_failure_not_the_file(platform: Platform) -> None:
    html = (
        client_for(platform.regulator)
        .get(reverse("admin:pipeline_upload_change", args=[platform.upload.pk]))
        .content.decode()
    )
    assert "worker_lost" in html and "客户名单.csv" in html
    assert QUARANTINE_KEY not in html
