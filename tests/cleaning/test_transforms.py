import pyarrow as pa
import pytest

from listings.cleaning import CleaningError, load_policy, neutralize_formula
from listings.cleaning.transforms import (
    Pseudonymizer,
    age_band,
    generalise_address,
    generalise_date,
    mask,
    neutralize_formula_array,
)


def test_pseudonyms_are_consistent_keyed_and_type_separated():
    a, b = Pseudonymizer(b"k" * 32), Pseudonymizer(b"j" * 32)
    assert a.token("mobile", "13812345678") == a.token("mobile", "+86 138-1234-5678")
    assert a.token("mobile", "13812345678") != b.token("mobile", "13812345678")
    assert a.token("mobile", "13812345678") != a.token("id_card", "13812345678")
    assert "13812345678" not in a.token("mobile", "13812345678")
    assert "k" * 32 not in repr(a)


def test_pseudonym_is_not_a_plain_hash():
    import hashlib

    token = Pseudonymizer(b"s" * 32).token("mobile", "13812345678")
    plain = hashlib.sha256(b"mobile\x0013812345678").hexdigest()[:16]
    assert token.split("_")[-1] != plain


def test_masks():
    assert mask("mobile", "13812345678") == "138****5678"
    assert mask("bank_card", "6222021234567890123") == "622202*********0123"
    assert mask("email", "zhangsan@163.com") == "z***@163.com"
    assert mask("name", "欧阳娜娜") == "欧阳**"
    assert mask("ip", "192.168.1.10") == "192.168.*.*"
    assert mask("plate", "京A12345") == "京A*****"


def test_generalisations():
    assert generalise_date("1990-03-07") == "1990"
    assert generalise_date("1990年3月7日", "month") == "1990-03"
    assert generalise_date("不详") == "*"
    assert age_band("37") == "30-39" and age_band("37岁", 20) == "20-39"
    assert generalise_address("广东省深圳市南山区科技路1号") == "广东省深圳市"
    assert generalise_address("北京市朝阳区建国路88号") == "北京市"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("＝1", "'＝1"),
        ("-12.5", "-12.5"),
        ("+3", "+3"),
        ("1e-3", "1e-3"),
        ("normal", "normal"),
        ("", ""),
    ],
)
def test_formula_neutraliser(cell, expected):
    assert neutralize_formula(cell) == expected
    assert neutralize_formula_array(pa.array([cell])).to_pylist() == [expected]


def test_policy_validation_messages():
    with pytest.raises(CleaningError, match="unknown key"):
        load_policy({"nope": 1})
    with pytest.raises(CleaningError, match="cannot be kept"):
        load_policy({"columns": {"手机": {"class": "identifier", "transform": "keep"}}})
    with pytest.raises(CleaningError, match="identifiers can never be kept"):
        load_policy({"identifier_transforms": {"mobile": "keep"}})
    assert load_policy({"k_anonymity": {"k": 3}}).k == 3
