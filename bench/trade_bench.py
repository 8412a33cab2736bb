"""Trading benchmark: full trades per second through the HTTP API against gunicorn on PostgreSQL.

    .venv/bin/python bench/trade_bench.py --clients 8 --trades 400 --workers 3 \\
        [--write /tmp/trade.md]   (then paste into docs/BENCHMARKS.md)

1. (Re)creates the dedicated database `exchange_tradebench` (DATABASE_URL's server; it is
   dropped), migrates it, and seeds one seller with an approved, published version (a file in a
   local storage folder), a one-time price plan with a licence offer, and one buyer organisation
   per client with an API key (scopes read + trade) and enough money.
2. Starts gunicorn (`exchange.wsgi`, --workers N) on a free loopback port with that database.
3. N client threads (http.client, keep-alive) each run full trades:
   POST /orders/ → POST /orders/<id>/sign/ → POST /orders/<id>/fund/ (Idempotency-Key)
   → POST /orders/<id>/download-links/ → POST /orders/<id>/accept/ (Idempotency-Key).
4. In the same run, the same N clients hammer GET /api/v1/me/ (a trivial authenticated endpoint)
   for as many requests as the trade phase made: the ratio shows what trading costs over the
   framework's floor (authentication, routing, one query).
5. Prints trades/s, requests/s, p50/p95 per step and per trade, errors; checks the ledger after.

Not part of the test suite. All data is synthetic.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "exchange_tradebench"
STEPS = ["create", "sign", "fund", "download-links", "accept"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(args: argparse.Namespace, storage_root: str) -> dict[str, str]:
    base = urlparse(args.database_url)
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "exchange.settings",
            "DATABASE_URL": urlunparse(base._replace(path=f"/{DB_NAME}")),
            "DJANGO_DEBUG": "0",
            "STORAGE_BACKEND": "local",
            "STORAGE_LOCAL_ROOT": storage_root,
            "API_KEY_THROTTLE_RATE": "100000000/min",
            "REDIS_URL": args.redis_url,
            "CELERY_BROKER_URL": args.broker_url,
            "CELERY_RESULT_BACKEND": args.redis_url,
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def recreate_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    import psycopg2

    base = urlparse(args.database_url)
    admin = psycopg2.connect(urlunparse(base._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
    admin.close()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def seed(clients: int, trades: int, price_fen: int) -> tuple[int, list[str]]:
    """Returns (price plan id, one API token per client)."""
    import hashlib
    import io
    from datetime import timedelta

    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from exchange.ledger import funding
    from exchange.participants.models import Membership, Organisation, PlatformRole, User
    from exchange.participants.services import create_api_key
    from exchange.storage import Area, get_storage
    from licensing import services as licensing
    from licensing.models import LicenceTemplate
    from listings.models import Listing, ListingVersion, PricePlan, VersionFile
    from tests.factories import make_uscc

    def member(name: str, kind: str) -> Membership:
        user = User.objects.create_user(f"{uuid.uuid4().hex[:10]}@bench.test", password=None)
        org = Organisation.objects.create(name=name, kind=kind, uscc=make_uscc(), status="verified")
        return Membership.objects.create(user=user, organisation=org, role="owner")

    ops = User.objects.create_user("ops@bench.test", password=None)
    ops.groups.add(Group.objects.get(name=PlatformRole.OPERATOR))
    seller = member("基准卖方有限公司", "seller")
    listing = Listing.objects.create(
        seller=seller.organisation, title="基准交通数据集", status="listed"
    )
    released = timezone.now() - timedelta(days=1)
    version = ListingVersion.objects.create(
        listing=listing,
        number=1,
        status="approved",
        pipeline_status="published",
        published_at=released,
        approved_at=released,
    )
    body = b"record_id,amount\n" + b"".join(b"R-%05d,1.5\n" % i for i in range(1000))
    key = f"listings/{listing.pk}/v1/data.csv"
    get_storage().put_stream(Area.PUBLISHED, key, io.BytesIO(body))
    VersionFile.objects.create(
        version=version,
        name="traffic.csv",
        format="csv",
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        storage_key=key,
    )
    plan = PricePlan.objects.create(listing=listing, kind="one_time", price_fen=price_fen)
    licensing.create_offer(
        actor=seller.user,
        price_plan=plan,
        template=LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True),
        allowed={},
    )
    tokens = []
    for i in range(clients):
        buyer = member(f"基准买方{i}有限公司", "buyer")
        funding.record_manual_deposit(
            operator=ops,
            organisation=buyer.organisation,
            amount_fen=price_fen * (trades // clients + 2),
            reason="benchmark funding",
        )
        issued = create_api_key(
            actor=buyer.user,
            organisation=buyer.organisation,
            name="bench",
            scopes=["read", "trade"],
        )
        tokens.append(issued.token)
    return plan.pk, tokens


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Api-Key {token}", "Content-Type": "application/json"}

    def call(
        self, method: str, path: str, body: Any = None, idempotent: bool = False
    ) -> tuple[int, Any, float]:
        headers = dict(self.headers)
        if idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            raise
        elapsed = time.perf_counter() - started
        return response.status, (json.loads(data) if data else None), elapsed


def trade(client: Client, plan_id: int, lat: dict[str, list[float]]) -> bool:
    api = "/api/v1/orders/"
    status, order, t = client.call("POST", api, {"price_plan": plan_id, "choices": {}})
    lat["create"].append(t)
    if status != 201:
        return False
    base = f"{api}{order['id']}/"
    calls = [
        ("sign", base + "sign/", {"contract_hash": order["contract"]["content_hash"]}, False),
        ("fund", base + "fund/", None, True),
        ("download-links", base + "download-links/", {}, False),
        ("accept", base + "accept/", None, True),
    ]
    for step, path, body, idem in calls:
        status, data, t = client.call("POST", path, body, idempotent=idem)
        lat[step].append(t)
        if status != 200:
            print(f"  {step} failed: {status} {data}", file=sys.stderr)
            return False
    return data["status"] == "settled"


def run_phase(clients: list[Client], work: Any, per_client: int) -> tuple[float, int]:
    errors = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def runner(client: Client) -> None:
        barrier.wait()
        for _ in range(per_client):
            try:
                ok = work(client)
            except Exception as exc:
                print(f"  error: {type(exc).__name__}: {exc}", file=sys.stderr)
                ok = False
            if not ok:
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=runner, args=(c,)) for c in clients]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, errors[0]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--trades", type=int, default=400, help="total full trades")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--price-fen", type=int, default=123_45)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/exchange"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--write", help="write the results as Markdown to this file")
    args = parser.parse_args()
    per_client = max(1, args.trades // args.clients)
    total = per_client * args.clients

    storage_root = tempfile.mkdtemp(prefix="tradebench-")
    env = bench_env(args, storage_root)
    print(f"recreating {DB_NAME} and migrating ...")
    recreate_database(args, env)
    os.environ.update(env)
    plan_id, tokens = seed(args.clients, total, args.price_fen)

    port = free_port()
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "exchange.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(port)
        clients = [Client(port, token) for token in tokens]
        # Warm-up: one trade and one /me/ per client (imports, connections, caches).
        warm: dict[str, list[float]] = {s: [] for s in STEPS}
        run_phase(clients, lambda c: trade(c, plan_id, warm), 1)
        me_warm: list[float] = []
        run_phase(clients, lambda c: me_call(c, me_warm), 1)

        lat: dict[str, list[float]] = {s: [] for s in STEPS}
        per_trade: list[float] = []

        def one_trade(client: Client) -> bool:
            started = time.perf_counter()
            ok = trade(client, plan_id, lat)
            per_trade.append(time.perf_counter() - started)
            return ok

        print(f"trading: {total} trades with {args.clients} clients, {args.workers} workers ...")
        trade_seconds, trade_errors = run_phase(clients, one_trade, per_client)
        requests_made = sum(len(v) for v in lat.values())

        me_lat: list[float] = []
        me_per_client = max(1, requests_made // args.clients)
        print(f"baseline: {me_per_client * args.clients} GET /api/v1/me/ ...")
        me_seconds, me_errors = run_phase(clients, lambda c: me_call(c, me_lat), me_per_client)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    ledger_ok = check_ledger_ok()
    all_trade_requests = [t for v in lat.values() for t in v]
    results = {
        "clients": args.clients,
        "gunicorn_workers": args.workers,
        "cpus": os.cpu_count(),
        "trades": total,
        "trade_errors": trade_errors,
        "trades_per_second": total / trade_seconds,
        "trade_requests_per_second": requests_made / trade_seconds,
        "trade_p50_ms": pct(per_trade, 0.5) * 1000,
        "trade_p95_ms": pct(per_trade, 0.95) * 1000,
        "trade_request_p50_ms": pct(all_trade_requests, 0.5) * 1000,
        "trade_request_p95_ms": pct(all_trade_requests, 0.95) * 1000,
        "steps": {
            s: {"p50_ms": pct(v, 0.5) * 1000, "p95_ms": pct(v, 0.95) * 1000, "n": len(v)}
            for s, v in lat.items()
        },
        "me_requests": len(me_lat),
        "me_errors": me_errors,
        "me_requests_per_second": len(me_lat) / me_seconds,
        "me_p50_ms": pct(me_lat, 0.5) * 1000,
        "me_p95_ms": pct(me_lat, 0.95) * 1000,
        "ledger_ok": ledger_ok,
    }
    results["request_rate_ratio"] = (
        results["me_requests_per_second"] / results["trade_requests_per_second"]
    )
    print(json.dumps(results, indent=2, default=float))
    if args.write:
        Path(args.write).write_text(markdown(results), encoding="utf-8")
        print(f"wrote {args.write}")


def me_call(client: Client, sink: list[float]) -> bool:
    status, _, t = client.call("GET", "/api/v1/me/")
    sink.append(t)
    return status == 200


def check_ledger_ok() -> bool:
    from exchange.ledger.checks import check_ledger

    report = check_ledger()
    if not report.ok:
        print("LEDGER CHECK FAILED: " + "; ".join(report.problems[:5]), file=sys.stderr)
    return report.ok


def markdown(r: dict[str, Any]) -> str:
    steps = "\n".join(
        f"| {s} | {v['n']} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} |" for s, v in r["steps"].items()
    )
    return f"""# Trading benchmark

