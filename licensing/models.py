"""Licence templates, offers, contracts and their signatures, licences, seats, download decisions.

Life of a licence:

* a LicenceTemplate row is one version of a template definition (licensing.catalogue); rows are
  never edited, a changed definition becomes a new version;
* an Offer binds a price plan to a template version and the parameter values the seller allows;
  creating it records the seller's acceptance (its pre-signature);
* a Contract is made for an order from the offer and the buyer's choices: its Chinese and English
  texts and its ODRL policy are frozen together with the structured terms and identified by their
  SHA-256 (`content_hash`). Frozen fields are never updated (the model refuses, and on PostgreSQL a
  trigger refuses too); any change makes a new contract that `replaces` the old one;
* a Licence is issued for a fully signed contract when the order is funded: active → expired
  (term over, Celery beat) | revoked (regulator, dispute outcome) | superseded (a replacing
  contract's licence was issued).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from licensing import hashing
from licensing.catalogue import TemplateDefinition


class LicenceTemplate(models.Model):
    key = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    family = models.CharField(max_length=32)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    definition = models.JSONField()  # TemplateDefinition.to_json()
    definition_hash = models.CharField(max_length=64)
    is_current = models.BooleanField(default=True)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("licence template")
        verbose_name_plural = _("licence templates")
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "version"], name="licence_template_version_unique"
            ),
            models.UniqueConstraint(
                fields=["key"], condition=Q(is_current=True), name="licence_template_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    @property
    def spec(self) -> TemplateDefinition:
        return TemplateDefinition.from_json(self.definition)


class Offer(models.Model):
    """A price plan's licence terms: template version + allowed parameter values.

    Creating an offer is the seller's acceptance: a member of the seller organisation declares
    that the seller is bound by any contract generated, without alteration, from this template
    version with buyer choices inside `allowed` for this price plan. `terms_hash` fixes what was
    accepted; the accepting user, time, address and user agent are kept as evidence. Offers are
    never edited: new terms mean a new offer, and the old one is withdrawn.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        WITHDRAWN = "withdrawn", _("withdrawn")

    price_plan = models.ForeignKey(
        "listings.PricePlan", on_delete=models.PROTECT, related_name="offers"
    )
    seller = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="licence_offers"
    )
    template = models.ForeignKey(LicenceTemplate, on_delete=models.PROTECT, related_name="offers")
    allowed = models.JSONField()  # licensing.parameters normal form, every parameter present
    policy = models.JSONField()  # ODRL Offer with the template defaults within `allowed`
    terms_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField()
    acceptance_ip = models.GenericIPAddressField(null=True, blank=True)
    acceptance_user_agent = models.CharField(max_length=300, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("licence offer")
        verbose_name_plural = _("licence offers")
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["price_plan"],
                condition=Q(status="active"),
                name="offer_one_active_per_plan",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "withdrawn"]), name="offer_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"offer {self.pk} ({self.template})"


class ContractFrozen(RuntimeError):
    """Something tried to change a frozen contract: any change must make a new contract."""


