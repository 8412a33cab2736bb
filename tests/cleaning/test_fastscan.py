"""The C scanner (``_fastscan.c``) redacts exactly what the Python scanner in detectors.py redacts.

detectors.py is the definition; the C port must agree with it on every text, so these tests compare
the two on generated text built from the pieces the patterns care about (digits, separators,
full-width forms, cue words, surnames, address suffixes...), on identifiers with valid and broken
check characters, and on arbitrary Unicode.  The last test runs the whole engine both ways.
"""

import csv
import json
import random
from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listings.cleaning import _fastscan, anonymize_file, columnar, detectors, transforms
from listings.cleaning import lexicon as lx
from listings.cleaning import validators as v
from listings.cleaning.table_job import _count_changed

from .synth import bank_card, mobile, resident_id, uscc

PIECES = [
    *"0123456789０５+＋-. ．xXＸｘ@＠:()（）·•\n\t　\xa0：\x1e",
    *"路街区园号栋幢座室层户楼一十省市是为的和EGDSPAFIOZafz京沪使领",
    "号楼", "单元", "感谢", "com", "cn", "86", "0086", "010", "0755", "138", "62",
    "192.168.", "255", "1.2.3.4", "::", "fe80", "A1234", "D12345", "12345F",
    *lx.CUES_BEFORE[:30], *lx.CUES_AFTER[:15], *lx.COMPOUND_SURNAMES[:8],
    *lx.SINGLE_SURNAMES[:40], *sorted(lx.COMMON_WORDS)[:30],
]  # fmt: skip
PIECEWISE = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def _c(text: str) -> str:
    return _fastscan.redact_text(text)[0]


def test_the_accelerators_are_built():
    # The suite must never silently measure or test the Python fallback only.
    assert detectors.ACCELERATED
    assert transforms.HMAC_IN_C


@settings(max_examples=3000, deadline=None)
@given(text=PIECEWISE)
def test_same_redaction_on_text_made_of_pattern_pieces(text):
    assert _c(text) == detectors.redact(text)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80))
def test_same_redaction_on_arbitrary_text(text):
    assert _c(text) == detectors.redact(text)


def _numberish(rng: random.Random) -> str:
    """Identifiers (valid or with broken dates and checks), numbers, separators, glue."""

    def any_id() -> str:
        region = rng.choice(["110105", "310115", "620102", "830000", "990000"])
        year, month, day = rng.randint(1890, 2105), rng.randint(0, 13), rng.randint(0, 31)
        body = f"{region}{year:04d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        return body + (v.id_check_char(body) if rng.random() < 0.7 else rng.choice("0X5"))

    def any_card() -> str:
        prefix = rng.choice(["62", "4", "51", "2221", "34", "35", "60", "9558", "95599"])
        n = rng.choice([13, 15, 16, 17, 18, 19])
        body = prefix + "".join(rng.choice("0123456789") for _ in range(n - 1 - len(prefix)))
        return body + v.luhn_check_digit(body)

    makers = [
        any_id,
        any_card,
        lambda: mobile(rng),
        lambda: uscc(rng),
        lambda: str(rng.randint(0, 10 ** rng.randint(1, 20))),
        lambda: rng.choice(" -.．xX+"),
        lambda: rng.choice(["+86", "0086", "86", "(0", "0", "０", "E", "G", "EA", "PE"]),
        lambda: "".join(rng.choice("0123456789０１") for _ in range(rng.randint(1, 12))),
        lambda: rng.choice(["中", "号", "a", "Ｆ", "@b.cn", ":", "京A"]),
    ]
    text = "".join(rng.choice(makers)() for _ in range(rng.randint(1, 8)))
    # Some digits full-width, as a Chinese input method types them.
    return "".join(
        chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isdigit() and rng.random() < 0.1 else ch
        for ch in text
    )


