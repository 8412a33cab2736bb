"""k-anonymity over the quasi-identifiers, computed in a streaming way.

Pass 1 counts the combinations of quasi-identifier values at the policy's generalisation ("level 0")
over the whole file; only the counts are kept, so memory grows with the number of distinct
combinations, not rows.  Coarser levels are derived from those counts without re-reading the file:
every ladder step is a function of the previous value.  The plan then raises generalisation levels
greedily until at most ``max_suppression`` of the records sit in groups smaller than k, and
suppresses
(replaces by ``*``) the quasi-identifiers of the records still in small groups.  Pass 2 applies it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import CleaningError


def _band(width: int) -> Callable[[str], str]:
    def step(value: str) -> str:
        lo_text = value.split("-")[0]
        if not lo_text.isdigit():
            return "*"
        lo = int(lo_text) // width * width
        return f"{lo}-{lo + width - 1}"

    return step


def _prefix(keep: int) -> Callable[[str], str]:
    def step(value: str) -> str:
        return value[:keep] + "*" * (len(value) - keep) if value != "*" else "*"

    return step


def _suppress(_value: str) -> str:
    return "*"


# Ladders: level 0 is what the transform already produced; each later step coarsens the previous.
LADDERS: dict[str, tuple[Callable[[str], str], ...]] = {
    "birth_date": (_band(5), _band(10), _suppress),
    "age": (_band(20), _suppress),
    "postcode": (_prefix(2), _suppress),
    "gender": (_suppress,),
    "district": (_suppress,),
}
_DEFAULT_LADDER: tuple[Callable[[str], str], ...] = (_suppress,)
MAX_COMBINATIONS = 5_000_000


@dataclass
class KAnonymity:
    columns: list[str]
    kinds: list[str]
    k: int
    max_suppression: float
    counts: Counter[tuple[str, ...]] = field(default_factory=Counter)
    levels: list[int] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    _small: set[tuple[str, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.levels = [0] * len(self.columns)

    def observe(self, rows: Sequence[tuple[str, ...]]) -> None:
        self.counts.update(rows)
        self._check_size()

    def observe_counts(self, counted: Iterable[tuple[tuple[str, ...], int]]) -> None:
        """Like :meth:`observe`, for combinations already counted (one entry per distinct one)."""
        counts = self.counts
        for key, n in counted:
            counts[key] += n
        self._check_size()

    def _check_size(self) -> None:
        if len(self.counts) > MAX_COMBINATIONS:
            raise CleaningError(
                "too many distinct quasi-identifier combinations for k-anonymity; "
                "generalise or drop some quasi-identifier columns in the policy"
            )

    def _ladder(self, i: int) -> tuple[Callable[[str], str], ...]:
        return LADDERS.get(self.kinds[i], _DEFAULT_LADDER)

    def generalise(self, key: tuple[str, ...], levels: Sequence[int]) -> tuple[str, ...]:
        out = []
        for i, value in enumerate(key):
            for step in self._ladder(i)[: levels[i]]:
                value = step(value)
            out.append(value)
        return tuple(out)

    def _grouped(self, levels: Sequence[int]) -> Counter[tuple[str, ...]]:
        grouped: Counter[tuple[str, ...]] = Counter()
        for key, n in self.counts.items():
            grouped[self.generalise(key, levels)] += n
        return grouped

    def _violation(self, grouped: Counter[tuple[str, ...]]) -> tuple[int, float]:
        total = sum(grouped.values())
        small = sum(n for n in grouped.values() if n < self.k)
        return (min(grouped.values()) if grouped else 0), (small / total if total else 0.0)

    def plan(self) -> dict[str, Any]:
        total = sum(self.counts.values())
        grouped = self._grouped(self.levels)
        k_before, share_before = self._violation(grouped)
        # Greedy: raise the one level that lowers the share of records in small groups the most.
        while self._violation(grouped)[1] > self.max_suppression:
            best: tuple[float, int] | None = None
            for i in range(len(self.columns)):
                if self.levels[i] >= len(self._ladder(i)):
                    continue
                trial = list(self.levels)
                trial[i] += 1
                _, share = self._violation(self._grouped(trial))
                if best is None or share < best[0]:
                    best = (share, i)
            if best is None:
                break
            self.levels[best[1]] += 1
            grouped = self._grouped(self.levels)
        self._small = {key for key, n in grouped.items() if n < self.k}
        suppressed = sum(grouped[key] for key in self._small)
        after = {key: n for key, n in grouped.items() if key not in self._small}
        if suppressed:
            star = tuple("*" for _ in self.columns)
            after[star] = after.get(star, 0) + suppressed
        k_after = min(after.values()) if after else 0
        small_after = sum(n for n in after.values() if n < self.k)
        self.stats = {
            "quasi_identifiers": self.columns,
            "target_k": self.k,
            "records": total,
            "before": {
                "min_k": k_before,
                "share_below_k": round(share_before, 6),
                "groups": len(self.counts),
            },
            "generalisation_levels": dict(zip(self.columns, self.levels, strict=True)),
            "suppressed_records": suppressed,
            "after": {
                "min_k": k_after,
                "share_below_k": round(small_after / total, 6) if total else 0.0,
                "groups": len(after),
            },
        }
        return self.stats

    def apply(self, key: tuple[str, ...]) -> tuple[str, ...]:
        g = self.generalise(key, self.levels)
        if g in self._small:
            return tuple("*" for _ in g)
        return g

    def without_counts(self) -> KAnonymity:
        """A copy that applies the finished plan but holds none of the per-group counts (which can
        run to millions of combinations): what a worker process is sent."""
        copy = KAnonymity(self.columns, self.kinds, self.k, self.max_suppression)
        copy.levels = list(self.levels)
        copy.stats = self.stats
        copy._small = self._small
        return copy
