"""Free-text scanner: find personal identifiers inside running (Chinese) text and redact them.

Design, for speed and for Chinese:

* One precompiled master regex whose branches are tried in priority order; every branch starts with
  an explicit lookbehind instead of ``\\b`` (Chinese characters are word characters, so ``\\b``
  does not
  separate ``电话13812345678``).  Regexes only propose candidates; the validators in
  :mod:`validators` (checksums, dates, issuer prefixes) decide, so hard negatives such as 18-digit
  order
  numbers survive.
* A whole batch of cells is joined with a record separator and scanned in one call, which removes
the
  per-cell Python overhead that dominates on short cells.
* Full-width digits are matched directly (``[0-9０-９]``) and folded only inside the candidate, so
text
  that is not personal data is never rewritten.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from . import validators as v
from .lexicon import (
    COMMON_WORDS,
    COMPOUND_SURNAMES,
    CUES_AFTER,
    CUES_BEFORE,
    NAME_STOP_CHARS,
    NOT_GIVEN_NAME_CHARS,
    SINGLE_SURNAMES,
    SURNAME_SET,
)

# Kinds of personal data and the tag that replaces a span in free text.
TAGS: dict[str, str] = {
    "id_card": "[身份证号]",
    "mobile": "[手机号]",
    "landline": "[电话]",
    "bank_card": "[银行卡号]",
    "email": "[邮箱]",
    "ip": "[IP地址]",
    "passport": "[护照号]",
    "plate": "[车牌号]",
    "uscc": "[信用代码]",
    "name": "[姓名]",
    "address": "[地址]",
}

# Joins the cells of a batch; never produced by any pattern, so no match crosses a cell boundary.
CELL_SEP = "\x1e"

_D = "0-9０-９"
_ALNUM = "0-9A-Za-z０-９Ａ-Ｚａ-ｚ"
_HAN = "\u4e00-\u9fff"
_SURNAME_RE = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SINGLE_SURNAMES}])"
_CUE_BEFORE_RE = "|".join(sorted(CUES_BEFORE, key=len, reverse=True))
_CUE_AFTER_RE = "|".join(sorted(CUES_AFTER, key=len, reverse=True))
_CN_NUM = "一二三四五六七八九十百零〇"


def _trie_regex(words: Iterable[str]) -> str:
    """A regex alternation factored by common prefixes.

    ``re`` tries alternatives one by one; factoring lets it reject a position after one character,
    which matters with ~100 cue words scanned over megabytes of text.
    """
    trie: dict[str, dict] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            body = "(?:" + body + ")?"
        return body

    return build(trie)


# Each pass starts with a literal or a character class, so ``re`` can skip ahead without trying the
# pattern at every position; combining them into one alternation made scanning 20x slower.
# 1. Runs of digits / capitals / number separators: IDs, phones, cards, IPv4, USCC, passports.
_ALNUM_RUN = re.compile(r"[0-9０-９+＋A-Z][0-9０-９A-Z \-.．xＸｘ]{6,60}")
# 2. Emails, anchored on the @.
_EMAIL_AT = re.compile(r"[@＠][A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])")
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
# 3. IPv6, anchored on a colon.
_IPV6_COLON = re.compile(r":[0-9A-Fa-f:.]{2,40}")
_HEX = frozenset("0123456789abcdefABCDEF")
# 4. Landlines with the area code in brackets.
# "\s" would match the cell separator (U+001E is whitespace to Python): spell the spaces out.
_SPACE = r"[ \t\u3000\u00a0]"
_PAREN_LANDLINE = re.compile(rf"[(（]0[{_D}]{{2,3}}[)）]{_SPACE}?[2-9][{_D}]{{6,7}}(?![{_D}])")
# 5. Vehicle plates.
_PLATE_RE = re.compile(rf"[{v.PLATE_PROVINCES}][A-HJ-NP-Z][·•]?[A-HJ-NP-Z0-9]{{5,6}}(?![{_ALNUM}])")
# 6. Name cue words (before or after a name).
_CUE_RE = re.compile(_trie_regex(set(CUES_BEFORE) | set(CUES_AFTER)))
_CUES_BEFORE = frozenset(CUES_BEFORE)
_CUES_AFTER = frozenset(CUES_AFTER)
_NAME_AFTER_CUE = re.compile(rf"(?:[:：]|{_SPACE}){{0,2}}(?:是|为)?({_SURNAME_RE}[{_HAN}]{{1,2}})")
_NAME_BEFORE_CUE = re.compile(rf"{_SURNAME_RE}[{_HAN}]{{1,2}}$")
# 7. Address anchors: road + house number, estate + building.
_ADDR_ANCHOR = re.compile(
    rf"[路街道巷弄同区园寓厦村苑场心][{_D}{_CN_NUM}A-Za-z]{{1,5}}(?:号楼|号|栋|幢|座)"
)
_ADDR_ROAD_END = frozenset("路街道巷弄同")

_ASCII_ALNUM = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ０１２３４５６７８９"
)
_RUN_TRIM = " -.．"
_DEC_POINT = ".．"
_DIGIT_GROUPS = re.compile(r"\+?[0-9]+[Xx]?(?:[ \-][0-9]+[Xx]?)*")
_SEP_SPLIT = re.compile(r"[ \-]+")
_WORD = re.compile(r"[^ \-]+")
_NOT_DOT = re.compile(r"[^.．]+")
_IPV4_IN_WORD = re.compile(r"(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.[0-9])")

# After an address anchor: building / unit / floor / room parts.
_ADDR_TAIL = re.compile(
    rf"(?:[{_D}A-Za-z{_CN_NUM}\-]{{1,6}}(?:号楼|栋|幢|座|单元|楼|层|室|号|户))*"
)
# Before an address anchor: the road or estate name reaches back to an administrative marker or to a
# non-place character; district, city and province stay (they are quasi-identifiers, not
# identifying).
_ADDR_STOP = frozenset(
    "省市区县镇乡村旗州住在于址是到从往的了和与及或为：:，。、；（）() \t\n" + CELL_SEP
)
_ADDR_MAX_LEFT = 12
_PLACE_CHAR = re.compile(rf"[{_HAN}0-9A-Za-z{_D}]")


class Finding(NamedTuple):
    """One span of personal data (a NamedTuple: built ~5x faster than a frozen dataclass)."""

    kind: str
    start: int
    end: int


def _name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim or reject a candidate name text[start:end] (surname + 1-2 characters)."""
    surname_len = 2 if text[start : start + 2] in COMPOUND_SURNAMES else 1
    given = text[start + surname_len : end]
    if not given:
        return None
    # Two given characters where the second one starts the next word ("张伟于", "李娜电话"): keep
    # one.
    if len(given) == 2 and (given[1] in NAME_STOP_CHARS or text[end - 1 : end + 1] in CUES_AFTER):
        end -= 1
        given = given[:1]
    if any(c in NOT_GIVEN_NAME_CHARS for c in given):
        return None
    if text[start : start + 2] in COMMON_WORDS or text[start:end] in COMMON_WORDS:
        return None
    return start, end


