"""Orders and everything a trade leaves behind: disputes, download links, notifications, webhook
endpoints and their delivery log.

An order's life (exchange.trading.services holds every transition):

    created ──sign──▶ signed ──fund──▶ funded ──first link / seller delivers──▶ delivered
       │                 │                │                                        │
       └──cancel──▶ cancelled ◀──cancel───┘ (not after funding)    accept (buyer, or automatically
                                          │                        when accept_by passes)
                                          └──dispute──▶ disputed ◀──dispute (before accept_by)
                                                           │                       │
                                                 resolve (refund|release|split)    ▼
                                                           ▼                   accepted
                                                        resolved ──────────▶ settled ◀─┘

`accepted` and `resolved` are passed through inside the transaction that settles: the money moves
in the same transaction as the decision, so an order is never accepted without being paid out.
Both steps are audited separately.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exchange.participants.models import Organisation
from exchange.trading import webhook_secrets


class Order(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("created (contract awaiting the buyer's signature)")
        SIGNED = "signed", _("contract signed")
        FUNDED = "funded", _("funded (escrow held, licence issued)")
        DELIVERED = "delivered", _("delivered")
        ACCEPTED = "accepted", _("accepted")
        DISPUTED = "disputed", _("disputed")
        RESOLVED = "resolved", _("dispute resolved")
        SETTLED = "settled", _("settled")
        CANCELLED = "cancelled", _("cancelled")

    class Outcome(models.TextChoices):
        RELEASED = "released", _("paid to the seller")
        REFUNDED = "refunded", _("refunded to the buyer")
        SPLIT = "split", _("split between seller and buyer")

    buyer = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="orders_bought")
    seller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="orders_sold")
    price_plan = models.ForeignKey(
        "listings.PricePlan", on_delete=models.PROTECT, related_name="orders"
    )
    listing = models.ForeignKey("listings.Listing", on_delete=models.PROTECT, related_name="orders")
    contract = models.OneToOneField(
        "licensing.Contract", on_delete=models.PROTECT, related_name="order"
    )
    licence = models.OneToOneField(
        "licensing.Licence",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order",
    )
    amount_fen = models.BigIntegerField(help_text="the contract price, held in escrow when funded")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    # Filled at settlement: what the seller received, what went back to the buyer, the fee.
    seller_received_fen = models.BigIntegerField(null=True, blank=True)
    buyer_refunded_fen = models.BigIntegerField(null=True, blank=True)
    fee_fen = models.BigIntegerField(null=True, blank=True)
    acceptance_window_hours = models.PositiveIntegerField(
        help_text="copied from the price plan when the order was created"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    funded_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    accept_by = models.DateTimeField(
        null=True, blank=True, help_text="delivery + acceptance window: auto-accepted after this"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "created",
                        "signed",
                        "funded",
                        "delivered",
                        "accepted",
                        "disputed",
                        "resolved",
                        "settled",
                        "cancelled",
                    ]
                ),
                name="order_status_valid",
            ),
            models.CheckConstraint(condition=Q(amount_fen__gte=0), name="order_amount_nonneg"),
            models.CheckConstraint(
                condition=~Q(buyer=models.F("seller")), name="order_parties_differ"
            ),
            # Money once settled adds up: seller + buyer refund + fee = the amount held.
            models.CheckConstraint(
                condition=~Q(status="settled")
                | Q(
                    seller_received_fen__gte=0,
                    buyer_refunded_fen__gte=0,
                    fee_fen__gte=0,
                    amount_fen=models.F("seller_received_fen")
                    + models.F("buyer_refunded_fen")
                    + models.F("fee_fen"),
                ),
                name="order_settlement_adds_up",
            ),
        ]
        indexes = [
            # The auto-accept job's query: delivered orders whose window has closed.
            models.Index(
                fields=["accept_by"],
                condition=Q(status="delivered"),
                name="order_auto_accept_idx",
            ),
            models.Index(fields=["buyer", "-id"], name="order_buyer_idx"),
            models.Index(fields=["seller", "-id"], name="order_seller_idx"),
        ]

    def __str__(self) -> str:
        return f"order #{self.pk} ({self.status})"

    @property
    def reference(self) -> tuple[str, str]:
        """The ledger reference of this order's escrow movements."""
        return ("trading.order", str(self.pk))


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open (awaiting the seller)")
        RESPONDED = "responded", _("seller responded")
        RESOLVED = "resolved", _("resolved")

    class Outcome(models.TextChoices):
        REFUND = "refund", _("refund the buyer")
        RELEASE = "release", _("release to the seller")
        SPLIT = "split", _("split")

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="dispute")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reason = models.TextField()
    evidence = models.JSONField(default=list, blank=True)  # [{"text"?, "url"?}]
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    seller_response = models.TextField(blank=True)
    seller_evidence = models.JSONField(default=list, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    to_seller_fen = models.BigIntegerField(null=True, blank=True, help_text="before the fee")
    to_buyer_fen = models.BigIntegerField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "responded", "resolved"]),
                name="dispute_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"dispute #{self.pk} ({self.status})"


