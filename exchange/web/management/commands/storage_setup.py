"""Prepare object storage for the platform: both buckets, and CORS on the quarantine bucket so
browsers can upload straight into it. Idempotent; `make up` runs it after migrating."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchange.storage import StorageError, get_storage


def site_origins() -> list[str]:
    """The origins pages are served from: SITE_URL and every trusted CSRF origin."""
    origins = set()
    for url in [settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS]:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


class Command(BaseCommand):
    help = (
        "Create the storage buckets if missing and allow browser uploads into quarantine "
        "from the site's origins (SITE_URL, DJANGO_CSRF_TRUSTED_ORIGINS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="an extra origin allowed to upload (repeatable), e.g. https://data.example.cn",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        storage = get_storage()
        origins = sorted({*site_origins(), *options["origin"]})
        try:
            storage.ensure_buckets()
            storage.allow_browser_uploads(origins)
        except StorageError as error:
            raise CommandError(f"storage setup failed: {error}") from error
        self.stdout.write(
            f"storage ready ({settings.STORAGE_BACKEND}); browser uploads allowed from "
            + (", ".join(origins) or "nowhere")
        )
