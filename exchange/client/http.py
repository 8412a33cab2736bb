"""The HTTP side of the client: authentication, JSON, the API's error format, retries.

Standard library only (urllib): a trading script must run without Django or the platform's
settings.

Retry policy:
- 429 is retried for any request (a throttled request was not processed), waiting what the
  Retry-After header says.
- 5xx, connection errors and timeouts are retried only for requests that are safe to repeat:
  GET/HEAD, and POSTs that carry an Idempotency-Key (the server replays the first response), or
  that the caller declares harmless to repeat. Anything else might have taken effect, so it fails.
- 409 `idempotency_key_in_flight` (the first try of this very request is still running on the
  server) is retried like a 5xx.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/v1/"
USER_AGENT = "exchange-client/1"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD"})


class ClientError(Exception):
    """Base of everything this package raises on purpose."""


@dataclass
class ApiError(ClientError):
    """An error answer of the API, in its one format {"type", "code", "message", "field_errors"}.

    Carries the method and path, never headers: the API key must not end up in logs."""

    status: int
    type: str
    code: str
    message: str
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    method: str = ""
    path: str = ""
    retry_after: float | None = None

    def __str__(self) -> str:
        text = (
            f"{self.method} {self.path}: HTTP {self.status} {self.type}/{self.code}: {self.message}"
        )
        for name, messages in sorted(self.field_errors.items()):
            text += f"\n  {name}: {' '.join(messages)}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "field_errors": self.field_errors,
        }


class TransportError(ClientError):
    """The server could not be reached (or kept failing) after the retries allowed."""


@dataclass
class RetryPolicy:
    max_retries: int = 4
    backoff_seconds: float = 0.5  # first wait; doubles each retry
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 300.0  # a longer Retry-After is an error, not a nap

    def backoff(self, attempt: int) -> float:
        # Exponential with jitter, so many clients that failed together do not retry together.
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * (2**attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (not cryptographic)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def normalise_base_url(base_url: str) -> str:
    """The site root: accepts 'https://host', 'https://host/' or 'https://host/api/v1/'."""
    url = base_url.strip().rstrip("/")
    if url.endswith(API_PREFIX.rstrip("/")):
        url = url[: -len(API_PREFIX.rstrip("/"))]
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"the base URL must be http(s)://host[:port], not {base_url!r}")
    return url


def error_from_body(
    status: int, raw: bytes, *, method: str, path: str, retry_after: float | None = None
) -> ApiError:
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        body = None
    if isinstance(body, dict) and "code" in body:
        field_errors = body.get("field_errors") or {}
        return ApiError(
            status=status,
            type=str(body.get("type", "error")),
            code=str(body["code"]),
            message=str(body.get("message", "")),
            field_errors={str(k): [str(m) for m in v] for k, v in field_errors.items()},
            method=method,
            path=path,
            retry_after=retry_after,
        )
    # Not the API's format (a proxy's HTML page, an empty 502): say what we know.
    return ApiError(
        status=status,
        type="error",
        code=f"http_{status}",
        message="The server answered without the API's error format.",
        method=method,
        path=path,
        retry_after=retry_after,
    )


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    data: Any

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def replayed(self) -> bool:
        """The server answered from its idempotency record: the effect happened earlier."""
        return (self.header("Idempotent-Replayed") or "").lower() == "true"


class ApiClient:
    """`Authorization: Api-Key <key>`, JSON in and out, errors as ApiError, retries as above."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = USER_AGENT,
        language: str | None = None,
    ) -> None:
        if not api_key:
            raise ClientError("an API key is required")
        self.base_url = normalise_base_url(base_url)
        self._api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.user_agent = user_agent
        self.language = language  # error messages follow Accept-Language; codes never change
        # GET responses with an ETag: polling sends If-None-Match and reuses the body on 304.
        self._etags: dict[str, tuple[str, Any]] = {}

    def __repr__(self) -> str:  # never the key
        return f"ApiClient({self.base_url!r})"

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = self.base_url + API_PREFIX + path.lstrip("/")
        if params:
            query = {k: v for k, v in params.items() if v is not None}
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        return url

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        retry_safe: bool = False,
    ) -> Any:
        reply = self.request(
            "POST", path, body=body, idempotency_key=idempotency_key, retry_safe=retry_safe
        )
        return reply.data

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        retry_safe: bool = False,
    ) -> Reply:
        method = method.upper()
        url = self.url(path, params)
        repeatable = method in SAFE_METHODS or bool(idempotency_key) or retry_safe
        # The same bytes on every attempt: the server compares them to the key's first request.
        payload = None if body is None else json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            try:
                return self._once(method, url, payload, idempotency_key)
            except ApiError as error:
                wait = self._wait_for(error, attempt, repeatable)
                if wait is None:
                    raise
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if not repeatable or attempt >= self.retry.max_retries:
                    reason = getattr(exc, "reason", exc)
                    raise TransportError(f"{method} {path}: {reason}") from None
                wait = self.retry.backoff(attempt)
            attempt += 1
            self.sleep(wait)

    def _wait_for(self, error: ApiError, attempt: int, repeatable: bool) -> float | None:
        """How long to wait before retrying after `error`, or None to give up."""
        if attempt >= self.retry.max_retries:
            return None
        if error.status == 429:
            wait = (
                error.retry_after if error.retry_after is not None else self.retry.backoff(attempt)
            )
            return wait if wait <= self.retry.max_retry_after_seconds else None
        if not repeatable:
            return None
        if error.status in RETRY_STATUSES:
            if error.retry_after is not None:
                return min(error.retry_after, self.retry.max_retry_after_seconds)
            return self.retry.backoff(attempt)
        if error.status == 409 and error.code == "idempotency_key_in_flight":
            return self.retry.backoff(attempt)
        return None

    def _once(
        self, method: str, url: str, payload: bytes | None, idempotency_key: str | None
    ) -> Reply:
        request = urllib.request.Request(url, data=payload, method=method)  # noqa: S310
        # Unredirected: urllib would otherwise copy the key onto a redirect to another host.
        request.add_unredirected_header("Authorization", f"Api-Key {self._api_key}")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", self.user_agent)
        if self.language:
            request.add_header("Accept-Language", self.language)
        if payload is not None:
            request.add_header("Content-Type", "application/json")
        if idempotency_key:
            request.add_header("Idempotency-Key", idempotency_key)
        cached = self._etags.get(url) if method == "GET" else None
        if cached:
            request.add_header("If-None-Match", cached[0])
        path = urllib.parse.urlsplit(url).path
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                status, headers = response.status, response.headers
        except urllib.error.HTTPError as exc:
            headers = exc.headers
            raw = exc.read()
            exc.close()
            if exc.code == 304 and cached:
                return Reply(304, dict(headers.items()), cached[1])
            retry_after = parse_retry_after(headers.get("Retry-After") if headers else None)
            raise error_from_body(
                exc.code, raw, method=method, path=path, retry_after=retry_after
            ) from None
        try:
            data = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            raise ClientError(f"{method} {path}: the answer is not JSON") from None
        etag = headers.get("ETag")
        if method == "GET" and etag:
            self._etags[url] = (etag, data)
        return Reply(status, dict(headers.items()), data)
