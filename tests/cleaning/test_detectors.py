import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from listings.cleaning import detectors as d
from listings.cleaning import validators as v

from .synth import bad_check_id, bank_card, mobile, resident_id, uscc

HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=6)


def kinds(text):
    return [f.kind for f in d.scan(text)]


def test_identifiers_touching_chinese_on_both_sides():
    rng = random.Random(7)
    rid, card, mob = resident_id(rng), bank_card(rng), mobile(rng)
    text = f"身份证{rid}号，卡号{card}转账，电话{mob}联系，邮箱zhangsan@163.com联系我"
    out = d.redact(text)
    for value in (rid, card, mob, "zhangsan@163.com"):
        assert value not in out
    assert out == "身份证[身份证号]号，卡号[银行卡号]转账，电话[手机号]联系，邮箱[邮箱]联系我"


def test_fullwidth_digits_and_separators_inside_numbers():
    rng = random.Random(8)
    mob = mobile(rng)
    full = mob.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert kinds(f"手机{full}。") == ["mobile"]
    assert kinds(f"电话 {mob[:3]}-{mob[3:7]}-{mob[7:]} 谢谢") == ["mobile"]
    assert kinds(f"tel +86 {mob[:3]} {mob[3:7]} {mob[7:]}") == ["mobile"]
    card = bank_card(rng)
    assert kinds("卡 " + " ".join(card[i : i + 4] for i in range(0, 19, 4))) == ["bank_card"]


def test_hard_negatives_survive():
    rng = random.Random(9)
    order = bad_check_id(rng)
    text = (
        f"订单号{order}，序列号10123456789，价格13812.50元，日期2023-11-20，"
        "版本20231120，金额¥1,380.00，大家都很高兴，江山如画，金融行业发展"
    )
    assert d.redact(text) == text


def test_dates_next_to_phone_are_split():
    out = d.redact("2023-11-20 13912345678")
    assert out == "2023-11-20 [手机号]"


def test_other_identifier_kinds_in_text():
    rng = random.Random(10)
    code = uscc(rng)
    text = (
        f"车牌京A12345，护照E12345678，IP 192.168.1.10 和 2001:db8::1，信用代码{code}，"
        "座机(0571)88886666或010-62345678"
    )
    out = d.redact(text)
    assert out == (
        "车牌[车牌号]，护照[护照号]，IP [IP地址] 和 [IP地址]，信用代码[信用代码]，"
        "座机[电话]或[电话]"
    )


def test_names_with_cue_words():
    c: Counter[str] = Counter()
    out = d.redact("患者张伟于2023年入院，联系人：李娜，家属欧阳娜娜陪同，王建国先生表示感谢", c)
    assert out == "患者[姓名]于2023年入院，联系人：[姓名]，家属[姓名]陪同，[姓名]先生表示感谢"
    assert c["name"] == 4


def test_words_beginning_with_a_surname_are_not_names():
    for text in ("客户高兴地说", "江山如画", "用户金融需求", "患者高度紧张", "感谢张先生"):
        assert "name" not in kinds(text), text


def test_address_in_text_keeps_city_and_district():
    out = d.redact("家住北京市朝阳区建国路88号3号楼2单元501室，请送达")
    assert out == "家住北京市朝阳区[地址]，请送达"


def test_redact_many_matches_cell_by_cell():
    rng = random.Random(11)
    cells = [f"电话{mobile(rng)}", None, "", "无", f"身份证{resident_id(rng)}"]
    assert d.redact_many(cells) == [d.redact(c) if c else c for c in cells]


@settings(max_examples=200, deadline=None)
@given(left=HAN, right=HAN, seed=st.integers(0, 10**9), province=st.sampled_from([11, 31, 44, 62]))
def test_any_valid_id_is_found_anywhere_in_chinese_text(left, right, seed, province):
    rid = resident_id(random.Random(seed), province)
    out = d.redact(left + rid + right)
    assert rid not in out and "[身份证号]" in out


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=10**17, max_value=10**18 - 1), left=HAN, right=HAN)
def test_random_18_digit_numbers_failing_every_check_survive(n, left, right):
    s = str(n)
    if v.is_resident_id18(s) or v.is_bank_card(s):
        return  # a genuine-looking identifier; covered by the positive tests
    text = f"{left}订单{s}{right}"
    assert d.redact(text) == text


@settings(max_examples=200, deadline=None)
@given(left=HAN, middle=HAN.filter(bool), seed=st.integers(0, 10**9))
def test_any_mobile_and_card_found(left, middle, seed):
    rng = random.Random(seed)
    mob, card = mobile(rng), bank_card(rng, rng.choice([16, 19]))
    out = d.redact(f"{left}{mob}{middle}{card}{left}")
    assert mob not in out and card not in out


FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}


def test_legacy_15_digit_id_and_passports_in_text():
    assert v.is_resident_id15("110105850315123")
    out = d.redact("旧身份证110105850315123已换，护照E12345678和EA1234567，旧护照G12345678号")
    assert out == "旧身份证[身份证号]已换，护照[护照号]和[护照号]，旧护照[护照号]号"
    # Wrong region or impossible date: a 15-digit number that is not an ID survives.
    for text in ("编号990105850315123", "编号110105851315123"):
        assert d.redact(text) == text


def test_fullwidth_resident_id_in_text():
    rid = resident_id(random.Random(12))
    assert d.redact(f"身份证{rid.translate(FULLWIDTH)}号") == "身份证[身份证号]号"


def test_country_code_prefixes_on_mobiles():
    mob = mobile(random.Random(13))
    for shown in (
        f"+86{mob}",
        f"+86 {mob}",
        f"+86-{mob[:3]}-{mob[3:7]}-{mob[7:]}",
        f"0086{mob}",
        f"0086 {mob[:3]} {mob[3:7]} {mob[7:]}",
        f"0086-{mob}",
    ):
        out = d.redact(f"手机{shown}联系")
        assert out == "手机[手机号]联系", shown


def test_landlines_with_area_code_and_dash():
    text = "座机0571-88886666转，办公室021-6234567。总机(010)62345678"
    assert d.redact(text) == "座机[电话]转，办公室[电话]。总机[电话]"


def test_ipv6_full_and_compressed_in_text():
    text = "服务器2408:8207:1851:2a60:1c5e:9d3a:4b2f:77e1登录，本机fe80::1ff:fe23:4567:890a异常"
    assert d.redact(text) == "服务器[IP地址]登录，本机[IP地址]异常"
    assert d.redact("会议时间10:30:00开始") == "会议时间10:30:00开始"


def test_uscc_glued_to_chinese_text():
    code = uscc(random.Random(14))
    assert d.redact(f"统一社会信用代码{code}有效") == "统一社会信用代码[信用代码]有效"
    broken = code[:-1] + next(c for c in v.USCC_ALPHABET if c != code[-1])
    assert d.redact(f"代码{broken}有效") == f"代码{broken}有效"


def test_new_energy_plates_with_six_characters():
    text = "新能源车粤BD12345停放，沪AF12345和京A12345F，号牌苏E·12345"
    assert d.redact(text) == "新能源车[车牌号]停放，[车牌号]和[车牌号]，号牌[车牌号]"


def test_no_finding_spans_two_cells():
    """A cue word ending one cell must not swallow the start of the next cell."""
    cells = ["备注患者", "张伟来电", "联系(010)", "62345678", "身份证"]
    assert d.redact_many(cells) == [d.redact(c) for c in cells]
