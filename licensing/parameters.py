"""Licence parameters: what a template lets vary, what an offer allows, what a buyer chooses.

Three layers, each narrowing the one before:

* the template declares each parameter (kind, bounds, default, and who picks it: the seller, when
  making the offer, or the buyer, within the offer);
* the offer's `allowed` values narrow the template: a seller-picked parameter is fixed
  (`{"fixed": v}`); a buyer-picked one becomes `{"options": [...]}` (choice, multichoice,
  boolean), `{"min", "max", "allow_null"}` (integer; null means unlimited/perpetual) or
  `{"max_length"}` (text), or is fixed too;
* the buyer's `choices` pick a value for each buyer parameter within the offer; omitted ones take
  the template default when the offer allows it, else the offer's first option / its maximum.

Errors are Django ValidationErrors keyed by parameter name, so the API answers with field errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

KINDS = ("choice", "multichoice", "integer", "boolean", "text")


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    kind: str
    label_zh: str
    label_en: str
    chooser: str = "buyer"  # "buyer" picks within the offer; "seller" fixes it in the offer
    options: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    nullable: bool = False  # integer: None means unlimited / perpetual
    max_length: int = 200
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind}")
        if self.chooser not in ("buyer", "seller"):
            raise ValueError(f"unknown chooser {self.chooser}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = list(self.options)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParameterSpec:
        values = dict(data)
        values["options"] = tuple(values.get("options") or ())
        return cls(**values)

    @property
    def effective_options(self) -> tuple[Any, ...]:
        return (True, False) if self.kind == "boolean" else self.options

    # --- one value against the template -----------------------------------------------------

    def value_problem(self, value: Any) -> str | None:
        """Why `value` is not a legal value of this parameter under the template, or None."""
        if self.kind in ("choice", "boolean"):
            if value not in self.effective_options or isinstance(value, bool) != (
                self.kind == "boolean"
            ):
                return f"must be one of {_show(self.effective_options)}"
        elif self.kind == "multichoice":
            if not isinstance(value, list) or not value:
                return "must be a non-empty list"
            unknown = [v for v in value if v not in self.options]
            if unknown:
                return f"unknown {_show(unknown)}; choose from {_show(self.options)}"
            if len(set(value)) != len(value):
                return "lists a value twice"
        elif self.kind == "integer":
            if value is None:
                return None if self.nullable else "is required"
            if isinstance(value, bool) or not isinstance(value, int):
                return "must be a whole number" + (" or null" if self.nullable else "")
            if self.minimum is not None and value < self.minimum:
                return f"must be at least {self.minimum}"
            if self.maximum is not None and value > self.maximum:
                return f"must be at most {self.maximum}"
        elif self.kind == "text":
            if not isinstance(value, str) or not value.strip():
                return "must be a non-empty text"
            if any(ord(c) < 32 or c == "\x7f" for c in value):
                return "must not contain control characters"
            if len(value) > self.max_length:
                return f"must be at most {self.max_length} characters"
        return None


def _show(values: Any) -> str:
    return ", ".join("null" if v is None else str(v).lower() for v in values)


@dataclass
class _Errors:
    prefix: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(f"{self.prefix}{name}", []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def normalise_allowed(
    specs: Mapping[str, ParameterSpec], allowed: Mapping[str, Any], *, prefix: str = "allowed."
) -> dict[str, Any]:
    """Validate a seller's offer restrictions against the template; return the normal form for
    every parameter (omitted ones: the template's full range, or its default for seller ones)."""
    errors = _Errors(prefix)
    if not isinstance(allowed, Mapping):
        raise ValidationError({prefix.rstrip("."): ["must be an object"]})
    for name in allowed:
        if name not in specs:
            errors.add(name, "this template has no such parameter")
    out: dict[str, Any] = {}
    for name, spec in specs.items():
        given = allowed.get(name)
        if given is not None and not isinstance(given, Mapping):
            errors.add(name, 'must be an object such as {"fixed": value}')
            continue
        if given is None:
            given = {"fixed": spec.default} if spec.chooser == "seller" else _full_range(spec)
        if "fixed" in given:
            problem = spec.value_problem(given["fixed"])
            if problem:
                errors.add(name, problem)
            else:
                out[name] = {"fixed": given["fixed"]}
            continue
        if spec.chooser == "seller":
            errors.add(name, 'the seller fixes this parameter: give {"fixed": value}')
            continue
        normal = _narrowed(spec, given, name, errors)
        if normal is not None:
            out[name] = normal
    errors.raise_if_any()
    return out


def _full_range(spec: ParameterSpec) -> dict[str, Any]:
    if spec.kind in ("choice", "multichoice", "boolean"):
        return {"options": list(spec.effective_options)}
    if spec.kind == "integer":
        return {"min": spec.minimum, "max": spec.maximum, "allow_null": spec.nullable}
    return {"max_length": spec.max_length}


def _narrowed(
    spec: ParameterSpec, given: Mapping[str, Any], name: str, errors: _Errors
) -> dict[str, Any] | None:
    if spec.kind in ("choice", "multichoice", "boolean"):
        options = given.get("options")
        if not isinstance(options, list) or not options:
            errors.add(name, "give a non-empty list of options")
            return None
        bad = [o for o in options if spec.value_problem([o] if spec.kind == "multichoice" else o)]
        if bad:
            errors.add(name, f"not allowed by the template: {_show(bad)}")
            return None
        return {"options": list(dict.fromkeys(options))}
    if spec.kind == "integer":
        low, high = given.get("min", spec.minimum), given.get("max", spec.maximum)
        allow_null = bool(given.get("allow_null", False))
        for bound in (low, high):
            if bound is not None and spec.value_problem(bound):
                errors.add(name, f"bound {bound}: {spec.value_problem(bound)}")
                return None
        if allow_null and not spec.nullable:
            errors.add(name, "the template does not allow an unlimited value")
            return None
        if low is not None and high is not None and low > high:
            errors.add(name, "min must not exceed max")
            return None
        if low is None and high is None and not allow_null:
            errors.add(name, "give min/max or allow_null")
            return None
        return {"min": low, "max": high, "allow_null": allow_null}
    max_length = given.get("max_length", spec.max_length)
    if not isinstance(max_length, int) or not 1 <= max_length <= spec.max_length:
        errors.add(name, f"max_length must be between 1 and {spec.max_length}")
        return None
    return {"max_length": max_length}


def _within(spec: ParameterSpec, rule: Mapping[str, Any], value: Any) -> str | None:
    problem = spec.value_problem(value)
    if problem:
        return problem
    if "fixed" in rule:
        return (
            None if value == rule["fixed"] else f"the offer fixes this to {_show([rule['fixed']])}"
        )
    if "options" in rule:
        options = rule["options"]
        values = value if spec.kind == "multichoice" else [value]
        outside = [v for v in values if v not in options]
        return f"the offer allows only {_show(options)}" if outside else None
    if "max_length" in rule:
        return None if len(value) <= rule["max_length"] else "too long for this offer"
    if value is None:
        return None if rule.get("allow_null") else "the offer requires a number"
    low, high = rule.get("min"), rule.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return f"the offer allows {low if low is not None else '…'} to {high or '…'}"
    return None


def _default_within(spec: ParameterSpec, rule: Mapping[str, Any]) -> tuple[bool, Any]:
    """(found, value) — the value an omitted choice takes."""
    if "fixed" in rule:
        return True, rule["fixed"]
    if spec.default is not None and _within(spec, rule, spec.default) is None:
        return True, spec.default
    if "options" in rule:
        return True, (list(rule["options"]) if spec.kind == "multichoice" else rule["options"][0])
    if spec.kind == "integer":
        if rule.get("allow_null") and spec.default is None:
            return True, None
        return True, rule.get("max") if rule.get("max") is not None else rule.get("min")
    return False, None  # free text has no default: the buyer must say it


def resolve_choices(
    specs: Mapping[str, ParameterSpec],
    allowed: Mapping[str, Any],
    choices: Mapping[str, Any],
    *,
    partial: bool = False,
) -> dict[str, Any]:
    """The buyer's choices within the offer → a value for every parameter (field errors by name).
    `partial` leaves out parameters that have no default instead of requiring them."""
    errors = _Errors()
    if not isinstance(choices, Mapping):
        raise ValidationError({"choices": ["must be an object"]})
    for name in choices:
        if name not in specs:
            errors.add(name, "this licence has no such parameter")
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        rule = allowed.get(name) or _full_range(spec)
        if name in choices:
            problem = _within(spec, rule, choices[name])
            if problem:
                errors.add(name, problem)
            else:
                values[name] = choices[name]
            continue
        found, value = _default_within(spec, rule)
        if found:
            values[name] = value
        elif not partial:
            errors.add(name, "this choice is required")
    errors.raise_if_any()
    return values
