"""The Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

18 characters from the alphabet 0-9 A-H J-N P-R T U W-Y (no I, O, S, V, Z, which read like
digits). The last is a check character: (31 - sum(value_i * weight_i) mod 31) mod 31, mapped back
into the same alphabet.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(VALUES[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid USCC, or None when it is. The message never repeats the code."""
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({ch for ch in code if ch not in VALUES})
    if bad:
        return "contains characters outside 0-9 and A-Y without I, O, S, V, Z: " + "".join(bad)
    if check_character(code[:17]) != code[17]:
        return "the check character (the 18th) does not match"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None