def _shaped(rng: random.Random) -> str:
    """Text of each pattern's shape, with every length drawn around the pattern's limits."""

    def run(chars: str, lo: int, hi: int) -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))

    digits, han = "0123456789", "的人张伟科技路号"

    def grouped() -> str:
        # An identifier cut into 1-4 digit groups among other groups: the scanner tries windows
        # of up to 6 consecutive groups.
        value = rng.choice(
            [resident_id(rng), bank_card(rng), mobile(rng), "010" + run(digits, 8, 8)]
        )
        groups, i = [], 0
        while i < len(value):
            k = rng.randint(1, 4)
            groups.append(value[i : i + k])
            i += k
        before = [run(digits, 1, 4) for _ in range(rng.randint(0, 3))]
        after = [run(digits, 1, 4) for _ in range(rng.randint(0, 3))]
        return rng.choice(" -").join(before + groups + after)

    shapes = [
        grouped,
        # passports: [EG]\d{8} | E[A-HJ-NP-Z]\d{7} | [DSP]E?\d{7}
        lambda: rng.choice("EGDSPX") + rng.choice(["", "E", "A", "I", "e"]) + run(digits, 6, 9),
        # addresses: anchor, 0-7 middle characters, suffix, then 0-3 building/unit/room parts
        lambda: (
            rng.choice("路街区园村苑心")
            + run(digits + "一十Ab０", 0, 7)
            + rng.choice(["号", "号楼", "栋", "幢", "座", "室", ""])
            + "".join(
                run(digits + "A-一", 0, 8)
                + rng.choice(["号楼", "栋", "单元", "楼", "层", "室", "号", "户", "单"])
                for _ in range(rng.randint(0, 3))
            )
        ),
        # plates: province, letter, optional dot, 4-8 serial characters, then what follows
        lambda: (
            rng.choice("京沪粤使领")
            + rng.choice("ABIOaD")
            + rng.choice(["", "·", "•"])
            + run(digits + "DFABI", 4, 8)
            + rng.choice(["", "停", "x", "Ａ", "1"])
        ),
        # landlines, bare and in brackets, with prefixes and extensions
        lambda: (
            rng.choice(["", "+86 ", "0086-", "("])
            + "0"
            + run(digits, 1, 4)
            + rng.choice(["", "-", " ", ")", "）"])
            + run(digits, 5, 9)
            + rng.choice(["", "-" + run(digits, 0, 6)])
        ),
        lambda: (
            rng.choice("(（")
            + "0"
            + run(digits, 1, 4)
            + rng.choice(")）")
            + rng.choice(["", " ", "　"])
            + run(digits + "０", 5, 9)
        ),
        # IPv6 with compressed zeros and IPv4 tails
        lambda: (
            rng.choice(["", "x", "ab"])
            + ":".join(run("0123456789abcdefABCDEFg", 0, 5) for _ in range(rng.randint(1, 9)))
            + rng.choice(["", ".", "::1", ":1.2.3.4", ":01.2.3.4", "::"])
        ),
        # e-mail addresses: labels of 0-26 characters
        lambda: (
            run("abc._%+-1", 0, 4)
            + rng.choice("@＠")
            + ".".join(
                rng.choice([run("abcXYZ09-", 0, 26), "z" * rng.choice([1, 2, 23, 24, 25, 26])])
                for _ in range(rng.randint(1, 4))
            )
            + rng.choice(["", ".", "-", "中"])
        ),
        # 15-digit IDs (dates checked against 19xx)
        lambda: (
            rng.choice(["110105", "310115", "990000"])
            + rng.choice([run(digits, 6, 6), "000229", "040229", "010229", "991231", "001301"])
            + run(digits, 2, 4)
        ),
        # IPv4 inside words and prices
        lambda: (
            rng.choice(["", "IP", "v", "1"])
            + ".".join(run(digits + "０", 1, 4) for _ in range(rng.randint(2, 5)))
        ),
        # names after and before cue words
        lambda: (
            rng.choice(lx.CUES_BEFORE)
            + run(":： 　\t", 0, 3)
            + rng.choice(["", "是", "为"])
            + rng.choice([*lx.COMPOUND_SURNAMES[:5], *lx.SINGLE_SURNAMES[:20], "和"])
            + run(
                han
                + "".join(sorted(lx.NAME_STOP_CHARS))[:8]
                + "".join(sorted(lx.NOT_GIVEN_NAME_CHARS))[:5],
                0,
                3,
            )
            + rng.choice(["", "先生", "，", "\n"])
        ),
        lambda: (
            run(han + "和感谢\n", 0, 3)
            + rng.choice([*lx.COMPOUND_SURNAMES[:5], *lx.SINGLE_SURNAMES[:20]])
            + run(han + "".join(sorted(lx.NAME_STOP_CHARS))[:8], 0, 3)
            + rng.choice(["", "", "\n"])
            + rng.choice(lx.CUES_AFTER)
        ),
    ]
    return "".join(rng.choice(shapes)() for _ in range(rng.randint(1, 4)))


