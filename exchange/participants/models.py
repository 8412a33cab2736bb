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
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

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
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
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
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

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
