from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def console_is_the_admin_site(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Without ConsoleAdminConfig the admin is Django's plain site: no role policy, no console
    pages. Say so at startup rather than serve an admin that lets regulators edit."""
    from django.contrib import admin

    from exchange.console.site import ConsoleSite

    if isinstance(admin.site, ConsoleSite):
        return []
    return [
        checks.Error(
            "The regulator console is installed but the admin site is Django's default.",
            hint="In INSTALLED_APPS replace 'django.contrib.admin' with "
            "'exchange.console.admin_config.ConsoleAdminConfig'.",
            id="console.E001",
        )
    ]


class ConsoleConfig(AppConfig):
    name = "exchange.console"
    label = "console"
    verbose_name = _("Regulator console")

    def ready(self) -> None:
        checks.register(console_is_the_admin_site)
