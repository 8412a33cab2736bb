"""The whole-column (pyarrow) transforms give exactly what the scalar transforms give."""

import random

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from listings.cleaning import columnar
from listings.cleaning.transforms import (
    Pseudonymizer,
    generalise_address,
    generalise_date,
    mask,
)

from .synth import bank_card, mobile, resident_id, uscc

FULL = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}


def _values(seed: int = 1) -> dict[str, list[str | None]]:
    rng = random.Random(seed)
    mob, rid, card = mobile(rng), resident_id(rng), bank_card(rng)
    return {
        "mobile": [
            mob,
            f"{mob[:3]}-{mob[3:7]}-{mob[7:]}",
            f"+86 {mob}",
            mob.translate(FULL),
            f" {mob} ",
            "12345",
            "00861381234",  # 11 digits, but mask() reads it as +86 and a short number
            "",
            None,
        ],
        "id_card": [rid, rid[:-1] + "x", "110105850315123", rid.translate(FULL), f"{rid} ", "1"],
        "bank_card": [
            card,
            bank_card(rng, 16),
            " ".join([card[:4], card[4:]]),
            "123456789012",
            "6" * 19,
            "6" * 20,
        ],
        "email": ["Zhang.San@163.COM", "a@b.cn", "张三@qq.com", "ｚｈａｎｇ＠qq.com", "nope"],
        "ip": ["192.168.1.10", "10.0.0.1", "256.1.1.1", "01.2.3.4", "2001:DB8::1", "１.２.３.４"],
        "plate": ["京A12345", "粤BD12345", "沪a12345", "京Ａ12345", "京A·12345"],
        "landline": [
            "0571-88886666",
            "010-6234567",
            "(010)62345678",
            "01062345678",
            "0571 8888666",
        ],
        "passport": ["E12345678", "EA1234567", "e12345678", "G1234"],
        "uscc": [uscc(rng), uscc(rng).lower(), "91110108"],
        "name": ["张伟", "欧阳娜娜", " 李娜", "王", "ＡＢ"],
        "address": [
            "广东省深圳市南山区科技路1号",
            "北京市朝阳区建国路88号",
            "内蒙古自治区呼和浩特市新城区",
            "新疆维吾尔自治区乌鲁木齐市",
            "科技路1号",
            " 浙江省杭州市西湖区",
            "浙江省杭州市\n西湖区",
        ],
        "mixed": ["abc", "张三", " x ", "ｘ", "a\u3000b"],
    }


VALUES = _values()
PSEUDO = Pseudonymizer(b"k" * 32)


def _scalar(fn, values):
    return [v if v is None or v == "" else fn(v) for v in values]


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_pseudonyms_match_scalar_tokens(kind):
    values = VALUES[kind] * 3  # repeated values share one MAC
    got = columnar.pseudonymise(pa.array(values, pa.string()), kind, PSEUDO).to_pylist()
    assert got == _scalar(lambda s: PSEUDO.token(kind, s), values)


@pytest.mark.parametrize("kind", sorted(VALUES))
def test_masks_match_scalar_masks(kind):
    values = VALUES[kind]
    got = columnar.mask_column(pa.array(values, pa.string()), kind).to_pylist()
    assert got == _scalar(lambda s: mask(kind, s), values)


def test_address_and_date_generalisation_match_scalar():
    values = VALUES["address"] + [None, ""]
    got = columnar.generalise_address_column(pa.array(values, pa.string())).to_pylist()
    assert got == _scalar(generalise_address, values)
    dates = ["1985-03-15", "2000-02-29", "2001-02-29", "1899-01-01", "1990/1/2", "x", None]
    for level in ("year", "month"):
        got = columnar.generalise_date_column(pa.array(dates, pa.string()), level).to_pylist()
        assert got == _scalar(lambda s, lv=level: generalise_date(s, lv), dates)


def test_group_rows_dense_codes_first_rows_and_sizes():
    a = pa.array(["x", "y", "x", "x", "y"])
    b = pa.array(["1", "1", "1", "2", "1"])
    codes, first, sizes = columnar.group_rows([a, b])
    assert codes.to_pylist() == [0, 1, 0, 2, 1]
    assert first.to_pylist() == [0, 1, 3]
    assert sizes == [2, 2, 1]


TEXTISH = st.text(
    alphabet=st.sampled_from(list("0123456789１２-+ @.:xX京A科技路号省市区张伟\u3000")), max_size=20
)


# Digit strings of the lengths identifiers have, which TEXTISH rarely makes.
NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789Xx")), min_size=8, max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), TEXTISH, NUMBERISH), max_size=12),
    kind=st.sampled_from(sorted(VALUES)),
)
def test_any_values_match_scalar(values, kind):
    arr = pa.array(values, pa.string())
    assert columnar.mask_column(arr, kind).to_pylist() == _scalar(lambda s: mask(kind, s), values)
    assert columnar.pseudonymise(arr, kind, PSEUDO).to_pylist() == _scalar(
        lambda s: PSEUDO.token(kind, s), values
    )
