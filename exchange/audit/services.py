"""Recording audit events inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from exchange.audit.hashing import GENESIS_HASH, entry_hash
from exchange.audit.models import AuditEvent

# Any constant works; it names the one advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 0x4155444954  # "AUDIT"
# The chain's tail: the newest event, by the primary key index.
_TAIL_SQL = "SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1"
_INSERT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
_INSERT_SQL = "INSERT INTO audit_auditevent ({}) VALUES ({}) RETURNING id".format(  # noqa: S608
    ", ".join(f.column for f in _INSERT_FIELDS), ", ".join(["%s"] * len(_INSERT_FIELDS))
)


class AuditOutsideTransaction(RuntimeError):
    """record() ran outside a transaction: the event could outlive a rolled-back change."""


class _ChainHeld:
    """A no-op on_commit callback that marks "this transaction holds the chain lock" and, when
    `tail` is set, "and appended the event whose hash is `tail`".

    Django keeps on_commit callbacks exactly as long as the work they were registered with: a
    rollback of the transaction drops them all, a rollback to a savepoint drops those registered
    inside it, and a commit clears them. PostgreSQL releases a transaction-scoped advisory lock,
    and discards inserted rows, at the same moments (end of transaction, or rollback to a
    savepoint taken before the lock or the insert). So the newest marker left says whether the
    lock is held and, while it is, which event is the chain's tail: no other transaction can
    append while we hold the lock, the triggers forbid changing or deleting events, and every
    append goes through record(). Both save a query per call inside the critical section."""

    def __init__(self, tail: str | None = None) -> None:
        self.tail = tail

    def __call__(self) -> None:
        pass


def _chain_marker() -> _ChainHeld | None:
    if not connection.in_atomic_block:
        return None
    for _, func, _ in reversed(getattr(connection, "run_on_commit", None) or ()):
        if isinstance(func, _ChainHeld):
            return func
    return None


def _holds_chain() -> bool:
    return _chain_marker() is not None


def lock_chain() -> None:
    """Take the chain's lock now (services that lock other rows first call this before them,
    so every transaction takes the chain lock first and none deadlock)."""
    # Two transactions appending at once would both read the same tail and fork the chain.
    # A transaction-scoped advisory lock makes appends take turns; it is released at commit, so
    # ids (drawn after the lock) follow chain order.
    if connection.vendor != "postgresql":
        return
    # Re-taking a lock this transaction holds is a no-op for PostgreSQL but still a query, and a
    # trade step called it up to seven times while holding it (every record() and ledger post).
    # The critical section is what serialises all writes, so skip it when already held (see
    # _ChainHeld for why the marker is exact).
    if _holds_chain():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    if connection.in_atomic_block:
        transaction.on_commit(_ChainHeld())


def record(
    action: str,
    obj: models.Model | tuple[str, Any],
    *,
    actor: Any = None,
    organisation: Any = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the transaction that makes the change it describes.

    `obj` is a model instance or an (object_type, object_id) pair. `changes` is a small summary
    (field: [old, new], reason...): never personal data or secrets.
    """
    if not connection.in_atomic_block:
        raise AuditOutsideTransaction(f"audit event {action!r} recorded outside a transaction")
    if isinstance(obj, models.Model):
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
    else:
        object_type, object_id = obj[0], str(obj[1])
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    actor_label = "" if actor is None else str(getattr(actor, "email", None) or actor)
    organisation_id = getattr(organisation, "pk", organisation)
    payload = changes or {}

    lock_chain()
    marker = _chain_marker()
    if marker is not None and marker.tail is not None:
        prev_hash = marker.tail  # we appended the tail ourselves, under the lock we still hold
    else:
        # Read after the lock (a statement started before it could miss the previous holder's
        # append). Plain SQL on the primary key index: this runs while every writer waits.
        with connection.cursor() as cursor:
            cursor.execute(_TAIL_SQL)
            tail = cursor.fetchone()
        prev_hash = tail[0] if tail else GENESIS_HASH
    created_at = timezone.now()
    digest = entry_hash(
        prev_hash=prev_hash,
        created_at=created_at,
        actor_id=actor_id,
        actor_label=actor_label,
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=payload,
    )
    event = AuditEvent(
        created_at=created_at,
        actor_id=actor_id,
        actor_label=actor_label,
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=payload,
        prev_hash=prev_hash,
        hash=digest,
    )
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        return event
    # One prepared INSERT instead of the ORM's save(): the model has no signals or defaults to
    # apply, each field's value is adapted by the field itself exactly as save() would, and
    # building the ORM's INSERT cost more than running it, once per event, inside the critical
    # section.
    params = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _INSERT_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias
    # Registered after the insert succeeded, in the same savepoint: gone if it is undone.
    transaction.on_commit(_ChainHeld(tail=digest))
    return event


def record_atomic(action: str, obj: models.Model | tuple[str, Any], **kwargs: Any) -> AuditEvent:
    """record() in a transaction of its own, for events that are the whole change (a login)."""
    with transaction.atomic():
        return record(action, obj, **kwargs)