class DownloadLink(models.Model):
    """Every presigned link handed out: who, for which file, when, valid until when."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="download_links")
    licence = models.ForeignKey(
        "licensing.Licence", on_delete=models.PROTECT, related_name="download_links"
    )
    version = models.ForeignKey(
        "listings.ListingVersion", on_delete=models.PROTECT, related_name="+"
    )
    file = models.ForeignKey("listings.VersionFile", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    api_key = models.ForeignKey(
        "participants.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("download link")
        verbose_name_plural = _("download links")
        ordering = ["-id"]
        indexes = [models.Index(fields=["order", "-id"], name="download_link_order_idx")]

    def __str__(self) -> str:
        return f"link #{self.pk} for order #{self.order_id}"


class Notification(models.Model):
    """Something an organisation should know, e.g. a new version under its subscription."""

    class Kind(models.TextChoices):
        VERSION_PUBLISHED = "version.published", _("a new version is available")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="trading_notifications"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    version = models.ForeignKey(
        "listings.ListingVersion", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        constraints = [
            # Told once per subscription and version, however often the notifier runs.
            models.UniqueConstraint(
                fields=["order", "version", "kind"], name="notification_once_per_order_version"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-id"], name="notification_org_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for org #{self.organisation_id}"


class ReleasedVersionMarker(models.Model):
    """The subscription notifier has handled this version (claimed by INSERT: runs once)."""

    version = models.OneToOneField(
        "listings.ListingVersion", on_delete=models.CASCADE, related_name="+"
    )
    notified = models.PositiveIntegerField(default=0)
    handled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("released version marker")
        verbose_name_plural = _("released version markers")

    def __str__(self) -> str:
        return f"version #{self.version_id} handled"


class WebhookEvent(models.TextChoices):
    ORDER_FUNDED = "order.funded", "order.funded"
    ORDER_DELIVERED = "order.delivered", "order.delivered"
    ORDER_SETTLED = "order.settled", "order.settled"
    DISPUTE_OPENED = "dispute.opened", "dispute.opened"
    DISPUTE_RESOLVED = "dispute.resolved", "dispute.resolved"
    VERSION_PUBLISHED = "version.published", "version.published"
    LICENCE_REVOKED = "licence.revoked", "licence.revoked"


class WebhookEndpoint(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(help_text="event names this endpoint receives")
    description = models.CharField(max_length=200, blank=True)
    # The HMAC key, encrypted (exchange.trading.webhook_secrets): signing needs the plain key, so
    # it cannot be hashed, but a dump of this table must not let anyone forge our webhooks.
    # editable=False keeps it out of every ModelForm, the console's included.
    secret_ciphertext = models.TextField(editable=False, blank=True)
    # A plain secret set before the row has an id (not a field: never written as such).
    _unsaved_secret: str | None = None
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"webhook endpoint #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        pending = self._unsaved_secret
        if pending is None:
            if not self.secret_ciphertext:
                raise ValueError("a webhook endpoint needs a signing secret: call set_secret()")
            super().save(*args, **kwargs)
            return
        # Insert without the secret, then write the ciphertext bound to the new id, in one
        # transaction so no row is ever committed without one.
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.secret_ciphertext = webhook_secrets.encrypt(pending, self.pk)
            type(self)._default_manager.filter(pk=self.pk).update(
                secret_ciphertext=self.secret_ciphertext
            )
        self._unsaved_secret = None

    def set_secret(self, plain: str) -> None:
        """Store `plain` as this endpoint's signing secret (encrypted; a new row on save())."""
        if not plain:
            raise ValueError("a webhook signing secret must not be empty")
        if self.pk is None:
            # Bound to the id, which only the INSERT assigns: save() encrypts it then.
            self._unsaved_secret = plain
            self.secret_ciphertext = ""
        else:
            self.secret_ciphertext = webhook_secrets.encrypt(plain, self.pk)

    def signing_secret(self) -> str:
        """The plain secret, for signing (and for showing once to its creator). Raises
        WebhookSecretError, whose message never contains the secret."""
        return webhook_secrets.decrypt(self.secret_ciphertext, self.pk)


class WebhookDelivery(models.Model):
    """One event for one endpoint; retried with backoff until delivered or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("gave up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set by whoever is sending right now (conditional UPDATE): two workers never send at once.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_ep_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.event}, {self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    next_retry_in_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
