from __future__ import annotations

from typing import Any

import pytest

from tests.factories import operator, regulator
from tests.listings.factories import listed, seller_member


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2 costs about a second per synthetic user on this machine; these tests never log in
    # with a password (force_login), so a fast hasher loses nothing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seller(db: None) -> Any:
    """The owner membership of a verified seller organisation."""
    return seller_member()


@pytest.fixture
def reg(db: None) -> Any:
    return regulator()


@pytest.fixture
def op(db: None) -> Any:
    return operator()


@pytest.fixture
def catalogue(db):
    """A small catalogue: two sellers, Chinese and English texts, several prices and formats."""
    reg = regulator()
    a, b = seller_member(), seller_member()
    made = {}

    def add(member, key, **fields):
        made[key] = listed(member, reg, **fields)

    add(
        a,
        "imaging",
        title="医疗影像数据集",
        summary="三甲医院胸部CT影像，已脱敏",
        category="medical_health",
        keywords=["医疗", "影像", "CT"],
        licence_family="commercial",
        plans=[{"kind": "one_time", "price_fen": 500000}],
        fmt="parquet",
    )
    add(
        a,
        "drugs",
        title="药物临床试验结果",
        summary="II 期临床试验终点数据",
        description="包含医疗机构编码与不良事件记录。",
        category="drug_research",
        keywords=["临床", "药物"],
        licence_family="cdla-permissive-2.0",
        plans=[{"kind": "subscription", "price_fen": 120000, "term_months": 12}],
    )
    add(
        b,
        "traffic",
        title="城市交通流量",
        summary="Hourly vehicle counts at intersections",
        description="数据来自路口线圈。Traffic sensor data for urban planning.",
        category="transport",
        keywords=["交通", "traffic"],
        update_frequency="daily",
        licence_family="cc-by-4.0",
        plans=[{"kind": "free"}],
    )
    add(
        b,
        "credit",
        title="Consumer credit risk scores",
        summary="Anonymised credit bureau features for risk models",
        category="finance_risk",
        keywords=["credit", "risk"],
        licence_family="commercial",
        plans=[{"kind": "one_time", "price_fen": 2000000}],
        schema={"fields": [{"name": "default_probability", "type": "number"}]},
    )
    add(
        b,
        "data_title",
        title="数据目录样例",
        summary="一个标题里有数据的数据集",
        category="other",
        licence_family="odc-by-1.0",
    )
    add(
        a,
        "data_desc",
        title="电力负荷曲线",
        summary="省级电网负荷",
        description="本数据集提供电力负荷数据与天气数据。",
        category="energy",
        licence_family="commercial",
        plans=[{"kind": "one_time", "price_fen": 9900}],
    )
    return made
