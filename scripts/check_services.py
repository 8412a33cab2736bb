"""Stop early, naming the service, when PostgreSQL or Redis is not reachable."""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlparse

HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def main() -> int:
    checks = []
    database = urlparse(os.environ.get("DATABASE_URL", ""))
    if database.scheme.startswith("postgres"):
        checks.append(("PostgreSQL", database.hostname or "127.0.0.1", database.port or 5432))
    redis = urlparse(os.environ.get("REDIS_URL", "") or os.environ.get("CELERY_BROKER_URL", ""))
    if redis.scheme.startswith("redis"):
        checks.append(("Redis", redis.hostname or "127.0.0.1", redis.port or 6379))
    failed = [(name, host, port) for name, host, port in checks if not reachable(host, port)]
    for name, host, port in failed:
        print(f"ERROR: {name} is not reachable at {host}:{port}. Start it, e.g.: {HINTS[name]}")
    if not failed:
        print("services: " + ", ".join(f"{n} {h}:{p} ok" for n, h, p in checks))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
