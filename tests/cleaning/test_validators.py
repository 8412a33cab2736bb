import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listings.cleaning import validators as v

from .synth import bank_card, resident_id, uscc


def test_resident_id_check_character():
    assert v.id_check_char("11010519491231002") == "X"
    assert v.is_resident_id18("11010519491231002X")
    assert v.is_resident_id18("11010519491231002x")  # lower-case x accepted
    assert not v.is_resident_id18("110105194912310021")  # wrong check character


def test_resident_id_impossible_dates_and_regions():
    for base in (
        "11010519490230123",
        "11010519491301123",
        "99010519490101123",
        "11010518000101123",
        "11010521990101123",
    ):
        assert not v.is_resident_id18(base + v.id_check_char(base))


def test_resident_id_fullwidth_and_separators():
    rid = resident_id(random.Random(1))
    full = rid.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert v.is_resident_id18(full)
    assert v.is_resident_id18(f"{rid[:6]} {rid[6:14]} {rid[14:]}")


def test_resident_id15_legacy():
    assert v.is_resident_id15("110105491231002")
    assert not v.is_resident_id15("110105491331002")  # month 13


def test_mobile_and_landline():
    assert v.is_mobile("13812345678") and v.is_mobile("+86 138-1234-5678")
    assert v.is_mobile("008613812345678")
    assert not v.is_mobile("10123456789")  # serial starting 10
    assert not v.is_mobile("12812345678")
    assert v.is_landline("010-62345678") and v.is_landline("(0571)88886666")
    assert v.is_landline("0755-2345678")
    assert not v.is_landline("010-12345678")  # subscriber numbers never start with 1
    assert not v.is_landline("2023-11-20")


def test_bank_card_luhn_and_scheme():
    rng = random.Random(2)
    card = bank_card(rng)
    assert v.is_bank_card(card)
    assert v.is_bank_card(" ".join(card[i : i + 4] for i in range(0, 19, 4)))
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert not v.is_bank_card(broken)
    # Luhn-valid but no issuer with that prefix/length: an order number, not a card
    body = "2023112012345678"
    assert not v.is_bank_card(body + v.luhn_check_digit(body))


def test_card_shaped_like_an_id_is_not_a_card():
    # 62 is UnionPay and also Gansu's region code; a Gansu-like number with a plausible birth date
    # that fails the ID check is an ID typo or an order number, never a card.
    for _ in range(50):
        rid = resident_id(random.Random(_), province=62)
        body = rid[:17]
        assert not v.is_bank_card(body + v.luhn_check_digit(body)) or v.is_resident_id18(
            body + v.luhn_check_digit(body)
        )


def test_uscc_checksum():
    code = uscc(random.Random(3))
    assert v.is_uscc(code)
    assert not v.is_uscc(code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert v.is_uscc("91350100M000100Y43")


@pytest.mark.parametrize("value", ["zhang.san@163.com", "a_b+c@mail.example.cn"])
def test_email_valid(value):
    assert v.is_email(value)


@pytest.mark.parametrize("value", ["zhang@", "@163.com", "a@b", "a b@c.com"])
def test_email_invalid(value):
    assert not v.is_email(value)


def test_ip_addresses():
    assert v.is_ipv4("192.168.1.10") and not v.is_ipv4("256.1.1.1")
    assert not v.is_ipv4("2023.11.20.1") and not v.is_ipv4("01.2.3.4")
    assert v.is_ipv6("2001:db8::1") and v.is_ipv6("fe80::1ff:fe23:4567:890a")
    assert not v.is_ipv6("12:30:45")


def test_passport_and_plate():
    assert v.is_passport("E12345678") and v.is_passport("EA1234567") and v.is_passport("G12345678")
    assert not v.is_passport("E1234567") and not v.is_passport("X12345678")
    assert v.is_plate("京A12345") and v.is_plate("粤B·D12345") and v.is_plate("沪AD12345")
    assert not v.is_plate("京ABCDE1") and not v.is_plate("京I12345")


@given(st.integers(min_value=0, max_value=10**18 - 1))
def test_random_18_digits_failing_check_are_not_ids(n):
    s = f"{n:018d}"
    if v.id_check_char(s[:17]) != s[17]:
        assert not v.is_resident_id18(s)