@settings(max_examples=300, deadline=None)
@given(rng=st.randoms(use_true_random=False))
def test_same_redaction_on_identifiers_and_numbers(rng):
    for _ in range(20):
        text = _numberish(rng)
        assert _c(text) == detectors.redact(text), text


@settings(max_examples=500, deadline=None)
@given(rng=st.randoms(use_true_random=False))
def test_same_redaction_around_every_patterns_limits(rng):
    for _ in range(20):
        text = _shaped(rng)
        assert _c(text) == detectors.redact(text), text


def test_same_counts_and_known_cases():
    rng = random.Random(3)
    rid, card, mob = resident_id(rng), bank_card(rng), mobile(rng)
    text = (
        f"患者张伟于今日来访，电话{mob[:3]}-{mob[3:7]}-{mob[7:]}，身份证{rid}，卡号{card}，"
        "邮箱zhang.san@example.com，登录IP192.168.1.10，车牌京A12345，住北京市朝阳区建国路88号3栋201室；"
        "订单号123456789012345678，金额123.45元，感谢李女士。"
    )
    expected: Counter[str] = Counter()
    redacted = detectors.redact(text, expected)
    got, counts = _fastscan.redact_text(text)
    assert got == redacted
    assert dict(zip(detectors.KIND_ORDER, counts, strict=True)) == {
        k: expected.get(k, 0) for k in detectors.KIND_ORDER
    }
    assert "123456789012345678" in got and "123.45" in got  # hard negatives survive


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(st.one_of(st.none(), PIECEWISE), max_size=12),
    start=st.integers(0, 3),
)
def test_arrays_redact_like_redact_many(cells, start):
    arr = pa.array(cells, pa.string()).slice(min(start, len(cells)))
    py_counts: Counter[str] = Counter()
    c_counts: Counter[str] = Counter()
    expected = detectors.redact_many(arr.to_pylist(), py_counts)
    assert detectors.redact_array(arr, c_counts).to_pylist() == expected
    assert c_counts == py_counts


NAMES = st.sampled_from(["张伟", "欧阳娜娜", "李", "", "王芳芳", "伟"])


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(
                st.none(),
                st.lists(st.sampled_from(["张伟", "欧阳娜娜", "王芳", "说", "，"]), max_size=6).map(
                    "".join
                ),
            ),
            st.one_of(st.none(), NAMES),
            st.one_of(st.none(), NAMES),
        ),
        max_size=10,
    )
)
def test_known_names_redact_like_the_python_loop(rows):
    cells = [r[0] for r in rows]
    first, second = [r[1] for r in rows], [r[2] for r in rows]
    py_counts: Counter[str] = Counter()
    c_counts: Counter[str] = Counter()
    expected = detectors.redact_known_values(cells, [first, second], "[姓名]", py_counts)
    got = detectors.redact_known_array(
        pa.array(cells, pa.string()),
        [pa.array(first, pa.string()), pa.array(second, pa.string())],
        "[姓名]",
        c_counts,
    )
    assert got.to_pylist() == expected
    assert c_counts == py_counts


@settings(max_examples=300, deadline=None)
@given(
    cells=st.lists(
        st.one_of(st.none(), st.text(alphabet="=+-@\t\r＝＋－＠1.e abc", max_size=6)), max_size=10
    ),
    start=st.integers(0, 3),
)
def test_formula_check_in_c_matches_the_scalar_rule(cells, start):
    arr = pa.array(cells, pa.string()).slice(min(start, len(cells)))
    expected = [None if c is None else transforms.neutralize_formula(c) for c in arr.to_pylist()]
    assert transforms.neutralize_formula_array(arr).to_pylist() == expected


