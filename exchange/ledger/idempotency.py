"""`Idempotency-Key` for money-moving API calls, with Stripe's semantics.

    class WithdrawalCreateView(APIView):
        @idempotent
        def post(self, request): ...

- The header is required (400 without it) by @idempotent. @idempotent_when_keyed (order
  creation, which moves no money yet) honours a key when one is sent and runs plainly without.
  Keys are scoped to the acting organisation (or to the user when it acts for none), so two
  tenants never collide.
- First use: the key is claimed by INSERTing a record in a transaction of its own, committed at
  once; a concurrent request with the same key hits the unique constraint and answers 409 while
  the first is in flight.
- The view then runs inside one database transaction together with the write of its response
  into the record: the effect and the stored response commit together or not at all. A crash
  leaves an in-flight record with no effect behind; after IDEMPOTENCY_LOCK_TIMEOUT_SECONDS it may
  be reclaimed and the request run again.
- Same key, same request (method, path, body): the stored response is replayed with the header
  `Idempotent-Replayed: true`. Same key, different request: 422.
- Responses below 500 are stored (a 400 "insufficient funds" replays too: the key names one
  attempt), except 401/403 (about the caller, not the operation: another member of the same
  organisation must not be answered with them) and 409/429 (a passing condition). Those, a 5xx
  or an unexpected exception release the key; nothing was committed.
- Records are kept IDEMPOTENCY_KEY_TTL_HOURS (default and minimum 24) and then purged by the
  beat task exchange.ledger.tasks.purge_idempotency_keys.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from exchange.ledger.models import IdempotencyRecord
from exchange.participants.permissions import acting_organisation

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

#: Add to @extend_schema(parameters=[...]) of every idempotent operation.
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique key (e.g. a UUID) per intended operation. Retrying with the same key and body "
        "replays the first response; the same key with a different body answers 422; a request "
        "still being processed answers 409. Keys are kept at least 24 hours."
    ),
)

#: The same header where it is optional (@idempotent_when_keyed).
IDEMPOTENCY_KEY_OPTIONAL_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional but recommended: a unique key (e.g. a UUID) per intended operation, so that a "
        "retry cannot create a second one. Retrying with the same key and body replays the first "
        "response; the same key with a different body answers 422; a request still being "
        "processed answers 409. Keys are kept at least 24 hours."
    ),
)


class IdempotencyKeyMissing(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "idempotency_key_missing"
    default_detail = (
        f"This operation moves money: send an {HEADER} header (a unique value such as a UUID, "
        f"at most {MAX_KEY_LENGTH} characters) so that a retry cannot run it twice."
    )


class IdempotencyKeyInvalid(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "idempotency_key_invalid"
    default_detail = (
        f"The {HEADER} header must be printable and at most {MAX_KEY_LENGTH} characters long."
    )


class IdempotencyKeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_in_flight"
    default_detail = (
        f"A request with this {HEADER} is still being processed. Retry after it has finished."
    )


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = (
        f"This {HEADER} was already used for a different request. "
        "Use a new key for a new operation."
    )


def ttl() -> timedelta:
    hours = max(24, int(getattr(settings, "IDEMPOTENCY_KEY_TTL_HOURS", 24)))
    return timedelta(hours=hours)


def lock_timeout() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 120)))


def principal_of(request: Request) -> str:
    organisation = acting_organisation(request)
    if organisation is not None:
        return f"org:{organisation.pk}"
    return f"user:{request.user.pk}"


def fingerprint(method: str, path: str, data: Any) -> str:
    # Canonical JSON: key order and whitespace do not make a request "different".
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


@dataclass
class Claim:
    record: IdempotencyRecord | None = None  # ours to run and complete
    replay: Response | None = None  # the stored response of an earlier run


def claim(
    *, principal: str, key: str, method: str, path: str, request_hash: str, now: datetime
) -> Claim:
    """Claim the key, or say why not (replay, 409, 422). Commits on its own."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                principal=principal,
                key=key,
                method=method,
                path=path[:300],
                request_hash=request_hash,
                locked_at=now,
                created_at=now,
                expires_at=now + ttl(),
            )
        return Claim(record=record)
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.get(principal=principal, key=key)
    if existing.expires_at <= now:
        # Expired but not yet purged: the key is free again.
        return _reclaim(existing, request_hash, now, reset=True, method=method, path=path)
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused()
    if existing.status == IdempotencyRecord.Status.COMPLETED:
        return Claim(replay=_replay(existing))
    if existing.locked_at <= now - lock_timeout():
        # Its request died without committing (effect and response commit together).
        return _reclaim(existing, request_hash, now, reset=False, method=method, path=path)
    raise IdempotencyKeyInFlight()