`bench/trade_bench.py`: full trades through the HTTP API (API-key authentication) against gunicorn
on PostgreSQL, next to a trivial authenticated endpoint (`GET /api/v1/me/`) measured in the same
run with the same clients. A trade is five requests: create order (+ contract) → sign → fund
(escrow hold + licence, `Idempotency-Key`) → download links (licensing check, presigned links
recorded, order delivered) → accept (escrow released minus the fee, `Idempotency-Key`).

Command: `.venv/bin/python bench/trade_bench.py --clients {r["clients"]} --trades {r["trades"]}
--workers {r["gunicorn_workers"]}` on a {r["cpus"]}-CPU machine (clients, gunicorn and PostgreSQL
share it).

| measure | value |
|---|---|
| full trades | {r["trades"]} ({r["trade_errors"]} errors) |
| **trades per second** | **{r["trades_per_second"]:.1f}** |
| trade requests per second | {r["trade_requests_per_second"]:.1f} |
| trade latency p50 / p95 ms (5 requests) | {r["trade_p50_ms"]:.0f} / {r["trade_p95_ms"]:.0f} |
| request latency p50 / p95 ms | {r["trade_request_p50_ms"]:.1f} / {r["trade_request_p95_ms"]:.1f} |
| `GET /api/v1/me/` requests/s | {r["me_requests_per_second"]:.1f} ({r["me_errors"]} errors) |
| `GET /api/v1/me/` latency p50 / p95 | {r["me_p50_ms"]:.1f} ms / {r["me_p95_ms"]:.1f} ms |
| request-rate ratio (/me/ ÷ trade requests) | {r["request_rate_ratio"]:.1f}× |
| ledger check after the run | {"ok" if r["ledger_ok"] else "FAILED"} |

Per step:

| step | requests | p50 ms | p95 ms |
|---|---|---|---|
{steps}

Reading it: every money-moving step takes the audit chain's advisory lock (the hash chain must
append in order) and then the order and account rows, so writes are serialised platform-wide by
design: throughput is bounded by the length of those short transactions, not by the number of
gunicorn workers. Create is the most expensive step (the contract's Chinese and English texts and
its ODRL policy are rendered, frozen and hashed). Reads (`/me/`) do not take the chain lock.
"""


if __name__ == "__main__":
    main()
