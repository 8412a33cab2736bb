"""Differences between two Frictionless Table Schemas: columns added, removed and retyped."""

from __future__ import annotations

from typing import Any, TypedDict


class ColumnRef(TypedDict):
    name: str
    type: str


class Retyped(TypedDict):
    name: str
    old_type: str
    new_type: str


class SchemaDiff(TypedDict):
    added: list[ColumnRef]
    removed: list[ColumnRef]
    retyped: list[Retyped]


def _columns(schema: dict[str, Any] | None) -> dict[str, str]:
    """name → type, in schema order. Frictionless defaults a missing type to "any"."""
    fields = (schema or {}).get("fields") or []
    return {
        str(f["name"]): str(f.get("type") or "any")
        for f in fields
        if isinstance(f, dict) and "name" in f
    }


def diff_schemas(old: dict[str, Any] | None, new: dict[str, Any] | None) -> SchemaDiff:
    """Compare by column name. A column renamed shows as one removed and one added: names are
    what buyers' code depends on, so a rename is a breaking change worth seeing as such."""
    before, after = _columns(old), _columns(new)
    return {
        "added": [{"name": n, "type": t} for n, t in after.items() if n not in before],
        "removed": [{"name": n, "type": t} for n, t in before.items() if n not in after],
        "retyped": [
            {"name": n, "old_type": before[n], "new_type": t}
            for n, t in after.items()
            if n in before and before[n] != t
        ],
    }


def is_empty(diff: SchemaDiff | dict[str, Any] | None) -> bool:
    return not diff or not (diff.get("added") or diff.get("removed") or diff.get("retyped"))


def summary(diff: SchemaDiff | dict[str, Any] | None) -> dict[str, int]:
    """Counts only, for audit events and notifications."""
    found: dict[str, Any] = dict(diff or {})
    return {k: len(found.get(k) or []) for k in ("added", "removed", "retyped")}
