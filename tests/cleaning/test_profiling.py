import random

from listings.cleaning import load_policy, profile_columns

from .synth import bad_check_id, bank_card, mobile, resident_id

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳明", "赵丽颖", "黄磊", "周杰", "吴敏"]


def _table(rng, n=200):
    return {
        "ids": [resident_id(rng) for _ in range(n)],
        "phones": [mobile(rng) for _ in range(n)],
        "cards": [bank_card(rng) for _ in range(n)],
        "names": [rng.choice(NAMES) for _ in range(n)],
        "emails": [f"user{i}@example.cn" for i in range(n)],
        "addr": [f"浙江省杭州市西湖区文三路{i}号{i % 9 + 1}栋" for i in range(n)],
        "orders": [bad_check_id(rng) for _ in range(n)],
        "serials": [f"10{rng.randint(10**8, 10**9 - 1)}" for _ in range(n)],
        "notes": [f"客户{rng.choice(NAMES)}来电咨询金融产品，很高兴" for _ in range(n)],
        "category": [rng.choice(["金融", "高新", "江山", "文化"]) for _ in range(n)],
        "gender": [rng.choice("男女") for _ in range(n)],
    }


def _classify(headers, cols):
    profs = profile_columns(headers, cols, load_policy())
    return {p.name: (p.cls, p.kind) for p in profs}


def test_chinese_headers():
    t = _table(random.Random(1))
    headers = [
        "身份证号",
        "联系电话",
        "银行卡号",
        "姓名",
        "邮箱",
        "家庭住址",
        "订单号",
        "序列号",
        "备注",
        "行业",
        "性别",
    ]
    got = _classify(headers, list(t.values()))
    assert got["身份证号"] == ("identifier", "id_card")
    assert got["联系电话"] == ("identifier", "mobile")
    assert got["银行卡号"] == ("identifier", "bank_card")
    assert got["姓名"] == ("identifier", "name")
    assert got["邮箱"] == ("identifier", "email")
    assert got["家庭住址"] == ("identifier", "address")
    assert got["订单号"][0] == "other" and got["序列号"][0] == "other"
    assert got["备注"] == ("free_text", None)
    assert got["行业"][0] == "other"
    assert got["性别"] == ("quasi_identifier", "gender")


def test_english_headers():
    t = _table(random.Random(2))
    headers = [
        "id_number",
        "mobile",
        "card_no",
        "full_name",
        "email",
        "address",
        "order_id",
        "serial",
        "remarks",
        "category",
        "sex",
    ]
    got = _classify(headers, list(t.values()))
    assert got["id_number"] == ("identifier", "id_card")
    assert got["mobile"] == ("identifier", "mobile")
    assert got["card_no"] == ("identifier", "bank_card")
    assert got["full_name"] == ("identifier", "name")
    assert got["address"] == ("identifier", "address")
    assert got["remarks"] == ("free_text", None)
    assert got["order_id"][0] == "other"


def test_meaningless_headers_use_values():
    t = _table(random.Random(3))
    headers = [f"col{i + 1}" for i in range(len(t))]
    got = dict(zip(t, (_classify(headers, list(t.values()))[h] for h in headers), strict=True))
    assert got["ids"] == ("identifier", "id_card")
    assert got["phones"] == ("identifier", "mobile")
    assert got["cards"] == ("identifier", "bank_card")
    assert got["names"] == ("identifier", "name")
    assert got["emails"] == ("identifier", "email")
    assert got["addr"] == ("identifier", "address")
    assert got["orders"][0] == "other"  # 18 digits failing the ID check
    assert got["serials"][0] == "other"  # 11 digits starting 10
    assert got["notes"] == ("free_text", None)
    assert got["category"][0] == "other"  # words starting with a surname are not names
    assert got["gender"] == ("quasi_identifier", "gender")


def test_id_column_with_bad_checksums_is_still_an_id_column():
    rng = random.Random(4)
    values = [resident_id(rng) for _ in range(90)] + [bad_check_id(rng) for _ in range(10)]
    (prof,) = profile_columns(["col1"], [values])
    assert (prof.cls, prof.kind) == ("identifier", "id_card")
    assert prof.evidence["value_shares"]["id_card"] == 0.9


def test_policy_override_forces_classification():
    pol = load_policy({"columns": {"col1": {"class": "free_text"}}})
    (prof,) = profile_columns(["col1"], [["abc"] * 10], pol)
    assert prof.cls == "free_text" and prof.evidence["policy_override"] is True
