from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ParticipantsConfig(AppConfig):
    name = "exchange.participants"
    label = "participants"
    verbose_name = _("Participants")

    def ready(self) -> None:
        from exchange.participants import schema  # noqa: F401  (registers the auth scheme)
        from exchange.participants.roles import sync_platform_roles

        post_migrate.connect(sync_platform_roles, dispatch_uid="sync_platform_roles")
