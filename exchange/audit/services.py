"""Recording audit events inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from exchange.audit.hashing import GENESIS_HASH, entry_hash
from exchange.audit.models import AuditEvent

# Any constant works; it names the one advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = 0x4155444954  # "AUDIT"


class AuditOutsideTransaction(RuntimeError):
    """record() ran outside a transaction: the event could outlive a rolled-back change."""


def lock_chain() -> None:
    """Take the chain's lock now (services that lock other rows first call this before them,
    so every transaction takes the chain lock first and none deadlock)."""
    # Two transactions appending at once would both read the same tail and fork the chain.
    # A transaction-scoped advisory lock makes appends take turns; it is released at commit, so
    # ids (drawn after the lock) follow chain order.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


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
    tail = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    prev_hash = tail or GENESIS_HASH
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
    return AuditEvent.objects.create(
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


def record_atomic(action: str, obj: models.Model | tuple[str, Any], **kwargs: Any) -> AuditEvent:
    """record() in a transaction of its own, for events that are the whole change (a login)."""
    with transaction.atomic():
        return record(action, obj, **kwargs)