class Contract(models.Model):
    class Status(models.TextChoices):
        AWAITING_SIGNATURE = "awaiting_signature", _("awaiting the buyer's signature")
        SIGNED = "signed", _("signed by both parties")
        VOID = "void", _("void (replaced before signature)")

    # Everything the hash covers, and the structured copies of it used for queries.
    FROZEN_FIELDS = frozenset(
        {
            "offer", "template", "price_plan", "listing", "listing_version", "seller", "buyer",
            "choices", "parameters", "plan_kind", "price_fen", "term_months",
            "subscription_months", "seats", "text_zh", "text_en", "policy", "content_hash",
            "reference", "replaces", "created_at", "created_by",
        }
    )  # fmt: skip

    reference = models.CharField(max_length=40, unique=True)
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="contracts")
    template = models.ForeignKey(LicenceTemplate, on_delete=models.PROTECT, related_name="+")
    price_plan = models.ForeignKey(
        "listings.PricePlan", on_delete=models.PROTECT, related_name="contracts"
    )
    listing = models.ForeignKey("listings.Listing", on_delete=models.PROTECT, related_name="+")
    listing_version = models.ForeignKey(
        "listings.ListingVersion",
        on_delete=models.PROTECT,
        related_name="contracts",
        null=True,
        blank=True,
    )
    seller = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="contracts_as_seller"
    )
    buyer = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="contracts_as_buyer"
    )
    choices = models.JSONField(default=dict)  # what the buyer asked for
    parameters = models.JSONField()  # resolved values the text and policy were built from
    plan_kind = models.CharField(max_length=12)
    price_fen = models.BigIntegerField()
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)  # None: perpetual
    subscription_months = models.PositiveSmallIntegerField(null=True, blank=True)
    seats = models.PositiveIntegerField(null=True, blank=True)  # None: unlimited
    text_zh = models.TextField()
    text_en = models.TextField()
    policy = models.JSONField()
    content_hash = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.AWAITING_SIGNATURE
    )
    replaces = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)  # when the second signature landed

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["awaiting_signature", "signed", "void"]),
                name="contract_status_valid",
            ),
            models.CheckConstraint(condition=Q(price_fen__gte=0), name="contract_price_nonneg"),
            models.CheckConstraint(
                condition=~Q(seller=models.F("buyer")), name="contract_parties_differ"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or self.FROZEN_FIELDS & set(update_fields):
                raise ContractFrozen(
                    "A contract's frozen terms cannot change; make a new contract instead."
                )
        super().save(*args, **kwargs)

    @property
    def terms(self) -> dict[str, Any]:
        """The structured terms inside the hashed document (ids, not mutable names)."""
        return {
            "reference": self.reference,
            "template": {"key": self.template.key, "version": self.template.version},
            "offer_id": self.offer_id,
            "price_plan_id": self.price_plan_id,
            "listing_id": self.listing_id,
            "listing_version_id": self.listing_version_id,
            "seller_id": self.seller_id,
            "buyer_id": self.buyer_id,
            "plan_kind": self.plan_kind,
            "price_fen": self.price_fen,
            "currency": "CNY",
            "term_months": self.term_months,
            "subscription_months": self.subscription_months,
            "seats": self.seats,
            "parameters": self.parameters,
            "replaces": self.replaces.reference if self.replaces_id and self.replaces else None,
        }

    def document(self) -> dict[str, Any]:
        return hashing.contract_document(
            terms=self.terms, text_zh=self.text_zh, text_en=self.text_en, policy=self.policy
        )

    def compute_hash(self) -> str:
        return hashing.sha256_hex(self.document())

    def integrity_ok(self) -> bool:
        """The stored hash still matches the stored terms, texts and policy."""
        return hashing.matches(self.document(), self.content_hash)

    @property
    def is_fully_signed(self) -> bool:
        return self.signed_by_both(self.signatures.all())

    def signed_by_both(self, signatures: Iterable[ContractSignature]) -> bool:
        """Whether these signatures (of this contract) include both parties' over its current
        hash. For callers that already hold the contract's signatures."""
        parties = {s.party for s in signatures if s.signed_hash == self.content_hash}
        return {ContractSignature.Party.SELLER, ContractSignature.Party.BUYER} <= parties


class ContractSignature(models.Model):
    """One party's signature over one contract hash: who, for which organisation, when, from where.

    `method = offer`: the seller's signature derived from its offer. It records that the contract
    was generated from the accepted offer (`offer`, whose terms_hash the seller accepted) with buyer
    choices inside the accepted ranges; `user`, `ip` and `user_agent` are those of the acceptance,
    `signed_at` the moment the contract was generated. Legally it is the seller's advance consent
    to every contract so generated, given when the offer was made.
    """

    class Party(models.TextChoices):
        SELLER = "seller", _("seller")
        BUYER = "buyer", _("buyer")

    class Method(models.TextChoices):
        OFFER = "offer", _("pre-signed through the offer")
        BROWSER = "browser", _("signed in the browser")
        API = "api", _("signed through the API")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="signatures")
    party = models.CharField(max_length=6, choices=Party.choices)
    organisation = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=8, choices=Method.choices)
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("contract signature")
        verbose_name_plural = _("contract signatures")
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "party"], name="signature_one_per_party"),
            models.CheckConstraint(
                condition=Q(party__in=["seller", "buyer"]), name="signature_party_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} signature on {self.contract_id}"


class Licence(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        EXPIRED = "expired", _("expired")
        REVOKED = "revoked", _("revoked")
        SUPERSEDED = "superseded", _("superseded")

    # Random, so a licence id can be shown to third parties without revealing how many exist.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.OneToOneField(Contract, on_delete=models.PROTECT, related_name="licence")
    buyer = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="licences_held"
    )
    seller = models.ForeignKey(
        "participants.Organisation", on_delete=models.PROTECT, related_name="licences_granted"
    )
    listing = models.ForeignKey(
        "listings.Listing", on_delete=models.PROTECT, related_name="licences"
    )
    listing_version = models.ForeignKey(
        "listings.ListingVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    plan_kind = models.CharField(max_length=12)
    seats = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)  # None: perpetual
    issued_at = models.DateTimeField()
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "expired", "revoked", "superseded"]),
                name="licence_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="licence_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "listing", "status"], name="licence_buyer_listing_idx"),
            models.Index(fields=["status", "ends_at"], name="licence_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"licence {self.pk}"


class LicenceSeat(models.Model):
    """A named user of the buyer who has downloaded under the licence (counts against seats)."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="seat_holders")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_download_at = models.DateTimeField()

    class Meta:
        verbose_name = _("licence seat")
        verbose_name_plural = _("licence seats")
        constraints = [
            models.UniqueConstraint(fields=["licence", "user"], name="licence_seat_unique"),
        ]

    def __str__(self) -> str:
        return f"seat on {self.licence_id}"


class DownloadDecision(models.Model):
    """Every answer of enforcement.may_download. No personal data: organisation, version,
    licence, the answer and its reason only."""

    decided_at = models.DateTimeField(db_index=True)
    organisation = models.ForeignKey(
        "participants.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    version = models.ForeignKey(
        "listings.ListingVersion", on_delete=models.CASCADE, related_name="+"
    )
    licence = models.ForeignKey(
        Licence, on_delete=models.SET_NULL, null=True, blank=True, related_name="decisions"
    )
    allowed = models.BooleanField()
    reason = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("download decision")
        verbose_name_plural = _("download decisions")
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["organisation", "decided_at"], name="decision_org_idx")]

    def __str__(self) -> str:
        return f"{'allowed' if self.allowed else 'denied'} ({self.reason})"
