"""How an audit entry's hash is computed: one function, shared by the writer and the verifier."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    *,
    prev_hash: str,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    organisation_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    changes: Any,
) -> str:
    # Sorted keys and fixed separators: PostgreSQL's jsonb reorders keys, so the hash must not
    # depend on the order a dict was built in.
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": canonical_time(created_at),
            "actor": actor_id,
            "actor_label": actor_label,
            "org": organisation_id,
            "action": action,
            "type": object_type,
            "id": object_id,
            "changes": changes,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()
