"""The browser application for sellers and buyers: catalogue, listing pages, seller and buyer
workspaces, wallet. Server-rendered pages over the apps' services; a few local scripts."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "exchange.portal"
    label = "portal"
    verbose_name = "Portal"
