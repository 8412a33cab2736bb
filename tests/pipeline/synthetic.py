"""Synthetic Chinese personal data for pipeline tests: valid checksums, invented people."""

from __future__ import annotations

import random
from datetime import date, timedelta

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    region = rng.choice(["110101", "310104", "440305", "510107", "330106"])
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 20000))
    body = f"{region}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]
    return body + check


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def people(count: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        rows.append(
            {
                "患者姓名": name(rng),
                "身份证号": resident_id(rng),
                "联系电话": mobile(rng),
                "诊断": rng.choice(["高血压", "糖尿病", "哮喘", "冠心病"]),
                "费用": f"{rng.randrange(100, 99999) / 100:.2f}",
                "就诊编号": f"V{i:07d}",
            }
        )
    return rows


def identifiers(rows: list[dict[str, str]]) -> set[str]:
    """The values that must not survive into a published file."""
    return {r[k] for r in rows for k in ("患者姓名", "身份证号", "联系电话")}
