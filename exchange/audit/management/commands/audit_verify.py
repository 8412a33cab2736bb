from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from exchange.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; print OK with the count or the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain()
        if not result.ok:
            raise CommandError(result.describe())
        self.stdout.write(result.describe())
