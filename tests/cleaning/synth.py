"""Synthetic personal data built with the engine's own checksum functions (never real data)."""

from __future__ import annotations

import random

from listings.cleaning import validators as v


def resident_id(rng: random.Random, province: int = 11) -> str:
    base = (
        f"{province}0105{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}"
        f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    return base + v.id_check_char(base)


def bad_check_id(rng: random.Random) -> str:
    good = resident_id(rng)
    wrong = next(c for c in "0123456789X" if c != good[-1])
    return good[:-1] + wrong


def bank_card(rng: random.Random, length: int = 19, prefix: str = "62") -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + v.luhn_check_digit(body)


def mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def uscc(rng: random.Random) -> str:
    body = "91" + "110108" + "".join(rng.choice(v.USCC_ALPHABET) for _ in range(9))
    return body + v.uscc_check_char(body)