def test_the_formula_trigger_check_answers_both_ways():
    # neutralize_formula_array would stay correct if the check always said yes (the RE2 path
    # runs then), so the check itself is asserted here.
    triggers = tuple(t.encode() for t in transforms.FORMULA_TRIGGERS)

    def check(cells: list[str | None], start: int = 0) -> bool:
        arr = pa.array(cells, pa.string()).slice(start)
        _, offsets, data = arr.buffers()
        return _fastscan.starts_with_any(offsets, data, arr.offset, len(arr), triggers)

    assert not check(["a", "1=2", "", None, "张三"])
    assert check(["a", "=SUM(A1)"])
    assert check(["a", "＋86 138"])  # full-width plus, three UTF-8 bytes
    assert not check(["=x", "safe"], start=1)  # the slice starts after the trigger


@pytest.mark.parametrize(
    "offsets, data, offset, length",
    [
        (b"\x00\x00\x00\x00\x09\x00\x00\x00", b"abc", 0, 1),  # past the data
        (b"\x05\x00\x00\x00\x01\x00\x00\x00", b"abcdef", 0, 1),  # decreasing
        (b"\x00\x00\x00\x00", b"", 0, 1),  # too few offsets
        (b"\x00\x00\x00\x00\x01\x00\x00\x00", b"a", 1, 1),  # offset beyond the offsets
        (b"\x00\x00\x00\x00\x02\x00\x00\x00", b"\xff\xfe", 0, 1),  # not UTF-8
    ],
)
def test_malformed_buffers_are_refused_not_read(offsets, data, offset, length):
    with pytest.raises(ValueError):
        _fastscan.redact_array(offsets, data, offset, length)


def _table(rng: random.Random, rows: int) -> list[list[str]]:
    out = [["姓名", "手机", "身份证号", "银行卡号", "车牌", "地址", "出生日期", "备注", "col9"]]
    for i in range(rows):
        name = rng.choice(lx.SINGLE_SURNAMES[:30]) + rng.choice("伟芳娜敏静强磊军")
        rid, mob = resident_id(rng), mobile(rng)
        note = rng.choice(
            [
                f"患者{name}来电，电话{mob}，卡号{bank_card(rng)}",
                f"{name}反映物流慢，订单号{rng.randint(10**17, 10**18 - 1)}",
                f"联系人：{rng.choice('王李张')}先生，邮箱u{i}@example.cn，IP 10.0.{i % 256}.1",
                f"住{rng.choice(['科技', '人民'])}路{rng.randint(1, 99)}号{rng.randint(1, 9)}栋",
                f"金额{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}元，日期2023-01-0{i % 9 + 1}",
            ]
        )
        out.append(
            [
                name,
                mob,
                rid,
                bank_card(rng),
                f"京A{rng.randint(10000, 99999)}",
                f"北京市朝阳区建国路{rng.randint(1, 99)}号",
                f"{rid[6:10]}-{rid[10:12]}-{rid[12:14]}",
                note,
                rng.choice(["好评", f"序列号10{rng.randint(10**8, 10**9 - 1)}", note]),
            ]
        )
    return out


def _python_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detectors, "_fastscan", None)
    monkeypatch.setattr(detectors, "ACCELERATED", False)
    monkeypatch.setattr(transforms, "_fastscan", None)
    monkeypatch.setattr(transforms, "_fasthmac", None)
    monkeypatch.setattr(columnar, "HMAC_IN_C", False)


def test_engine_output_and_report_are_the_same_without_the_accelerators(tmp_path, monkeypatch):
    src = tmp_path / "in.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(_table(random.Random(11), 3000))
    secret = b"test-secret-0123456789"
    fast = anonymize_file(src, tmp_path / "c.csv", secret=secret).to_dict()
    with monkeypatch.context() as m:
        _python_only(m)
        slow = anonymize_file(src, tmp_path / "py.csv", secret=secret).to_dict()
    assert (tmp_path / "c.csv").read_bytes() == (tmp_path / "py.csv").read_bytes()
    for report in (fast, slow):
        report.pop("seconds", None)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)
    # And the run did find things in the free text (the comparison is not of two empty files).
    findings = {c["name"]: c["counts"].get("findings", {}) for c in fast["columns"]}
    assert {"name", "mobile", "bank_card", "email", "ip", "address"} <= set(findings["备注"])


def test_changed_cells_are_counted_from_the_c_output():
    arr = pa.array(["电话13812345678", "好", None, ""], pa.string())
    new = detectors.redact_array(arr)
    assert new.to_pylist() == ["电话[手机号]", "好", None, ""]
    assert _count_changed(arr, new) == 1
