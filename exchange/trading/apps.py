from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "exchange.trading"
    label = "trading"
