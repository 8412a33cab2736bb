"""Payment providers. The active one is PAYMENT_PROVIDER_CLASS (default: the sandbox)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from exchange.ledger.payments.base import (
    CallbackRejected,
    DepositInstructions,
    PaymentEvent,
    PaymentProvider,
)

DEFAULT_PROVIDER = "exchange.ledger.payments.sandbox.SandboxBankTransferProvider"

__all__ = [
    "CallbackRejected",
    "DepositInstructions",
    "PaymentEvent",
    "PaymentProvider",
    "get_provider",
]


def get_provider() -> PaymentProvider:
    provider_class = import_string(getattr(settings, "PAYMENT_PROVIDER_CLASS", DEFAULT_PROVIDER))
    provider = provider_class()
    if not isinstance(provider, PaymentProvider):
        raise ImproperlyConfigured("PAYMENT_PROVIDER_CLASS must name a PaymentProvider subclass")
    # A sandbox in production would let anyone mint money with a simulated callback.
    if (
        provider.is_sandbox
        and getattr(settings, "PRODUCTION", False)
        and not getattr(settings, "PAYMENT_SANDBOX_ALLOWED", False)
    ):
        raise ImproperlyConfigured(
            "The sandbox payment provider is refused in production; configure a real provider "
            "or set PAYMENT_SANDBOX_ALLOWED=true for a demonstration deployment."
        )
    return provider
