"""The client's HTTP layer against a tiny scripted stdlib server: retries on 429 honouring
Retry-After, backoff on 5xx only for requests safe to repeat, the same Idempotency-Key and body
on every attempt, the API's error format, and the key kept out of errors and redirects."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from exchange.client.files import ChecksumMismatch, fetch_verified
from exchange.client.http import (
    ApiClient,
    ApiError,
    RetryPolicy,
    TransportError,
    parse_retry_after,
)

KEY = "dx_testprefix_notarealsecretbutsecretenough"
OK: tuple[int, dict[str, str], Any] = (200, {}, {"ok": True})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Script:
    """Answers to give, in order (the last one repeats), and the requests that came in."""

    answers: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def next_answer(self) -> tuple[int, dict[str, str], Any]:
        index = min(len(self.seen) - 1, len(self.answers) - 1)
        return self.answers[index]


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            script.seen.append(
                Seen(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
            )
            status, headers, payload = script.next_answer()
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def throttled(seconds: str) -> tuple[int, dict[str, str], Any]:
    body = {
        "type": "rate_limited",
        "code": "throttled",
        "message": f"Request was throttled. Expected available in {seconds} seconds.",
        "field_errors": {},
    }
    return 429, {"Retry-After": seconds, "Content-Type": "application/json"}, body


def client(url: str, **retry: Any) -> ApiClient:
    # Tiny backoff so 5xx tests are quick; Retry-After is honoured as sent whatever this says.
    policy = RetryPolicy(backoff_seconds=0.01, max_backoff_seconds=0.05, **retry)
    return ApiClient(url, KEY, timeout=5, retry=policy)


def test_429_waits_what_retry_after_says_then_succeeds(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [throttled("1"), throttled("1"), OK]
    started = time.monotonic()
    assert client(url).get("wallet/") == {"ok": True}
    assert len(script.seen) == 3
    gaps = [b.at - a.at for a, b in zip(script.seen, script.seen[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps
    assert time.monotonic() - started >= 1.9
    assert all(s.headers["Authorization"] == f"Api-Key {KEY}" for s in script.seen)
    assert script.seen[0].path == "/api/v1/wallet/"


def test_429_is_retried_even_for_a_post_without_a_key(server: tuple[str, Script]) -> None:
    # A throttled request was never processed, so repeating it cannot do anything twice.
    url, script = server
    script.answers = [throttled("0"), OK]
    assert client(url).post("orders/1/sign/", {"contract_hash": "ab" * 32}) == {"ok": True}
    assert len(script.seen) == 2


def test_gives_up_when_retry_after_is_too_long_or_retries_run_out(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.answers = [throttled("3600")]
    with pytest.raises(ApiError) as caught:
        client(url, max_retry_after_seconds=60).get("wallet/")
    assert caught.value.status == 429 and caught.value.retry_after == 3600
    assert len(script.seen) == 1

    script.seen.clear()
    script.answers = [throttled("0")]
    with pytest.raises(ApiError):
        client(url, max_retries=2).get("wallet/")
    assert len(script.seen) == 3


def test_5xx_retried_with_the_same_idempotency_key_and_body(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(503, {}, b"<html>busy</html>"), (502, {}, b""), OK]
    assert client(url).post("orders/7/fund/", {"a": 1}, idempotency_key="k-1") == {"ok": True}
    assert [s.headers["Idempotency-Key"] for s in script.seen] == ["k-1"] * 3
    assert {s.body for s in script.seen} == {b'{"a": 1}'}


def test_5xx_not_retried_for_a_post_that_may_have_taken_effect(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.answers = [(500, {}, b"oops"), OK]
    with pytest.raises(ApiError) as caught:
        client(url).post("orders/7/sign/", {"contract_hash": "ab" * 32})
    assert len(script.seen) == 1
    assert caught.value.code == "http_500" and caught.value.type == "error"


def test_in_flight_idempotency_key_is_retried(server: tuple[str, Script]) -> None:
    url, script = server
    in_flight = {
        "type": "conflict",
        "code": "idempotency_key_in_flight",
        "message": "A request with this Idempotency-Key is still being processed.",
        "field_errors": {},
    }
    script.answers = [(409, {}, in_flight), OK]
    assert client(url).post("orders/7/accept/", idempotency_key="k-2") == {"ok": True}
    assert len(script.seen) == 2


def test_error_format_is_parsed_and_the_key_never_shows(server: tuple[str, Script]) -> None:
    url, script = server
    body = {
        "type": "validation_error",
        "code": "invalid",
        "message": "The request has invalid fields.",
        "field_errors": {"price_plan": ["This field is required."]},
    }
    script.answers = [(400, {}, body)]
    api = client(url)
    with pytest.raises(ApiError) as caught:
        api.post("orders/", {})
    error = caught.value
    assert (error.status, error.type, error.code) == (400, "validation_error", "invalid")
    assert error.field_errors == {"price_plan": ["This field is required."]}
    assert "price_plan: This field is required." in str(error)
    assert len(script.seen) == 1  # a 400 is an answer, not a failure to retry
    for text in (str(error), repr(error), repr(api)):
        assert KEY not in text and "testprefix" not in text


def test_connection_errors_are_retried_for_gets_only() -> None:
    # Nothing listens on this port (bound, then closed).
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    api = ApiClient(
        f"http://127.0.0.1:{port}", KEY, retry=RetryPolicy(max_retries=3), sleep=sleeps.append
    )
    with pytest.raises(TransportError) as caught:
        api.get("wallet/")
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]  # exponential backoff
    assert KEY not in str(caught.value)
    sleeps.clear()
    with pytest.raises(TransportError):
        api.post("orders/1/sign/", {})
    assert sleeps == []


def test_etag_polling_reuses_the_body_on_304(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(200, {"ETag": 'W/"v1"'}, {"status": "funded"}), (304, {}, b"")]
    api = client(url)
    assert api.get("orders/3/") == {"status": "funded"}
    assert api.get("orders/3/") == {"status": "funded"}
    assert script.seen[1].headers["If-None-Match"] == 'W/"v1"'


def test_downloads_send_no_api_key_and_verify_the_checksum(
    server: tuple[str, Script], tmp_path: Path
) -> None:
    url, script = server
    script.answers = [(200, {}, b"id,value\n1,2\n")]
    import hashlib

    good = hashlib.sha256(b"id,value\n1,2\n").hexdigest()
    done = fetch_verified(f"{url}/file", tmp_path / "a.csv", expected_sha256=good)
    assert done.path.read_bytes() == b"id,value\n1,2\n"
    assert "Authorization" not in script.seen[0].headers
    with pytest.raises(ChecksumMismatch):
        fetch_verified(f"{url}/file", tmp_path / "b.csv", expected_sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
