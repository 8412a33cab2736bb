"""Whole-value validators for Chinese personal identifiers (DESIGN.md section 6).

Each ``is_*`` function answers one question about one already-isolated value: "is this, after
normalisation, a well-formed identifier of that type?".  They are used twice: by column profiling
(the
share of sampled cells that pass) and by the free-text scanner (to confirm a regex candidate), so
they
must be cheap and must never raise on arbitrary input.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from operator import mul

# Full-width digits/letters/punctuation appear in Chinese text typed with a CJK IME; the validators
# see
# the ASCII form.  Only characters that can be part of an identifier are folded.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
FULLWIDTH_TABLE = str.maketrans(_FULLWIDTH)
_NEEDS_FOLD = re.compile("[\u3000\uff01-\uff5e]")

# Separators people put inside long numbers: spaces, hyphens, dashes.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u00a0]")


def normalise(value: str) -> str:
    """Full-width to ASCII and strip surrounding whitespace."""
    # The common cases; str.translate with a dict is slow.
    if value.isascii() or not _NEEDS_FOLD.search(value):
        return value.strip()
    return value.translate(FULLWIDTH_TABLE).strip()


def digits_only(value: str) -> str:
    """Normalise and remove separators (spaces, hyphens) inside a number."""
    return _SEPARATORS.sub("", normalise(value))


# --- resident identity card (GB 11643)

# First two digits of the region code: the 31 mainland provinces plus 71 (Taiwan, on some cards) and
# 81-83 (residence permits for Hong Kong, Macau and Taiwan residents).
PROVINCE_CODES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
        83,
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_LAST = frozenset("0123456789X")


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        d = date(year, month, day)
    except ValueError:
        return False
    # Nobody alive was born before 1900; nobody is born in the future (allow a small clock margin).
    return date(1900, 1, 1) <= d <= date(2100, 1, 1)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_id18_structure(d: str) -> bool:
    """Region and birth date are plausible (check character not verified); ``d`` is normalised."""
    if len(d) != 18 or not d[:17].isdigit() or not d.isascii():
        return False
    if int(d[:2]) not in PROVINCE_CODES:
        return False
    year, month, day = int(d[6:10]), int(d[10:12]), int(d[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    # Only days 29-31 need the calendar; skipping it keeps the common case cheap.
    return day <= 28 or _valid_date(year, month, day)


def id18_ok(d: str) -> bool:
    """Fast check on an already normalised, separator-free, upper-cased 18-character string."""
    return (
        d[17:] in _ID_LAST
        and is_id18_structure(d)
        and _ID_CHECK[sum(map(mul, map(int, d[:17]), _ID_WEIGHTS)) % 11] == d[17]
    )


def is_resident_id18(value: str) -> bool:
    return id18_ok(digits_only(value).upper())


def is_resident_id15(value: str) -> bool:
    """Legacy 15-digit card: region(6) + YYMMDD + sequence(3), no check digit, issued 19xx."""
    d = digits_only(value)
    if len(d) != 15 or not d.isdigit() or not d.isascii():
        return False
    if int(d[:2]) not in PROVINCE_CODES:
        return False
    return _valid_date(1900 + int(d[6:8]), int(d[8:10]), int(d[10:12]))


def is_resident_id(value: str) -> bool:
    return is_resident_id18(value) or is_resident_id15(value)


# --- phones


def strip_country_code(d: str) -> str:
    if d.startswith("+86"):
        return d[3:]
    if d.startswith("0086"):
        return d[4:]
    return d


def is_mobile(value: str) -> bool:
    d = strip_country_code(digits_only(value))
    return len(d) == 11 and d.isascii() and d.isdigit() and d[0] == "1" and d[1] in "3456789"


_LANDLINE = re.compile(r"^\(?0(?:10|2\d|[3-9]\d{2})\)?[-\s]?[2-9]\d{6,7}(?:-\d{1,5})?$")


def is_landline(value: str) -> bool:
    """0 + area code + 7-8 digit subscriber number (optional extension).

    Area codes 010 and 02x are three digits, all others four; the subscriber number never starts
    with 0 or 1.
    """
    v = normalise(value).replace("（", "(").replace("）", ")")
    for prefix in ("+86", "0086"):
        if v.startswith(prefix):
            v = v[len(prefix) :].lstrip(" -")
    return bool(_LANDLINE.match(v))


# --- bank cards


_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(d: str) -> bool:
    """Luhn (mod 10) check on an ASCII digit string."""
    digits = [ord(c) - 48 for c in d]
    return (sum(digits[-1::-2]) + sum(map(_LUHN_DOUBLE.__getitem__, digits[-2::-2]))) % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit to append to ``partial`` so the whole passes Luhn (used by tests and the bench)."""
    for c in "0123456789":
        if luhn_ok(partial + c):
            return c
    raise AssertionError("unreachable")


