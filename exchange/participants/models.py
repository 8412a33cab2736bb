"""Users, organisations, memberships and organisation API keys."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exchange.participants.uscc import uscc_problem


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in by email; acts for organisations through memberships."""

    email = models.EmailField(_("email"), unique=True)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def is_regulator(self) -> bool:
        return self.groups.filter(name=PlatformRole.REGULATOR).exists()

    @property
    def is_operator(self) -> bool:
        return self.is_superuser or self.groups.filter(name=PlatformRole.OPERATOR).exists()


class PlatformRole(models.TextChoices):
    """Platform-wide roles, held as auth groups (see migration 0002 for their permissions)."""

    OPERATOR = "operator", _("platform operator")
    REGULATOR = "regulator", _("regulator")


def validate_uscc(value: str) -> None:
    problem = uscc_problem(value)
    if problem:
        raise ValidationError(
            _("Unified Social Credit Code %(problem)s"), params={"problem": problem}
        )


class Organisation(models.Model):
    class Kind(models.TextChoices):
        SELLER = "seller", _("seller")
        BUYER = "buyer", _("buyer")
        BOTH = "both", _("seller and buyer")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending verification")
        VERIFIED = "verified", _("verified")
        FROZEN = "frozen", _("frozen")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    uscc = models.CharField(
        _("Unified Social Credit Code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    status_reason = models.CharField(_("reason for the status"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["seller", "buyer", "both"]),
                name="organisation_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "verified", "frozen"]),
                name="organisation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_frozen(self) -> bool:
        return self.status == self.Status.FROZEN

    @property
    def can_sell(self) -> bool:
        return self.kind in (self.Kind.SELLER, self.Kind.BOTH)

    @property
    def can_buy(self) -> bool:
        return self.kind in (self.Kind.BUYER, self.Kind.BOTH)


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        ADMIN = "admin", _("admin")
        MEMBER = "member", _("member")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class ApiKeyScope(models.TextChoices):
    READ = "read", _("read")
    TRADE = "trade", _("trade (orders, payments)")
    PUBLISH = "publish", _("publish (listings, uploads)")


def hash_api_secret(secret: str) -> str:
    """SHA-256 of the whole key. The key carries 256 random bits, so no slow hash or salt is
    needed: nothing can be guessed, and a fast hash keeps per-request checks cheap."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """An organisation's key for automated trading. The secret is shown once and stored hashed;
    the prefix (visible, unique) finds the row without scanning."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_api_secret(secret))

    def unusable_reason(self, now: Any = None) -> str | None:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "API key has been revoked"
        if self.expires_at <= now:
            return "API key has expired"
        return None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
