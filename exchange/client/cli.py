"""`python -m exchange.client`: trade on the exchange from a shell or a scheduler."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from exchange.client.files import ChecksumMismatch, Downloaded
from exchange.client.http import ApiClient, ApiError, ClientError, RetryPolicy, TransportError
from exchange.client.trading import TradeError, Trader, WaitTimeout

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_UNAVAILABLE = 4
EXIT_CHECKSUM = 5
EXIT_TIMEOUT = 6
EXIT_NOT_FOUND = 7

EPILOG = """\
authentication:
  The API key is read from --api-key or, better (command lines are visible to other local
  users), from the EXCHANGE_API_KEY environment variable. It is never printed. The base URL
  may come from EXCHANGE_BASE_URL.

exit codes:
  0  done
  1  unexpected failure (a trade step could not go on, e.g. the order was cancelled)
  2  usage error
  3  the API refused the request (4xx; the error's type/code/message are printed)
  4  the server could not be reached or kept failing (after retries)
  5  a downloaded file did not match its published SHA-256 (the file was deleted)
  6  timed out waiting for delivery
  7  the search found nothing to buy

Re-running `buy` with the same --idempotency-key never pays twice: the order and the funding
replay. Without the option a new key is generated and printed; keep it to retry safely.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m exchange.client",
        description="Search, buy, download and accept datasets on the data exchange.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url", default=os.environ.get("EXCHANGE_BASE_URL"))
    parser.add_argument("--api-key", help="default: $EXCHANGE_API_KEY")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--http-timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--max-retries", type=int, default=4)
    parser.add_argument(
        "--lang",
        default=os.environ.get("EXCHANGE_LANG"),
        help="language of the API's messages, e.g. en or zh-hans (default: the server's)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    search = sub.add_parser("search", help="search the catalogue")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=20)

    buy = sub.add_parser("buy", help="order a listing's plan, sign the contract, fund it")
    buy.add_argument("listing_id", type=int, nargs="?")
    _buy_options(buy)
    buy.add_argument("--order", type=int, help="resume this order instead of creating one")

    wait = sub.add_parser("wait", help="wait until an order's files can be downloaded")
    wait.add_argument("order_id", type=int)
    wait.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    wait.add_argument("--poll", type=float, default=2.0, metavar="SECONDS")

    download = sub.add_parser("download", help="download and verify an order's files")
    download.add_argument("order_id", type=int)
    download.add_argument("--out", type=Path, required=True, metavar="DIR")
    download.add_argument("--version", type=int, help="only this version number")

    accept = sub.add_parser("accept", help="accept the delivery (pays the seller)")
    accept.add_argument("order_id", type=int)
    accept.add_argument("--idempotency-key")

    trade = sub.add_parser("trade", help="search, buy, wait, download and accept in one go")
    trade.add_argument("query")
    _buy_options(trade)
    trade.add_argument("--max-price-fen", type=int, help="skip listings dearer than this")
    trade.add_argument("--out", type=Path, required=True, metavar="DIR")
    trade.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS")
    trade.add_argument("--no-accept", action="store_true", help="stop after the download")
    return parser


def _buy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plan", type=int, help="price plan id (needed if several)")
    parser.add_argument(
        "--purpose", action="append", default=[], help="a permitted purpose (repeatable)"
    )
    parser.add_argument(
        "--choice",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="another licence parameter, e.g. --choice seats=2 --choice territory='\"worldwide\"'",
    )
    parser.add_argument("--idempotency-key", help="reuse to retry the same purchase safely")


def _choices(args: argparse.Namespace) -> dict[str, Any]:
    choices: dict[str, Any] = {}
    for item in args.choice:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--choice wants NAME=JSON, not {item!r}")
        try:
            choices[name] = json.loads(raw)
        except ValueError:
            choices[name] = raw  # a bare word is a string
    if args.purpose:
        choices["purposes"] = list(args.purpose)
    return choices


class Output:
    def __init__(self, as_json: bool, stream: TextIO) -> None:
        self.as_json = as_json
        self.stream = stream
        self.document: dict[str, Any] = {}

    def line(self, text: str) -> None:
        if not self.as_json:
            print(text, file=self.stream)

    def put(self, **values: Any) -> None:
        self.document.update(values)

    def finish(self) -> None:
        if self.as_json:
            json.dump(self.document, self.stream, ensure_ascii=False, indent=2, default=str)
            print(file=self.stream)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _order_line(order: dict[str, Any]) -> str:
    return (
        f"order {order['id']}: {order['status']} — {order.get('listing_title', '')} "
        f"{_yuan(int(order['amount_fen']))}"
    )


def _files(files: list[Downloaded]) -> list[dict[str, Any]]:
    return [{"path": str(f.path), "size": f.size, "sha256": f.sha256} for f in files]


# --- commands ------------------------------------------------------------------------------------


def cmd_search(trader: Trader, args: argparse.Namespace, out: Output) -> int:
    results = trader.search(args.query, page_size=args.limit)
    out.put(results=results)
    for item in results:
        out.line(
            f"{item['id']}\t{item['title']}\tfrom {_yuan(int(item['min_price_fen'] or 0))}"
            f"\t{item['seller']['name']}"
        )
    if not results:
        out.line("no listings found")
    return EXIT_OK if results else EXIT_NOT_FOUND


def cmd_buy(trader: Trader, args: argparse.Namespace, out: Output) -> int:
    if args.listing_id is None and args.order is None:
        raise ValueError("buy needs a LISTING_ID or --order")
    purchase = trader.buy(
        args.listing_id,
        plan_id=args.plan,
        choices=_choices(args),
        order_id=args.order,
        idempotency_key=args.idempotency_key,
    )
    _report_purchase(purchase.order, purchase.idempotency_key, purchase.steps, out)
    return EXIT_OK


def _report_purchase(order: dict[str, Any], key: str, steps: list[str], out: Output) -> None:
    out.put(order=order, idempotency_key=key, steps=steps)
    out.line(_order_line(order))
    out.line(f"this run: {', '.join(steps) or 'nothing left to do'}")
    out.line(f"idempotency key: {key} (re-run with --idempotency-key {key} to retry safely)")


def cmd_wait(trader: Trader, args: argparse.Namespace, out: Output) -> int:
    order = trader.wait_for_delivery(args.order_id, timeout=args.timeout, poll=args.poll)
    out.put(order=order)
    out.line(_order_line(order))
    return EXIT_OK


def cmd_download(trader: Trader, args: argparse.Namespace, out: Output) -> int:
    files = trader.download(args.order_id, args.out, version=args.version)
    out.put(files=_files(files))
    for f in files:
        out.line(f"{f.path}\t{f.size} bytes\tsha256 {f.sha256} verified")
    return EXIT_OK


def cmd_accept(trader: Trader, args: argparse.Namespace, out: Output) -> int:
    order = trader.accept(args.order_id, idempotency_key=args.idempotency_key)
    out.put(order=order)
    out.line(_order_line(order))
    return EXIT_OK


def cmd_trade(trader: Trader, args: argparse.Namespace, out: Output) -> int:
    results = trader.search(args.query)
    if args.max_price_fen is not None:
        results = [r for r in results if (r["min_price_fen"] or 0) <= args.max_price_fen]
    if not results:
        out.line("no listings found")
        out.put(order=None)
        return EXIT_NOT_FOUND
    listing = results[0]
    out.line(f"listing {listing['id']}: {listing['title']}")
    purchase = trader.buy(
        listing["id"],
        plan_id=args.plan,
        choices=_choices(args),
        idempotency_key=args.idempotency_key,
    )
    _report_purchase(purchase.order, purchase.idempotency_key, purchase.steps, out)
    order_id = int(purchase.order["id"])
    trader.wait_for_delivery(order_id, timeout=args.timeout)
    files = trader.download(order_id, args.out)
    out.put(files=_files(files))
    for f in files:
        out.line(f"{f.path}\t{f.size} bytes\tsha256 {f.sha256} verified")
    if not args.no_accept:
        # Only reached when every file matched its checksum: a bad delivery is never accepted.
        order = trader.accept(order_id, idempotency_key=f"{purchase.idempotency_key}:accept")
        out.put(order=order)
        out.line(_order_line(order))
    return EXIT_OK


COMMANDS: dict[str, Callable[[Trader, argparse.Namespace, Output], int]] = {
    "search": cmd_search,
    "buy": cmd_buy,
    "wait": cmd_wait,
    "download": cmd_download,
    "accept": cmd_accept,
    "trade": cmd_trade,
}


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    stdout = stdout or sys.stdout
    api_key = args.api_key or os.environ.get("EXCHANGE_API_KEY", "")
    if not args.base_url:
        parser.error("--base-url (or EXCHANGE_BASE_URL) is required")
    if not api_key:
        parser.error("--api-key (or EXCHANGE_API_KEY) is required")
    out = Output(args.json, stdout)
    try:
        api = ApiClient(
            args.base_url,
            api_key,
            timeout=args.http_timeout,
            retry=RetryPolicy(max_retries=args.max_retries),
            language=args.lang,
        )
        code = COMMANDS[args.command](Trader(api), args, out)
    except ValueError as exc:
        return _fail(out, EXIT_USAGE, "usage", str(exc))
    except ChecksumMismatch as exc:
        return _fail(out, EXIT_CHECKSUM, "checksum_mismatch", str(exc))
    except WaitTimeout as exc:
        return _fail(out, EXIT_TIMEOUT, "timeout", str(exc))
    except ApiError as exc:
        code = EXIT_UNAVAILABLE if exc.status >= 500 or exc.status == 429 else EXIT_API
        return _fail(out, code, "api_error", str(exc), api=exc.as_dict())
    except TransportError as exc:
        return _fail(out, EXIT_UNAVAILABLE, "unavailable", str(exc))
    except (TradeError, ClientError) as exc:
        return _fail(out, EXIT_FAILURE, "failed", str(exc))
    out.finish()
    return code


def _fail(out: Output, code: int, kind: str, message: str, **extra: Any) -> int:
    # Messages carry methods, paths and the API's own words; never the key or headers.
    print(f"error: {message}", file=sys.stderr)
    out.put(error={"kind": kind, "message": message, **extra}, exit_code=code)
    out.finish()
    return code
