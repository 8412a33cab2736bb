"""Demo and test data that goes through the real services and the real pipeline: generated
files full of synthetic personal data (valid checksums, invented people), uploaded, cleaned and
published in-process (Celery eager), so the demo shows genuine cleaning reports."""

from __future__ import annotations

import contextlib
import csv
import io
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from exchange.participants.models import Organisation, User
from listings import services
from listings.cleaning.validators import id_check_char
from listings.models import Listing, ListingVersion
from listings.pipeline import services as pipeline

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
REGIONS = ("110101", "310104", "440305", "510107", "330106", "420102")
DISTRICTS = ("朝阳区", "浦东新区", "南山区", "武侯区", "西湖区", "江汉区")


def resident_id(rng: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 20000))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + id_check_char(body)


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


THEMES: dict[str, list[tuple[str, Any]]] = {
    # column name → value maker; the first three hold personal data the pipeline must clean.
    "medical": [
        ("患者姓名", person_name),
        ("身份证号", resident_id),
        ("联系电话", mobile),
        ("诊断", lambda r: r.choice(["高血压", "糖尿病", "哮喘", "冠心病"])),
        ("费用", lambda r: f"{r.randrange(100, 99999) / 100:.2f}"),
    ],
    "transport": [
        ("乘客姓名", person_name),
        ("手机号", mobile),
        ("身份证号", resident_id),
        ("线路", lambda r: f"{r.randrange(1, 20)}号线"),
        (
            "进站时间",
            lambda r: f"2025-0{r.randrange(1, 9)}-1{r.randrange(9)} 0{r.randrange(6, 9)}:00",
        ),
    ],
    "finance": [
        ("客户姓名", person_name),
        ("证件号码", resident_id),
        ("手机", mobile),
        ("区县", lambda r: r.choice(DISTRICTS)),
        ("授信额度", lambda r: str(r.randrange(1, 500) * 1000)),
        ("逾期天数", lambda r: str(r.choice([0, 0, 0, 15, 30, 90]))),
    ],
}


def pii_csv(theme: str, rows: int = 60, seed: int = 1) -> tuple[bytes, set[str]]:
    """A CSV of synthetic people and the identifier values that must not be published."""
    rng = random.Random(seed)  # noqa: S311  (synthetic demo data, not secrets)
    columns = THEMES[theme]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in columns])
    secrets: set[str] = set()
    for _ in range(rows):
        values = [make(rng) for _, make in columns]
        secrets.update(values[:3])
        writer.writerow(values)
    return out.getvalue().encode("utf-8"), secrets


@contextlib.contextmanager
def eager_pipeline() -> Iterator[None]:
    """Run Celery tasks in-process (the pipeline's chord included) for the duration."""
    from exchange.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


def publish_file(
    *,
    actor: User,
    organisation: Organisation,
    listing: Listing,
    filename: str,
    data: bytes,
    release_notes: str = "",
) -> ListingVersion:
    """A new version whose file goes through the real pipeline (call inside eager_pipeline, and
    outside any transaction: the pipeline starts when the upload's transaction commits)."""
    version = services.create_version(
        actor=actor, organisation=organisation, listing=listing, release_notes=release_notes
    )
    pipeline.receive_small_upload(
        actor=actor,
        organisation=organisation,
        version=version,
        filename=filename,
        fileobj=io.BytesIO(data),
        size=len(data),
    )
    version.refresh_from_db()
    return version
