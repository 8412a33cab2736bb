"""Entry point of `python -m exchange.client` and the `exchange-client` script."""

from exchange.client.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
