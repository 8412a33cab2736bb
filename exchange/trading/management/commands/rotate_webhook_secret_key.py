"""Re-encrypt every webhook signing secret with the first key of WEBHOOK_SECRET_KEYS.

Key rotation: put the new key first (`NEW,OLD`), deploy, run this, then drop OLD. Idempotent:
rows already under the first key are only checked. Prints counts only, never a secret or key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from exchange.trading import webhook_secrets
from exchange.trading.models import WebhookEndpoint
from exchange.trading.webhook_secrets import WebhookSecretError


class Command(BaseCommand):
    help = (
        "Re-encrypt all webhook signing secrets with the first WEBHOOK_SECRET_KEYS key "
        "(run after adding a new key in front; idempotent; prints counts only)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        reencrypted = current = failed = 0
        for pk in WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True):
            # One short transaction per row: a concurrent rotate_secret of the same endpoint waits
            # for the lock instead of being overwritten with the old secret.
            with transaction.atomic():
                endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=pk).first()
                if endpoint is None:
                    continue  # deleted meanwhile
                try:
                    value = webhook_secrets.reencrypt(endpoint.secret_ciphertext, endpoint.pk)
                except WebhookSecretError:
                    failed += 1
                    continue
                if value is None:
                    current += 1
                    continue
                WebhookEndpoint.objects.filter(pk=pk).update(secret_ciphertext=value)
                reencrypted += 1
        summary = f"re-encrypted {reencrypted}, already current {current}, undecryptable {failed}"
        if failed:
            # Non-zero exit so a deploy script stops before the old key is dropped. Those endpoints
            # cannot sign until the missing key is configured again or their owners rotate the
            # secret; their failed deliveries name the endpoint.
            raise CommandError(summary)
        self.stdout.write(summary)
