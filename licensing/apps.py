from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_templates(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Like Django's permissions: after every migrate (and test-database flush), make sure the
    # shipped templates are stored. Idempotent; changed definitions become new versions.
    from exchange.audit.models import AuditEvent
    from licensing.models import LicenceTemplate
    from licensing.services import sync_templates

    tables = connections[using].introspection.table_names()
    if LicenceTemplate._meta.db_table not in tables or AuditEvent._meta.db_table not in tables:
        return  # a partial or backwards migrate: nothing to sync into yet
    sync_templates()


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = _("Licensing")

    def ready(self) -> None:
        post_migrate.connect(_sync_templates, sender=self, dispatch_uid="licensing-sync-templates")
