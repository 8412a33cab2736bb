"""Whole-column transforms: pyarrow (C++, RE2) for the common clean shapes, Python for the rest.

The scalar functions in :mod:`transforms` stay the definition of every transform.  Here each
transform has a *fast shape*: an RE2 full-match pattern for which the vectorised result is provably
the same as the scalar one (values that need no normalisation: no full-width characters, no
surrounding whitespace, the usual separators).  Cells of that shape are transformed in C++ over the
whole array; the remaining cells go through the scalar function once per distinct value.  Nulls and
empty strings are returned as they are.  ``tests/cleaning/test_columnar.py`` checks the equivalence
on generated values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from .lexicon import PROVINCES
from .transforms import (
    HMAC_IN_C,
    Pseudonymizer,
    canonical,
    generalise_address,
    generalise_date,
    map_distinct,
    mask,
)

# A value normalise() returns unchanged: first and last characters are neither whitespace nor
# full-width, and nothing inside is full-width (U+FF01-U+FF5E, U+3000).
_HAN = r"\x{4e00}-\x{9fff}"
_PLAIN = rf"^[{_HAN}!-~](?:[^\x{{3000}}\x{{ff01}}-\x{{ff5e}}]*[{_HAN}!-~])?$"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"

# kind -> (fast shape, how the canonical form is derived from a cell of that shape)
_CANON_FAST: dict[str, tuple[str, str]] = {
    "id_card": (r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$", "upper"),
    "mobile": (r"^1[0-9]{10}$", "same"),
    "bank_card": (r"^[0-9]{12,19}$", "same"),
    "landline": (r"^0[0-9]{2,3}-?[0-9]{7,8}$", "no_dash"),
    "email": (r"^[A-Za-z0-9._%+@\-]+$", "lower"),
    "ip": (r"^[0-9A-Fa-f.:]+$", "lower"),
    "passport": (r"^[A-Za-z0-9]+$", "upper"),
    "uscc": (r"^[A-Za-z0-9]+$", "upper"),
    "plate": (rf"^[{_HAN}][A-Za-z0-9]+$", "upper"),
}

# kind -> (fast shape, characters kept at the start, characters kept at the end): on a cell of that
# shape transforms.mask() keeps both ends and stars the middle, one star per character.  Three
# vectorised string kernels do it whatever the length (one RE2 replacement per length was 8 passes
# for bank cards).
_MASK_ENDS: dict[str, tuple[str, int, int]] = {
    # Not 0086...: mask() strips that prefix, so such a cell is not "3 + 4 kept".
    "mobile": (r"^[1-9][0-9]{10}$", 3, 4),
    "bank_card": (r"^[0-9]{12,19}$", 6, 4),
    "id_card": (r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$", 2, 1),
    "plate": (rf"^[{_HAN}][A-Z][A-Z0-9]{{5,6}}$", 2, 0),
    "passport": (r"^[A-Z][A-Z0-9]{8}$", 1, 2),
    "uscc": (r"^[0-9A-Z]{18}$", 8, 0),
}

# kind -> [(fast shape, RE2 replacement)], tried in order; each reproduces transforms.mask().
_MASK_FAST: dict[str, list[tuple[str, str]]] = {
    "email": [(r"^([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+)$", r"\1***@\2")],
    "ip": [(rf"^({_OCTET}\.{_OCTET})\.{_OCTET}\.{_OCTET}$", r"\1.*.*")],
    "landline": [
        (rf"^(0[0-9]{{2,3}})-[0-9]{{{n - 2}}}([0-9]{{2}})$", r"\1-" + "*" * (n - 2) + r"\2")
        for n in (7, 8)
    ],
}

_PROV = "(?:" + "|".join(re.escape(p) for p in PROVINCES) + ")"
# transforms._ADDR_PREFIX in RE2 (leftmost-first, so the same match as Python's backtracking).
# Every part is optional, so it matches every cell; extracting it (rather than replacing the whole
# cell by it) spares RE2 the rest of the cell, ~40% of the time.
_ADDR_PREFIX_RE2 = (
    rf"(?s)^(?P<prefix>(?:{_PROV}(?:省|市|(?:壮族|回族|维吾尔)?自治区|特别行政区)?)?"
    rf"(?:[{_HAN}]{{1,7}}?(?:市|自治州|州|盟|地区))?)"
)
_YEAR = r"(19[0-9]{2}|20[0-9]{2})"
_DATE_FAST = rf"^{_YEAR}-(0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])$"


def _mask_of(arr: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False)


def non_empty(arr: pa.Array) -> pa.Array:
    return pc.fill_null(pc.greater(pc.utf8_length(arr), 0), False)


def _combine(
    arr: pa.Array,
    fast: pa.Array,
    fast_fn: Callable[[pa.Array], pa.Array],
    slow_fn: Callable[[str], str],
) -> pa.Array:
    """fast_fn over the cells where ``fast`` is true, slow_fn per distinct other non-empty value."""
    arr = arr.cast(pa.string()) if arr.type != pa.string() else arr
    slow = pc.and_(non_empty(arr), pc.invert(fast))
    n_fast = pc.sum(fast).as_py() or 0
    n_slow = pc.sum(slow).as_py() or 0
    out = arr
    if n_fast:
        sub = fast_fn(arr.filter(fast) if n_fast < len(arr) else arr)
        out = sub if n_fast == len(arr) else pc.replace_with_mask(out, fast, sub)
    if n_slow:
        out = pc.replace_with_mask(out, slow, map_distinct(arr.filter(slow), slow_fn))
    return out


def _canon_fast(kind: str, arr: pa.Array, how: str) -> pa.Array:
    if how == "upper":
        return pc.ascii_upper(arr) if kind != "plate" else pc.utf8_upper(arr)
    if how == "lower":
        return pc.ascii_lower(arr)
    if how == "no_dash":
        return pc.replace_substring(arr, "-", "")
    return arr


def pseudonymise(arr: pa.Array, kind: str, pseudo: Pseudonymizer) -> pa.Array:
    """Keyed pseudonym of every non-empty cell (one HMAC per distinct canonical value in Python,
    one per cell in C)."""
    pattern, how = _CANON_FAST.get(kind, (_PLAIN, "same"))
    fast = _mask_of(arr, pattern)

    def fast_fn(sub: pa.Array) -> pa.Array:
        canon = _canon_fast(kind, sub, how)
        if HMAC_IN_C:
            # ~110 ns per MAC in C: cheaper than finding the distinct values first (~700 ns per
            # cell for pyarrow's dictionary_encode when most values differ, as identifiers do).
            return pseudo.token_array(kind, canon)
        enc = pc.dictionary_encode(canon)
        tokens = pseudo.token_array(kind, enc.dictionary)
        return pc.take(tokens, enc.indices)

    def slow_fn(value: str) -> str:
        return pseudo.tokens(kind, [canonical(kind, value)])[0]

    return _combine(arr, fast, fast_fn, slow_fn)


def mask_column(arr: pa.Array, kind: str) -> pa.Array:
    """transforms.mask() over a whole column."""
    if kind == "address":
        return generalise_address_column(arr)
    if kind in _MASK_ENDS:
        shape, first, last = _MASK_ENDS[kind]
        return _combine(
            arr,
            _mask_of(arr, shape),
            lambda sub: _keep_ends(sub, first, last),
            lambda s: mask(kind, s),
        )
    rules = _MASK_FAST.get(kind)
    if not rules:
        return map_distinct(arr, lambda s: mask(kind, s))
    fast = _mask_of(arr, "|".join(f"(?:{pattern})" for pattern, _ in rules))

    def fast_fn(sub: pa.Array) -> pa.Array:
        for pattern, repl in rules:
            sub = pc.replace_substring_regex(sub, pattern, repl)
        return sub

    return _combine(arr, fast, fast_fn, lambda s: mask(kind, s))


def _keep_ends(arr: pa.Array, first: int, last: int) -> pa.Array:
    """The first and last characters of every cell, one star for each character between."""
    stars = pc.binary_repeat("*", pc.subtract(pc.utf8_length(arr), first + last))
    parts = [pc.utf8_slice_codeunits(arr, 0, first), stars]
    if last:
        parts.append(pc.utf8_slice_codeunits(arr, -last))
    return pc.binary_join_element_wise(*parts, "")


def generalise_address_column(arr: pa.Array) -> pa.Array:
    """transforms.generalise_address() over a whole column (province and city, else "*")."""

    def fast_fn(sub: pa.Array) -> pa.Array:
        prefix = pc.struct_field(pc.extract_regex(sub, _ADDR_PREFIX_RE2), [0])
        return pc.if_else(pc.equal(prefix, ""), "*", prefix)

    return _combine(arr, _mask_of(arr, _PLAIN), fast_fn, generalise_address)


def generalise_date_column(arr: pa.Array, level: str) -> pa.Array:
    """transforms.generalise_date() over a whole column."""
    repl = r"\1-\2" if level == "month" else r"\1"

    def fast_fn(sub: pa.Array) -> pa.Array:
        return pc.replace_substring_regex(sub, _DATE_FAST, repl)

    return _combine(arr, _mask_of(arr, _DATE_FAST), fast_fn, lambda s: generalise_date(s, level))


def group_rows(arrays: list[pa.Array]) -> tuple[pa.Array, pa.Array, list[int]]:
    """Dense group ids of the rows' value combinations, the first row and the size of every group.

    ``codes[i]`` is the group of row ``i`` (0..groups-1); ``first[g]`` the first row of group ``g``,
    ``sizes[g]`` its number of rows.
    The combined code is re-encoded after every column, so it stays below rows x distinct values.
    """
    codes: pa.Array | None = None
    for arr in arrays:
        enc = pc.dictionary_encode(arr)
        idx = enc.indices.cast(pa.int64())
        if codes is None:
            codes = idx
        else:
            combined = pc.add(pc.multiply(codes, len(enc.dictionary)), idx)
            codes = pc.dictionary_encode(combined).indices.cast(pa.int64())
    assert codes is not None
    rows = pa.array(range(len(codes)), pa.int64())
    firsts = (
        pa.table({"g": codes, "i": rows})
        .group_by("g", use_threads=False)
        .aggregate([("i", "min"), ("i", "count")])
        .sort_by("g")
    )
    return codes, firsts.column("i_min").combine_chunks(), firsts.column("i_count").to_pylist()
