"""Which transform each kind of column gets, and the re-identification target.

A policy is plain JSON so a seller can adjust it (see ``DEFAULT_POLICY`` for every key).  Per-column
overrides win over the per-kind defaults; they may also force a classification when profiling
guessed
wrong (e.g. ``{"columns": {"备注2": {"class": "free_text"}}}``).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CleaningError

IDENTIFIER_KINDS = (
    "name",
    "id_card",
    "mobile",
    "landline",
    "bank_card",
    "email",
    "ip",
    "passport",
    "plate",
    "uscc",
    "address",
    "mixed",
)
QUASI_KINDS = ("birth_date", "age", "gender", "postcode", "district", "ethnicity", "occupation")
CLASSES = ("identifier", "quasi_identifier", "free_text", "other")
TRANSFORMS = ("pseudonym", "mask", "generalise", "drop", "keep", "redact")

DEFAULT_POLICY: dict[str, Any] = {
    "version": 1,
    # Identifier columns: keyed pseudonyms where joins matter, masks where a partial value helps
    # the buyer (issuer of a card, area code of a landline), generalisation for addresses.
    "identifier_transforms": {
        "name": "pseudonym",
        "id_card": "pseudonym",
        "mobile": "pseudonym",
        "landline": "mask",
        "bank_card": "mask",
        "email": "pseudonym",
        "ip": "mask",
        "passport": "mask",
        "plate": "mask",
        "uscc": "pseudonym",
        "address": "generalise",
        "mixed": "pseudonym",
    },
    # Quasi-identifiers are generalised (then further, if k-anonymity needs it) or kept.
    "quasi_transforms": {
        "birth_date": "generalise",
        "age": "generalise",
        "gender": "keep",
        "postcode": "generalise",
        "district": "keep",
        "ethnicity": "keep",
        "occupation": "keep",
    },
    "generalise": {"date": "year", "age_band": 10, "postcode_digits": 3},
    "free_text": "redact",
    # Cells of unclassified text columns are scanned too, so a stray phone number in a "remarks"
    # column someone called "col7" is still caught.
    "scan_other_text_columns": True,
    "k_anonymity": {"enabled": True, "k": 5, "max_suppression": 0.05},
    "profiling": {"sample_rows": 2000, "identifier_share": 0.5, "name_share": 0.7},
    "columns": {},
}


@dataclass(frozen=True)
class ColumnOverride:
    cls: str | None = None
    kind: str | None = None
    transform: str | None = None


@dataclass(frozen=True)
class Policy:
    raw: dict[str, Any]
    columns: dict[str, ColumnOverride] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.raw["k_anonymity"]["k"])

    @property
    def k_enabled(self) -> bool:
        return bool(self.raw["k_anonymity"]["enabled"])

    @property
    def max_suppression(self) -> float:
        return float(self.raw["k_anonymity"]["max_suppression"])

    @property
    def sample_rows(self) -> int:
        return int(self.raw["profiling"]["sample_rows"])

    def transform_for(self, cls: str, kind: str | None) -> str:
        if cls == "identifier":
            return str(self.raw["identifier_transforms"].get(kind or "mixed", "pseudonym"))
        if cls == "quasi_identifier":
            return str(self.raw["quasi_transforms"].get(kind or "", "keep"))
        if cls == "free_text":
            return str(self.raw["free_text"])
        return "redact" if self.raw["scan_other_text_columns"] else "keep"

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)


def _merge(base: dict[str, Any], update: dict[str, Any], path: str = "") -> None:
    for key, value in update.items():
        where = f"{path}{key}"
        if key not in base:
            raise CleaningError(f"policy: unknown key '{where}'")
        if isinstance(base[key], dict) and key != "columns":
            if not isinstance(value, dict):
                raise CleaningError(f"policy: '{where}' must be an object")
            _merge(base[key], value, where + ".")
        else:
            base[key] = value


def _check(raw: dict[str, Any]) -> dict[str, ColumnOverride]:
    for kind, t in raw["identifier_transforms"].items():
        if kind not in IDENTIFIER_KINDS or t not in ("pseudonym", "mask", "generalise", "drop"):
            raise CleaningError(
                f"policy: identifier_transforms.{kind} must be pseudonym, mask, "
                "generalise or drop (identifiers can never be kept)"
            )
    for kind, t in raw["quasi_transforms"].items():
        if kind not in QUASI_KINDS or t not in ("generalise", "keep", "drop"):
            raise CleaningError(f"policy: quasi_transforms.{kind} must be generalise, keep or drop")
    if raw["free_text"] not in ("redact", "drop"):
        raise CleaningError("policy: free_text must be redact or drop")
    k = raw["k_anonymity"]
    if not isinstance(k.get("k"), int) or not 1 <= k["k"] <= 1000:
        raise CleaningError("policy: k_anonymity.k must be an integer from 1 to 1000")
    ms = k.get("max_suppression")
    if not isinstance(ms, int | float) or not 0 <= ms <= 1:
        raise CleaningError("policy: k_anonymity.max_suppression must be between 0 and 1")
    if raw["generalise"]["date"] not in ("year", "month"):
        raise CleaningError("policy: generalise.date must be year or month")
    if not isinstance(raw["columns"], dict):
        raise CleaningError("policy: columns must be an object keyed by column name")
    overrides: dict[str, ColumnOverride] = {}
    for name, spec in raw["columns"].items():
        if not isinstance(spec, dict) or set(spec) - {"class", "type", "transform"}:
            raise CleaningError(f"policy: columns.{name} accepts only class, type and transform")
        cls, kind, transform = spec.get("class"), spec.get("type"), spec.get("transform")
        if cls is not None and cls not in CLASSES:
            raise CleaningError(f"policy: columns.{name}.class must be one of {', '.join(CLASSES)}")
        if kind is not None and kind not in IDENTIFIER_KINDS + QUASI_KINDS:
            raise CleaningError(f"policy: columns.{name}.type is not a known type")
        if transform is not None and transform not in TRANSFORMS:
            raise CleaningError(f"policy: columns.{name}.transform is not a known transform")
        if transform == "keep" and (
            cls == "identifier" or (cls is None and kind in IDENTIFIER_KINDS)
        ):
            raise CleaningError(f"policy: columns.{name}: an identifier column cannot be kept")
        overrides[str(name)] = ColumnOverride(cls, kind, transform)
    return overrides


def load_policy(source: dict[str, Any] | str | os.PathLike[str] | None = None) -> Policy:
    """The default policy updated with ``source`` (a dict, or a path to a JSON file)."""
    raw = copy.deepcopy(DEFAULT_POLICY)
    if source is not None:
        if isinstance(source, str | os.PathLike):
            try:
                data = json.loads(Path(source).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CleaningError(
                    f"policy file unreadable or not JSON ({type(exc).__name__})"
                ) from None
        else:
            data = copy.deepcopy(source)
        if not isinstance(data, dict):
            raise CleaningError("policy must be a JSON object")
        _merge(raw, data)
    return Policy(raw=raw, columns=_check(raw))
