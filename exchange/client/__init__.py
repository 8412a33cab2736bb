"""A small client for the exchange's REST API, for automated traders.

Standard library only, and no Django: it runs anywhere Python does, without the platform's
settings. `ApiClient` speaks HTTP (API key, JSON, error format, retries); `Trader` walks a trade
(search, buy, wait, download with checksum verification, accept); `python -m exchange.client`
is the command line. See docs/API.md.
"""

from exchange.client.files import ChecksumMismatch
from exchange.client.http import ApiClient, ApiError, ClientError, RetryPolicy, TransportError
from exchange.client.trading import TradeError, Trader, WaitTimeout

__all__ = [
    "ApiClient",
    "ApiError",
    "ChecksumMismatch",
    "ClientError",
    "RetryPolicy",
    "TradeError",
    "Trader",
    "TransportError",
    "WaitTimeout",
]