def _classify_digits(raw: str) -> str | None:
    """Decide what one number (possibly with separators, +86, full-width digits) is."""
    if raw.isascii() and raw.isdigit():
        d = raw
    else:
        d = v.digits_only(raw).upper()
        if d[:1] == "+":
            d = d[1:]
            if d.startswith("86") and v.is_mobile(d[2:]):
                return "mobile"
    n = len(d)
    if n == 11 and d[0] == "1" and d[1] in "3456789":
        return "mobile"
    if n == 18 and v.id18_ok(d):
        return "id_card"
    if n == 15 and v.is_resident_id15(d):
        return "id_card"
    if n == 13 and d.startswith("86") and v.is_mobile(d[2:]):
        return "mobile"
    if 13 <= n <= 19 and v.bank_card_digits_ok(d):
        return "bank_card"
    if n >= 15 and d.startswith("0086") and v.is_mobile(d[4:]):
        return "mobile"
    if ("-" in raw or " " in raw) and v.is_landline(raw):
        return "landline"
    return None


def _split_pieces(raw: str) -> list[tuple[int, int]]:
    """Spans of the separator-free pieces of a digit run."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^ \-]+", raw)]


def _digit_findings(raw: str, offset: int) -> list[Finding]:
    kind = _classify_digits(raw)
    if kind:
        return [Finding(kind, offset, offset + len(raw))]
    pieces = _split_pieces(raw)
    if len(pieces) < 2:
        return []
    # The run glued several numbers together ("2023-11-20 13812345678"): try windows of consecutive
    # pieces, longest first, left to right; cap the window so a long list of numbers stays linear.
    out: list[Finding] = []
    i = 0
    max_window = min(len(pieces), 6)
    while i < len(pieces):
        found = False
        for w in range(min(max_window, len(pieces) - i), 0, -1):
            a, b = pieces[i][0], pieces[i + w - 1][1]
            if w == len(pieces):
                continue  # the whole run was tried already
            kind = _classify_digits(raw[a:b])
            if kind:
                out.append(Finding(kind, offset + a, offset + b))
                i += w
                found = True
                break
        if not found:
            i += 1
    return out


def _address_span(text: str, start: int, end: int) -> tuple[int, int]:
    left = start
    limit = max(0, start - _ADDR_MAX_LEFT)
    while left > limit and text[left - 1] not in _ADDR_STOP and _PLACE_CHAR.match(text, left - 1):
        left -= 1
    m = _ADDR_TAIL.match(text, end)
    if m:
        end = m.end()
    return left, end


def _is_digit_piece(word: str) -> bool:
    core = word[1:] if word[:1] in "+＋" else word
    if core[-1:] in "XxＸｘ":
        core = core[:-1]
    return core.isdigit()


def _alnum_run_findings(text: str, s: int, e: int, out: list[Finding]) -> None:
    """Split one run of digits/capitals/separators into numbers and classify them."""
    run = text[s:e]
    glued_left = s > 0 and text[s - 1] in _ASCII_ALNUM
    if run.isdigit():
        # Fast path, by far the most common run: one plain number (full-width digits included).
        if len(run) >= 10 and not glued_left and (e == len(text) or text[e] not in _ASCII_ALNUM):
            kind = _classify_digits(run)
            if kind:
                out.append(Finding(kind, s, e))
        return
    if (
        _DIGIT_GROUPS.fullmatch(run)
        and not glued_left
        and (e == len(text) or text[e] not in _ASCII_ALNUM)
    ):
        # Second most common run: one number written in groups ("138-1234-5678", "+86 138...",
        # "6212 3456 ..."); the word-by-word path below would make it one group all the same.
        if len(run) - run.count(" ") - run.count("-") >= 10:
            out.extend(_digit_findings(run, s))
        return
    run = run.rstrip(_RUN_TRIM)
    dots = run.count(".") + run.count("．")
    if (
        dots != 3
        and len(run) - dots - run.count(" ") - run.count("-") < 10
        and not (run[0] in "EG" and len(run) >= 9)
    ):
        return  # neither an IPv4 address nor a 10+ digit number: dates, prices, short codes
    n = len(text)
    end = s + len(run)
    glued_right = end < n and end == e and text[end] in _ASCII_ALNUM
    words = [(m.start(), m.end()) for m in _WORD.finditer(run)]
    group: list[tuple[int, int]] = []

    def flush() -> None:
        if group:
            a, b = group[0][0], group[-1][1]
            raw = run[a:b]
            if len(raw) - raw.count(" ") - raw.count("-") >= 10:
                out.extend(_digit_findings(raw, s + a))
            group.clear()

    last = len(words) - 1
    for i, (a, b) in enumerate(words):
        word = run[a:b]
        if (i == 0 and glued_left) or (i == last and glued_right):
            flush()
            continue
        if "." in word or "．" in word:
            flush()
            if v.is_ipv4(word):
                out.append(Finding("ip", s + a, s + b))
                continue
            ip = _IPV4_IN_WORD.search(word)
            if ip and v.is_ipv4(ip.group()):  # "IP192.168.1.10": a label glued to the address
                out.append(Finding("ip", s + a + ip.start(), s + a + ip.end()))
                continue
            # A decimal point joins digits into a price or a measurement: those parts are not
            # identifiers.  Parts next to a dot with a non-digit on the other side still are.
            for pm in _NOT_DOT.finditer(word):
                pa, pb = pm.start(), pm.end()
                before = word[pa - 2] if pa >= 2 else ""
                after = word[pb + 1] if pb + 1 < len(word) else ""
                if before.isdigit() or after.isdigit():
                    continue
                part = word[pa:pb]
                if _is_digit_piece(part) and len(part) >= 10:
                    out.extend(_digit_findings(part, s + a + pa))
            continue
        if _is_digit_piece(word):
            group.append((a, b))
            continue
        flush()
        if len(word) == 18 and v.is_uscc(word):
            out.append(Finding("uscc", s + a, s + b))
        elif len(word) == 9 and v.is_passport(word):
            out.append(Finding("passport", s + a, s + b))
    flush()


# Characters that are both a surname and a common preposition/verb ending ("我和张先生",
# "感谢李女士").
_NAME_SHIFT_CHARS = frozenset("和向同于谢关都从由给")


def _cue_findings(text: str, out: list[Finding]) -> None:
    for m in _CUE_RE.finditer(text):
        cue = m.group()
        if cue in _CUES_BEFORE:
            nm = _NAME_AFTER_CUE.match(text, m.end())
            if nm:
                span = _name_span(text, nm.start(1), nm.end(1))
                if span:
                    out.append(Finding("name", *span))
                    continue
        if cue in _CUES_AFTER:
            ws = max(0, m.start() - 4)
            nm = _NAME_BEFORE_CUE.search(text[ws : m.start()])
            if not nm:
                continue
            a = ws + nm.start()
            cand = nm.group()
            # "感谢张先生", "我和李女士": the real name is the surname alone, which we keep.
            if len(cand) == 2 and cand[0] in _NAME_SHIFT_CHARS and cand[1] in SURNAME_SET:
                continue
            span = _name_span(text, a, m.start())
            if span:
                out.append(Finding("name", *span))


def scan(text: str) -> list[Finding]:
    """All findings in ``text``, sorted, overlapping ones merged."""
    out: list[Finding] = []
    append = out.append
    for m in _ALNUM_RUN.finditer(text):
        _alnum_run_findings(text, m.start(), m.end(), out)
    if "@" in text or "＠" in text:
        for m in _EMAIL_AT.finditer(text):
            left = m.start()
            limit = max(0, left - 64)
            while left > limit and text[left - 1] in _EMAIL_LOCAL:
                left -= 1
            if left < m.start():
                append(Finding("email", left, m.end()))
    if ":" in text:
        for m in _IPV6_COLON.finditer(text):
            a = m.start()
            limit = max(0, a - 4)
            while a > limit and text[a - 1] in _HEX:
                a -= 1
            if a > 0 and text[a - 1] in _ASCII_ALNUM:
                continue
            cand = text[a : m.end()].rstrip(".")
            if cand.count(":") >= 2 and v.is_ipv6(cand):
                append(Finding("ip", a, a + len(cand)))
    for m in _PAREN_LANDLINE.finditer(text):
        if m.start() == 0 or text[m.start() - 1] not in _ASCII_ALNUM:
            append(Finding("landline", m.start(), m.end()))
    for m in _PLATE_RE.finditer(text):
        if v.is_plate(m.group()):
            append(Finding("plate", m.start(), m.end()))
    _cue_findings(text, out)
    for m in _ADDR_ANCHOR.finditer(text):
        g = m.group()
        # Estates need a building suffix; "区3号" alone is too weak.
        if g[0] not in _ADDR_ROAD_END and g.endswith("号") and not g.endswith("号楼"):
            continue
        a, b = _address_span(text, m.start(), m.end())
        append(Finding("address", a, b))
    return _merge(out)


def _merge(findings: list[Finding]) -> list[Finding]:
    """Address expansion can reach back over an earlier finding; merge overlaps."""
    if len(findings) < 2:
        return findings
    findings.sort(key=_START)
    merged = [findings[0]]
    last = findings[0]
    for f in findings[1:]:
        if f.start < last.end:
            kind = f.kind if f.kind == "address" else last.kind
            last = merged[-1] = Finding(kind, last.start, max(last.end, f.end))
        else:
            merged.append(f)
            last = f
    return merged


_START = itemgetter(1)


def redact(text: str, counts: Counter[str] | None = None) -> str:
    """Replace every finding by its type tag; everything else is returned byte for byte."""
    findings = scan(text)
    if not findings:
        return text
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos : f.start])
        parts.append(TAGS[f.kind])
        pos = f.end
        if counts is not None:
            counts[f.kind] += 1
    parts.append(text[pos:])
    return "".join(parts)


def redact_many(
    cells: Sequence[str | None], counts: Counter[str] | None = None
) -> list[str | None]:
    """Redact a batch of cells in one regex pass (see module docstring)."""
    present = [c for c in cells if c]
    if not present:
        return list(cells)
    joined = CELL_SEP.join(present)
    if joined.count(CELL_SEP) != len(present) - 1:
        # A cell contains the separator itself: fall back to cell by cell.
        return [redact(c, counts) if c else c for c in cells]
    local: Counter[str] = Counter()
    parts = redact(joined, local).split(CELL_SEP)
    if len(parts) != len(present):
        # A finding spanned two cells (no pattern should allow it): never shift cells; redo them
        # one by one.
        return [redact(c, counts) if c else c for c in cells]
    if counts is not None:
        counts.update(local)
    out_iter = iter(parts)
    return [next(out_iter) if c else c for c in cells]


def kinds_in(text: str) -> set[str]:
    return {f.kind for f in scan(text)}


def kinds_per_cell(cells: Sequence[str]) -> dict[str, int]:
    """For each kind, the number of cells with at least one finding of it (one joined scan)."""
    found: dict[str, set[int]] = {}
    if any(CELL_SEP in c for c in cells):
        for i, c in enumerate(cells):
            for k in kinds_in(c):
                found.setdefault(k, set()).add(i)
    else:
        starts: list[int] = []
        pos = 0
        for c in cells:
            starts.append(pos)
            pos += len(c) + 1
        for f in scan(CELL_SEP.join(cells)):
            found.setdefault(f.kind, set()).add(bisect_right(starts, f.start) - 1)
    return {k: len(v) for k, v in found.items()}


def redact_known_values(
    cells: Sequence[str | None],
    known: Iterable[Sequence[str | None]],
    tag: str,
    counts: Counter[str],
) -> list[str | None]:
    """Remove, row by row, values of the same row's identifier columns that appear in free text.

    This catches a person's name written without any cue word ("张伟反映...") when the table also
    has that person in a name column, which is the common case in notes and comments.
    """
    out = list(cells)
    for values in known:
        for i, (cell, value) in enumerate(zip(out, values, strict=True)):
            if cell and value and len(value) >= 2 and value in cell:
                out[i] = cell.replace(value, tag)
                counts["name"] += 1
    return out


# --- the same scanner in C ------------------------------------------------------------------------

try:
    from . import _fastscan
except ImportError:  # pragma: no cover - setup.py builds it; without a compiler Python does it
    _fastscan = None  # type: ignore[assignment]

# The order of the counts _fastscan returns.
KIND_ORDER = tuple(TAGS)
ACCELERATED = _fastscan is not None
if _fastscan is not None:
    _fastscan.configure(
        [TAGS[k] for k in KIND_ORDER],
        list(CUES_BEFORE),
        list(CUES_AFTER),
        list(COMPOUND_SURNAMES),
        SINGLE_SURNAMES,
        sorted(COMMON_WORDS),
        "".join(sorted(NAME_STOP_CHARS)),
        "".join(sorted(NOT_GIVEN_NAME_CHARS)),
        "".join(sorted(_NAME_SHIFT_CHARS)),
        v.PLATE_PROVINCES,
        "".join(sorted(_ADDR_STOP)),
        sorted(v.PROVINCE_CODES),
    )


def redact_array(arr: pa.Array, counts: Counter[str] | None = None) -> pa.Array:
    """:func:`redact_many` over a whole string array, cell by cell.

    With the C scanner (``_fastscan.c``, a port of this module) no Python string is built: it
    reads the array's buffers and returns new ones.  Nulls stay null.
    """
    if _fastscan is None or arr.type != pa.string():
        return pa.array(redact_many(arr.to_pylist(), counts), type=pa.string())
    if len(arr) == 0:
        return arr
    # A null slot may still point at bytes: scan "" there, as Python skips None.
    filled = pc.fill_null(arr, "") if arr.null_count else arr
    _, offsets, data = filled.buffers()
    new_offsets, new_data, found = _fastscan.redact_array(offsets, data, filled.offset, len(filled))
    if counts is not None:
        for kind, n in zip(KIND_ORDER, found, strict=True):
            if n:
                counts[kind] += n
    return _rebuilt(arr, new_offsets, new_data)


def redact_known_array(
    arr: pa.Array, known: Sequence[pa.Array], tag: str, counts: Counter[str]
) -> pa.Array:
    """:func:`redact_known_values` over whole arrays (``known``: the row-aligned name columns)."""
    if _fastscan is None or any(a.type != pa.string() for a in (arr, *known)):
        cells = redact_known_values(arr.to_pylist(), [k.to_pylist() for k in known], tag, counts)
        return pa.array(cells, type=pa.string())
    # An empty value or cell is skipped exactly as a null is.
    filled = pc.fill_null(arr, "") if arr.null_count else arr
    columns = []
    for k in known:
        k = pc.fill_null(k, "") if k.null_count else k
        _, k_offsets, k_data = k.buffers()
        columns.append((k_offsets, k_data, k.offset))
    _, offsets, data = filled.buffers()
    new_offsets, new_data, replaced = _fastscan.redact_known(
        offsets, data, filled.offset, len(filled), columns, tag.encode()
    )
    if replaced:
        counts["name"] += replaced
    return _rebuilt(arr, new_offsets, new_data)


def _rebuilt(arr: pa.Array, offsets: bytes, data: bytes) -> pa.Array:
    """The string array made of the C code's new buffers, with ``arr``'s nulls."""
    out = pa.Array.from_buffers(
        pa.string(), len(arr), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    if arr.null_count:
        out = pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.string()))
    return out
