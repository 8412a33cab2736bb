"""Double-entry money: accounts, transactions and their immutable postings; funding records;
idempotency records for money-moving API calls.

Conventions
- Amounts are integers in fen (CNY minor unit). Never floats.
- A posting's amount is signed: positive credits the account (its balance grows), negative debits
  it. A transaction's postings sum to zero.
- `Account.balance` is the only mutable money column. The services change it under the account's
  row lock in the same transaction that writes the postings, so `balance == sum(postings)` always.
- PostgreSQL itself refuses an overdraft (CHECK on balance), a zero posting, any UPDATE/DELETE of a
  posting or transaction (migration 0002) and a transaction whose postings do not sum to zero
  (a deferred constraint trigger, checked at commit).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from exchange.participants.models import Organisation


class Account(models.Model):
    class Kind(models.TextChoices):
        AVAILABLE = "available", _("available")
        ESCROW = "escrow", _("escrow")
        FEE_REVENUE = "fee_revenue", _("platform fee revenue")
        EXTERNAL = "external", _("external clearing")

    ORGANISATION_KINDS = (Kind.AVAILABLE, Kind.ESCROW)
    PLATFORM_KINDS = (Kind.FEE_REVENUE, Kind.EXTERNAL)

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
        help_text="Empty for the platform's own accounts (fee revenue, external clearing).",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    balance = models.BigIntegerField(default=0, help_text="fen; maintained by the ledger services")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"], name="ledger_account_org_kind_unique"
            ),
            # NULLs are distinct in a unique index, so the platform accounts need their own.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(organisation__isnull=True),
                name="ledger_account_platform_kind_unique",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["available", "escrow"], organisation__isnull=False)
                    | Q(kind__in=["fee_revenue", "external"], organisation__isnull=True)
                ),
                name="ledger_account_kind_owner_valid",
            ),
            # The floor of zero, enforced by the database: only the external clearing account
            # (a mirror of money outside the platform) may go negative.
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(kind="external"),
                name="ledger_account_no_overdraft",
            ),
        ]

    def __str__(self) -> str:
        owner = f"org #{self.organisation_id}" if self.organisation_id else "platform"
        return f"{owner} {self.kind}"

    @property
    def label(self) -> str:
        """Names the account without personal data (for messages and the checker)."""
        return f"account #{self.pk} ({self})"


class Transaction(models.Model):
    """One movement of money: two or more postings summing to zero. Immutable."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("deposit")
        MANUAL_DEPOSIT = "manual_deposit", _("manual deposit")
        WITHDRAWAL = "withdrawal", _("withdrawal")
        WITHDRAWAL_REVERSAL = "withdrawal_reversal", _("failed withdrawal returned")
        TRANSFER = "transfer", _("transfer")
        ESCROW_HOLD = "escrow_hold", _("escrow hold")
        ESCROW_RELEASE = "escrow_release", _("escrow release")
        ESCROW_REFUND = "escrow_refund", _("escrow refund")
        ESCROW_SPLIT = "escrow_split", _("escrow split")
        ADJUSTMENT = "adjustment", _("correcting adjustment")

    kind = models.CharField(max_length=30, choices=Kind.choices)
    # Why the money moved: e.g. ("trading.order", "42"). One transaction per (kind, reference):
    # a second hold or release for the same order is refused by the database.
    reference_type = models.CharField(max_length=60)
    reference_id = models.CharField(max_length=80)
    memo = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference_type", "reference_id"],
                name="ledger_transaction_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"txn #{self.pk} {self.kind} {self.reference_type}:{self.reference_id}"

    @property
    def reference(self) -> tuple[str, str]:
        return (self.reference_type, self.reference_id)


class Posting(models.Model):
    """One line of a transaction: a signed amount on one account. Immutable."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.BigIntegerField(help_text="fen; positive credits the account, negative debits")
    balance_after = models.BigIntegerField(help_text="the account's balance after this posting")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "-id"], name="ledger_posting_account_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_posting_amount_nonzero"),
        ]

    def __str__(self) -> str:
        return f"posting #{self.pk} {self.amount:+d} on account #{self.account_id}"


class Deposit(models.Model):
    """Money coming in from outside: through a payment provider, or recorded by an operator."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    MANUAL_PROVIDER = "manual"

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField(help_text="the amount the payer was asked to send")
    received_fen = models.BigIntegerField(null=True, blank=True, help_text="what actually arrived")
    provider = models.CharField(max_length=40)
    # Unique per provider, so a replayed or duplicated bank callback finds the same row and
    # credits once.
    provider_reference = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=300, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="operator's reason (manual)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, null=True, blank=True, related_name="deposit"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"], name="ledger_deposit_reference_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="ledger_deposit_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]),
                name="ledger_deposit_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"deposit #{self.pk} {self.provider}:{self.provider_reference} ({self.status})"


class Withdrawal(models.Model):
    """Money leaving to the organisation's bank account. Debited when requested (so it cannot be
    spent twice); paid or failed later by the provider; a failure returns the money."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        FAILED = "failed", _("failed")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField()
    provider = models.CharField(max_length=40)
    provider_reference = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, null=True, blank=True, related_name="withdrawal"
    )
    reversal_transaction = models.OneToOneField(
        Transaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_withdrawal",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                name="ledger_withdrawal_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="ledger_withdrawal_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "paid", "failed"]),
                name="ledger_withdrawal_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"withdrawal #{self.pk} {self.provider}:{self.provider_reference} ({self.status})"


class IdempotencyRecord(models.Model):
    """One Idempotency-Key as used by one principal (organisation or user): the request it stood
    for (fingerprint) and, once done, the response to replay. See exchange.ledger.idempotency."""

    class Status(models.TextChoices):
        IN_FLIGHT = "in_flight", _("in flight")
        COMPLETED = "completed", _("completed")

    principal = models.CharField(max_length=40, help_text="'org:<id>' or 'user:<id>'")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IN_FLIGHT)
    # Changed by whoever (re)claims the key; completing requires still holding it, so a request
    # that outlived its lock and was reclaimed cannot also commit its effect.
    claim_token = models.UUIDField(default=uuid.uuid4)
    locked_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "key"], name="ledger_idempotency_principal_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"idempotency key of {self.principal} ({self.status})"