def card_scheme_ok(d: str) -> bool:
    """Issuer prefix and length are those of a real payment card scheme.

    Luhn alone passes one random number in ten, which would destroy 18-digit order numbers, so a
    card must also carry a known issuer prefix with a length that scheme issues: UnionPay 62
    (16-19),
    Visa 4 (13/16/19), Mastercard 51-55 and 2221-2720 (16), Amex 34/37 (15), JCB 35 (16-19),
    Discover
    60/65 (16-19), and the legacy domestic 9558/95599 (ICBC/ABC, 19).
    """
    n = len(d)
    if d.startswith("62"):
        return 16 <= n <= 19
    if d[0] == "4":
        return n in (13, 16, 19)
    if d[:2] in ("51", "52", "53", "54", "55") or 2221 <= int(d[:4]) <= 2720:
        return n == 16
    if d[:2] in ("34", "37"):
        return n == 15
    if d[:2] in ("35", "60", "65"):
        return 16 <= n <= 19
    if d.startswith(("9558", "95599")):
        return n == 19
    return False


def is_bank_card(value: str) -> bool:
    return bank_card_digits_ok(digits_only(value))


def bank_card_digits_ok(d: str) -> bool:
    """:func:`is_bank_card` for an already normalised, separator-free string."""
    if not (13 <= len(d) <= 19) or not d.isascii() or not d.isdigit():
        return False
    if not card_scheme_ok(d) or not luhn_ok(d):
        return False
    # A number that has a valid resident-ID region and birth date is an ID with a typo (or an order
    # number built like one), not a card: UnionPay's 62 collides with Gansu's region code.
    return not (len(d) == 18 and is_id18_structure(d))


# --- USCC (GB 32100)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    v = normalise(value).upper()
    if len(v) != 18 or any(c not in _USCC_VALUE for c in v):
        return False
    if not v[2:8].isdigit():  # the administrative region code
        return False
    return uscc_check_char(v[:17]) == v[17]


# --- email, IP

_EMAIL = re.compile(
    r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}$"
)


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(normalise(value)))


def is_ipv4(value: str) -> bool:
    v = normalise(value)
    parts = v.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or not p.isascii() or len(p) > 3 or (len(p) > 1 and p[0] == "0"):
            return False
        if int(p) > 255:
            return False
    return True


def is_ipv6(value: str) -> bool:
    v = normalise(value)
    if ":" not in v or len(v) < 3:
        return False
    try:
        ipaddress.IPv6Address(v)
    except ValueError:
        return False
    return sum(c in "0123456789abcdefABCDEF" for c in v) >= 2


def is_ip(value: str) -> bool:
    return is_ipv4(value) or is_ipv6(value)


# --- passport, vehicle plate

_PASSPORT = re.compile(r"^(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E?\d{7})$")


def is_passport(value: str) -> bool:
    """Chinese ordinary passports: E + 8 digits, E + letter + 7 digits (2012+), G + 8 (older)."""
    return bool(_PASSPORT.match(normalise(value).upper()))


PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_PLATE = re.compile(
    rf"^[{PLATE_PROVINCES}][A-HJ-NP-Z][·•\s]?"
    r"(?:[A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳]|[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF])$"
)


def is_plate(value: str) -> bool:
    """Ordinary plates (5 characters after the city letter) and new-energy plates (6, with D/F)."""
    v = normalise(value).upper()
    if not _PLATE.match(v):
        return False
    tail = v[-5:]
    # At most two letters among the serial on ordinary plates; avoids matching words like 京ABCDE.
    return sum(c.isalpha() and c.isascii() for c in tail) <= 2


# --- dates, ages, postcodes (quasi-identifiers) ---------------------------------------------------

_DATE = re.compile(
    r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)


def parse_date(value: str) -> tuple[int, int, int] | None:
    m = _DATE.match(normalise(value))
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return (y, mo, d) if _valid_date(y, mo, d) else None


def is_date(value: str) -> bool:
    return parse_date(value) is not None


def is_age(value: str) -> bool:
    v = normalise(value).removesuffix("岁")
    return v.isdigit() and v.isascii() and 0 <= int(v) <= 120


def is_postcode(value: str) -> bool:
    v = normalise(value)
    return len(v) == 6 and v.isdigit() and v.isascii() and v[0] in "0123456789" and v[:2] != "00"


GENDER_VALUES = frozenset(
    {"男", "女", "m", "f", "male", "female", "M", "F", "Male", "Female", "未知", "男性", "女性"}
)


def is_gender(value: str) -> bool:
    return normalise(value) in GENDER_VALUES
