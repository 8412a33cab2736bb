"""The browser application for sellers and buyers: catalogue, listing pages, seller and buyer
workspaces, wallet. Server-rendered pages over the apps' services; a few local scripts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "exchange.portal"
    label = "portal"
    verbose_name = _("Portal")
