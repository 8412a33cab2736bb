"""Short-lived cache of catalogue search results (counts, facets, the ids of a page).

Entries are keyed by a *catalogue generation* token that every catalogue write replaces, so a
change is visible to the next search at once; the TTL only bounds memory. Keys also carry who is
asking (anonymous, an organisation, platform staff): visibility differs between them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "listings:catalogue-generation"
# Part of every key: bump it whenever the cached value changes shape, so that during a rolling
# deploy old and new processes never read (and fail to unpickle) each other's entries.
VALUE_FORMAT = 2


def ttl_seconds() -> int:
    return int(getattr(settings, "LISTINGS_SEARCH_CACHE_SECONDS", 60))


def generation() -> str:
    token = cache.get(GENERATION_KEY)
    if token is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(GENERATION_KEY) or "none"
    return str(token)


def _new_generation() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def invalidate() -> None:
    """Call inside the writing transaction. Replaced now (this process sees its own write) and
    again after commit (a reader that cached the pre-commit state in between is dropped too)."""
    _new_generation()
    transaction.on_commit(_new_generation)


def key(viewer_key: str, params: dict[str, Any]) -> str:
    digest = hashlib.sha256(
        json.dumps(params, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:32]
    return f"listings:search:v{VALUE_FORMAT}:{generation()}:{viewer_key}:{digest}"


def get(cache_key: str) -> Any:
    return cache.get(cache_key) if ttl_seconds() > 0 else None


def put(cache_key: str, value: Any) -> None:
    if ttl_seconds() > 0:
        cache.set(cache_key, value, timeout=ttl_seconds())
