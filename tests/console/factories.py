"""A synthetic platform with at least one row of every model the console shows, built through the
services where they exist (so the audit trail is real) and as plain rows where they do not."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.utils import timezone

from exchange.ledger.models import IdempotencyRecord, Withdrawal
from exchange.participants import services as participants
from exchange.participants.models import Membership, Organisation, User
from exchange.trading import services as trading
from exchange.trading.models import (
    Dispute,
    DownloadLink,
    Notification,
    Order,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from licensing.models import DownloadDecision, LicenceSeat
from listings.models import ListingVersion
from listings.pipeline.models import ChunkResult, Upload
from tests.factories import OrganisationFactory, regulator
from tests.trading.factories import Market, member

QUARANTINE_KEY = "uploads/console-test/raw-0f3c9e-quarantine-secret.csv"
CHUNK_OUTPUT_KEY = "work/console-test/v1/out-00000.csv"
WEBHOOK_SECRET = "whsec-console-test-secret"

CLEANING_REPORT: dict[str, Any] = {
    "engine": "listings.cleaning",
    "engine_version": "test",
    "rows": 3,
    "columns": [
        {
            "name": "身份证号",
            "classification": "identifier",
            "type": "resident_id",
            "transform": "pseudonymise",
            "counts": {"non_empty_cells": 3, "changed_cells": 3},
        },
        {
            "name": "手机",
            "classification": "identifier",
            "type": "mobile",
            "transform": "pseudonymise",
            "counts": {"non_empty_cells": 2, "changed_cells": 2},
        },
        {
            "name": "备注",
            "classification": "free_text",
            "type": None,
            "transform": "scan",
            "counts": {"non_empty_cells": 3, "changed_cells": 1, "findings": {"mobile": 1}},
        },
    ],
    "free_text_findings": {"mobile": 1, "email": 2},
    "k_anonymity": [],
}
TABLE_SCHEMA = {
    "fields": [
        {"name": "身份证号", "type": "string"},
        {"name": "手机", "type": "string"},
        {"name": "备注", "type": "string"},
    ]
}
SAMPLE = [
    {"身份证号": "pid_7f3a", "手机": "pm_19c2", "备注": "已联系"},
    {"身份证号": "pid_0b11", "手机": "", "备注": "=HYPERLINK(x)"},
]


class Platform:
    """Everything at once: a market with a disputed order, a submitted version, a failed run."""

    def __init__(self) -> None:
        self.market = Market(None)
        self.ops: User = self.market.ops
        self.regulator: User = regulator()
        self.plan = self.market.plan(price_fen=200_00)
        self.buyer = self.market.buyer(funds_fen=2_000_00)
        self.delivered: Order = self.market.delivered(self.buyer, self.plan)
        self.disputed: Order = self.market.delivered(self.buyer, self.plan)
        self.dispute: Dispute = trading.open_dispute(
            actor=self.buyer.user,
            organisation=self.buyer.organisation,
            order=self.disputed,
            reason="文件缺少说明中承诺的字段。",
        )
        self.pending_org: Organisation = OrganisationFactory(status="pending")  # type: ignore[assignment]
        self.api_key = participants.create_api_key(
            actor=self.buyer.user,
            organisation=self.buyer.organisation,
            name="CI robot",
            scopes=["read"],
        ).key
        self.submitted = self.submitted_version()
        self.upload = self.failed_upload(self.submitted)
        self.extra_rows()

    @property
    def seller(self) -> Membership:
        return self.market.seller

    def submitted_version(self) -> ListingVersion:
        return ListingVersion.objects.create(
            listing=self.market.listing,
            number=2,
            status=ListingVersion.Status.SUBMITTED,
            pipeline_status=ListingVersion.PipelineStatus.PUBLISHED,
            published_at=timezone.now() - timedelta(hours=2),
            submitted_at=timezone.now() - timedelta(hours=1),
            table_schema=TABLE_SCHEMA,
            row_count=3,
            sample_rows=SAMPLE,
            cleaning_report=CLEANING_REPORT,
            engine_version="test",
        )

    def failed_upload(self, version: ListingVersion) -> Upload:
        upload = Upload.objects.create(
            version=version,
            organisation=self.seller.organisation,
            created_by=self.seller.user,
            display_name="客户名单.csv",
            format="csv",
            declared_size=1234,
            quarantine_key=QUARANTINE_KEY,
            multipart_upload_id="mpu-console-secret",
            status=Upload.Status.FAILED,
            stage=Upload.Stage.ANONYMISE,
            error_code="worker_lost",
            error_reason="the worker stopped",
        )
        ChunkResult.objects.create(upload=upload, index=0, output_key=CHUNK_OUTPUT_KEY, report={})
        return upload

    def extra_rows(self) -> None:
        """Rows no service in this scenario happens to create."""
        now = timezone.now()
        order = self.delivered
        licence = order.licence
        assert licence is not None
        version = self.market.v1
        file = version.files.first()
        DownloadLink.objects.get_or_create(
            order=order,
            licence=licence,
            version=version,
            file=file,
            organisation=self.buyer.organisation,
            user=self.buyer.user,
            defaults={"issued_at": now, "expires_at": now + timedelta(minutes=5)},
        )
        LicenceSeat.objects.get_or_create(
            licence=licence, user=self.buyer.user, defaults={"first_download_at": now}
        )
        DownloadDecision.objects.create(
            decided_at=now,
            organisation=self.buyer.organisation,
            version=version,
            licence=licence,
            allowed=True,
            reason="ok",
        )
        Notification.objects.create(
            organisation=self.buyer.organisation,
            kind=Notification.Kind.VERSION_PUBLISHED,
            order=order,
            version=version,
            message="新版本已发布",
        )
        endpoint = WebhookEndpoint(
            organisation=self.buyer.organisation,
            url="https://hooks.example.test/exchange",
            events=["order.settled"],
        )
        endpoint.set_secret(WEBHOOK_SECRET)
        endpoint.save()
        self.webhook_endpoint = endpoint
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event="order.settled",
            payload={"order": {"id": order.pk}},
            next_attempt_at=now,
        )
        WebhookAttempt.objects.create(
            delivery=delivery, number=1, attempted_at=now, status_code=500
        )
        Withdrawal.objects.create(
            organisation=self.seller.organisation,
            amount_fen=1,
            provider="sandbox",
            status="pending",
        )
        IdempotencyRecord.objects.create(
            principal=f"org:{self.buyer.organisation.pk}",
            key=str(uuid.uuid4()),
            method="POST",
            path="/api/v1/ledger/deposits/",
            request_hash="0" * 64,
            locked_at=now,
            created_at=now,
            expires_at=now + timedelta(days=1),
        )


def another_buyer(market: Market) -> Membership:
    return member(kind="buyer")
