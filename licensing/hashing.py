"""Freezing a contract: one canonical byte string of everything the parties agree to, and its
SHA-256. The same function verifies a stored row and any exported copy."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

CONTRACT_FORMAT = "data-exchange-contract/1"


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same document always gives the same bytes."""
    return json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def contract_document(
    *, terms: Mapping[str, Any], text_zh: str, text_en: str, policy: Mapping[str, Any]
) -> dict[str, Any]:
    """The signed document: structured terms, both texts and the ODRL policy."""
    return {
        "format": CONTRACT_FORMAT,
        "terms": dict(terms),
        "text_zh": text_zh,
        "text_en": text_en,
        "policy": dict(policy),
    }


def sha256_hex(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def matches(document: Mapping[str, Any], expected_hash: str) -> bool:
    return hmac.compare_digest(sha256_hex(document), (expected_hash or "").lower())