def _reclaim(
    existing: IdempotencyRecord,
    request_hash: str,
    now: datetime,
    *,
    reset: bool,
    method: str,
    path: str,
) -> Claim:
    token = uuid.uuid4()
    fields: dict[str, Any] = {"claim_token": token, "locked_at": now}
    if reset:
        fields |= {
            "status": IdempotencyRecord.Status.IN_FLIGHT,
            "request_hash": request_hash,
            "method": method,
            "path": path[:300],
            "response_status": None,
            "response_body": None,
            "created_at": now,
            "expires_at": now + ttl(),
        }
    # Conditional UPDATE: of two reclaimers only the one that still sees the old token wins.
    with transaction.atomic():
        won = IdempotencyRecord.objects.filter(
            pk=existing.pk, claim_token=existing.claim_token, status=existing.status
        ).update(**fields)
    if not won:
        raise IdempotencyKeyInFlight()
    existing.refresh_from_db()
    return Claim(record=existing)


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        record.response_body,
        status=record.response_status or status.HTTP_200_OK,
        headers={REPLAY_HEADER: "true"},
    )


def _storable(response: Response) -> bool:
    code = response.status_code
    return code < 500 and code not in (401, 403, status.HTTP_409_CONFLICT, 429)


class _Release(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, claim_token=record.claim_token).delete()


def _complete(record: IdempotencyRecord, response: Response) -> None:
    body = json.loads(json.dumps(response.data, cls=JSONEncoder))
    done = IdempotencyRecord.objects.filter(
        pk=record.pk, claim_token=record.claim_token, status=IdempotencyRecord.Status.IN_FLIGHT
    ).update(
        status=IdempotencyRecord.Status.COMPLETED,
        response_status=response.status_code,
        response_body=body,
    )
    if not done:
        # We outlived our lock and someone reclaimed the key: our effect must not commit.
        raise IdempotencyKeyInFlight()


Handler = TypeVar("Handler", bound=Callable[..., Response])


def idempotent(handler: Handler) -> Handler:
    """Decorate an APIView's post/put/patch/delete so it requires and honours Idempotency-Key."""
    return _idempotent(handler, required=True)


def idempotent_when_keyed(handler: Handler) -> Handler:
    """Like @idempotent, but a request without the header simply runs (not replay-safe)."""
    return _idempotent(handler, required=False)


def _idempotent(handler: Handler, *, required: bool) -> Handler:
    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = (request.headers.get(HEADER) or "").strip()
        if not key:
            if not required:
                return handler(view, request, *args, **kwargs)
            raise IdempotencyKeyMissing()
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            if not required:
                raise IdempotencyKeyInvalid()
            raise IdempotencyKeyMissing()
        now = timezone.now()
        got = claim(
            principal=principal_of(request),
            key=key,
            method=request.method or "",
            path=request.path,
            request_hash=fingerprint(request.method or "", request.path, request.data),
            now=now,
        )
        if got.replay is not None:
            return got.replay
        record = got.record
        assert record is not None
        try:
            with transaction.atomic():
                try:
                    # A savepoint: a failing handler leaves the outer transaction usable, so
                    # its (error) response can still be stored.
                    with transaction.atomic():
                        response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)  # re-raises what it cannot handle
                if not _storable(response):
                    raise _Release(response)
                _complete(record, response)
        except _Release as released:
            _release(record)
            return released.response
        except BaseException:
            _release(record)
            raise
        return response

    return wrapper  # type: ignore[return-value]


def purge_expired(now: datetime) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now).delete()
    return deleted
