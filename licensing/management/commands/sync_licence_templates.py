from typing import Any

from django.core.management.base import BaseCommand

from licensing.services import sync_templates


class Command(BaseCommand):
    help = "Store the shipped licence templates; a changed definition becomes a new version."

    def handle(self, *args: Any, **options: Any) -> None:
        published = sync_templates()
        for row in published:
            self.stdout.write(f"published {row.key} v{row.version}")
        if not published:
            self.stdout.write("licence templates are up to date")
