"""Makes the console the project's admin site: every `admin.register(...)` in every app lands on
`ConsoleSite`, which wraps each ModelAdmin in the role policy. Installed in place of
"django.contrib.admin" (see the report to the lead)."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "exchange.console.site.ConsoleSite"
