"""Catalogue search benchmark: 100 000 listings in PostgreSQL, 20 typical API queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exchange_bench_search \\
        .venv/bin/python bench/search_bench.py --listings 100000 --rounds 30

1. (Re)creates the database named in DATABASE_URL (it must be a dedicated one: it is dropped),
   migrates it, and generates synthetic listings with bulk inserts: sellers, buyers, listings
   (Chinese and English titles, summaries, descriptions, keywords, column names), one approved
   version with a file each, price plans; 90 % listed, some private, some drafts. The search
   document and tsvector are built by the same code the services use (listings.search).
2. Runs 20 typical catalogue queries (Chinese and English, with facets, sorts and pages) through
   the real API stack in process (Django test client: URL routing, DRF, permissions, serializers,
   facets) and, interleaved in the same run, a primary-key detail lookup (GET /listings/<id>/).
3. Prints p50/p95 per query, overall, and the ratio to the detail lookup; --json writes them.
   "Cold" (the result cache off, every request runs its SQL) is the headline; "warm" (the short
   result cache on, as deployed) is measured after it. Queries with more matches than
   LISTINGS_SEARCH_EXACT_LIMIT answer with estimated counts: each is compared (untimed) with the
   exact count, so the estimates' error is reported too.

Not part of the test suite. All data is synthetic.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
# The anonymous throttle would turn a benchmark into a 429 test.
os.environ.setdefault("ANON_THROTTLE_RATE", "1000000/min")

ZH_TOPICS = {
    "medical_health": ["医疗", "影像", "医院", "门诊", "患者", "病历", "体检", "慢病", "护理"],
    "drug_research": ["药物", "临床", "试验", "化合物", "靶点", "不良反应", "基因", "药效"],
    "finance_risk": ["信用", "风险", "贷款", "保险", "理赔", "反欺诈", "征信", "违约"],
    "transport": ["交通", "流量", "公交", "地铁", "出租车", "轨迹", "停车", "物流"],
    "urban_management": ["城市", "管理", "人口", "房价", "土地", "网格", "垃圾", "市政"],
    "energy": ["电力", "负荷", "光伏", "风电", "用电", "碳排放", "储能", "电网"],
    "agriculture": ["农业", "土壤", "作物", "产量", "气象", "灌溉", "病虫害", "农产品"],
    "education": ["教育", "学生", "成绩", "课程", "学校", "招生", "在线学习"],
    "commerce": ["电商", "销售", "零售", "消费", "商品", "价格", "门店", "会员"],
    "geospatial": ["地理", "遥感", "卫星", "影像", "地图", "兴趣点", "高程"],
    "other": ["统计", "调查", "舆情", "文本", "语料"],
}
EN_TOPICS = {
    "medical_health": ["medical", "imaging", "hospital", "patient", "clinic", "health"],
    "drug_research": ["drug", "clinical", "trial", "compound", "adverse", "genomics"],
    "finance_risk": ["credit", "risk", "loan", "insurance", "claims", "fraud", "default"],
    "transport": ["traffic", "transit", "metro", "taxi", "trajectory", "parking", "logistics"],
    "urban_management": ["urban", "population", "housing", "land", "waste", "municipal"],
    "energy": ["power", "load", "solar", "wind", "electricity", "carbon", "grid"],
    "agriculture": ["agriculture", "soil", "crop", "yield", "weather", "irrigation"],
    "education": ["education", "student", "scores", "course", "school", "enrolment"],
    "commerce": ["ecommerce", "sales", "retail", "consumer", "product", "price"],
    "geospatial": ["geospatial", "satellite", "imagery", "map", "poi", "elevation"],
    "other": ["survey", "statistics", "text", "corpus", "sentiment"],
}
ZH_FILLER = ["数据", "数据集", "指数", "明细", "月度", "年度", "样本", "全国", "省级", "城市级"]
ZH_SENTENCES = [
    "本数据集经过脱敏处理，可用于研究与模型训练。",
    "数据按日更新，字段说明见文档。",
    "覆盖全国主要城市，时间跨度五年。",
    "提供样例数据与字段字典，支持按需定制。",
    "数据来源于合作机构，已通过合规审查。",
]
EN_SENTENCES = [
    "Anonymised records suitable for research and model training.",
    "Updated daily; see the documentation for the field dictionary.",
    "Covers the major cities over five years.",
    "Sample rows and a column dictionary are provided.",
]
COLUMNS = ["record_id", "city", "district", "event_date", "amount", "category_code", "score",
           "latitude", "longitude", "count", "rate", "status"]  # fmt: skip
CATEGORIES = list(ZH_TOPICS)
FREQUENCIES = ["once", "daily", "weekly", "monthly", "quarterly", "annually", "irregular"]
LICENCES = ["commercial", "commercial", "cc-by-4.0", "cdla-permissive-2.0", "odc-by-1.0",
            "cdla-sharing-1.0"]  # fmt: skip
FORMATS = ["csv", "csv", "csv", "parquet", "xlsx", "jsonl", "geojson"]


def recreate_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.startswith(("exchange_bench", "bench_")):
        raise SystemExit(
            "refusing to drop a database whose name does not start with exchange_bench"
        )
    admin = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def generate(n: int, seed: int) -> dict[str, Any]:
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from exchange.participants.models import Membership, Organisation, PlatformRole, User
    from exchange.participants.uscc import ALPHABET, check_character
    from listings import search, services
    from listings.models import Listing, ListingVersion, PricePlan, VersionFile

    rng = random.Random(seed)

    def uscc() -> str:
        body = "91" + "".join(rng.choice("0123456789") for _ in range(6))
        body += "".join(rng.choice(ALPHABET) for _ in range(17 - len(body)))
        return body + check_character(body)

    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.create_user("bench@example.test", None)
        user.groups.add(Group.objects.get(name=PlatformRole.REGULATOR))
        sellers = Organisation.objects.bulk_create(
            Organisation(name=f"基准测试机构{i}", kind="both", uscc=uscc(), status="verified")
            for i in range(300)
        )
        buyers = Organisation.objects.bulk_create(
            Organisation(name=f"基准买方{i}", kind="buyer", uscc=uscc(), status="verified")
            for i in range(50)
        )
        buyer_user = User.objects.create_user("buyer@example.test", None)
        Membership.objects.create(user=buyer_user, organisation=buyers[0], role="owner")

    batch = 5000
    listing_ids: list[int] = []
    for start in range(0, n, batch):
        size = min(batch, n - start)
        rows: list[Listing] = []
        extras: list[dict[str, Any]] = []
        for _ in range(size):
            category = rng.choice(CATEGORIES)
            zh, en = ZH_TOPICS[category], EN_TOPICS[category]
            english = rng.random() < 0.3
            if english:
                words = rng.sample(en, k=min(3, len(en)))
                title = " ".join(w.capitalize() for w in words) + " dataset"
                summary = " ".join(rng.sample(en, k=2)) + " records, " + rng.choice(EN_SENTENCES)
                description = " ".join(rng.sample(EN_SENTENCES, k=3))
                keywords = rng.sample(en, k=3)
            else:
                title = "".join(rng.sample(zh, k=2)) + rng.choice(ZH_FILLER)
                summary = "".join(rng.sample(zh, k=3)) + "。" + rng.choice(ZH_SENTENCES)
                description = (
                    "".join(rng.sample(ZH_SENTENCES, k=3)) + " " + " ".join(rng.sample(en, k=2))
                )
                keywords = rng.sample(zh, k=3)
            roll = rng.random()
            status = "draft" if roll < 0.05 else "listed"
            visibility = "private" if 0.05 <= roll < 0.1 else "public"
            columns = rng.sample(COLUMNS, k=6)
            fields = [
                search.WeightedText("A", [title]),
                search.WeightedText("B", keywords),
                search.WeightedText("C", [summary]),
                search.WeightedText("D", [description, *columns]),
            ]
            fmt = rng.choice(FORMATS)
            listed_at = now - timedelta_days(rng.randint(0, 1500))
            rows.append(
                Listing(
                    seller=sellers[rng.randrange(len(sellers))],
                    title=title,
                    summary=summary,
                    description=description,
                    description_html=f"<p>{description}</p>",
                    languages=["en"] if english else ["zh"],
                    category=category,
                    keywords=keywords,
                    update_frequency=rng.choice(FREQUENCIES),
                    licence_family=rng.choice(LICENCES),
                    visibility=visibility,
                    status=status,
                    first_listed_at=None if status == "draft" else listed_at,
                    search_document="",  # PostgreSQL reads the tsvector (as the services do)
                    search_vector=search.tsvector_literal(fields),
                    formats=f",{fmt},",
                )
            )
            extras.append({"columns": columns, "fmt": fmt, "private": visibility == "private"})
        with transaction.atomic():
            created = Listing.objects.bulk_create(rows)
            versions = ListingVersion.objects.bulk_create(
                ListingVersion(
                    listing=listing,
                    number=1,
                    status="approved" if listing.status == "listed" else "draft",
                    pipeline_status="published",
                    table_schema={"fields": [{"name": c, "type": "string"} for c in x["columns"]]},
                    row_count=rng.randint(1000, 10_000_000),
                    published_at=now,
                    approved_at=now if listing.status == "listed" else None,
                )
                for listing, x in zip(created, extras, strict=True)
            )
            VersionFile.objects.bulk_create(
                VersionFile(
                    version=version,
                    name=f"data.{x['fmt']}",
                    format=x["fmt"],
                    size=rng.randint(10_000, 10**10),
                    sha256=f"{rng.getrandbits(256):064x}",
                    storage_key=f"bench/{version.listing_id}/1/data.{x['fmt']}",
                )
                for version, x in zip(versions, extras, strict=True)
            )
            plans: list[PricePlan] = []
            prices: dict[int, int] = {}
            for listing in created:
                kind = rng.choices(["one_time", "subscription", "free"], weights=[6, 3, 1])[0]
                price = 0 if kind == "free" else rng.choice([990, 9900, 49900, 199900, 2000000])
                plans.append(
                    PricePlan(
                        listing=listing,
                        kind=kind,
                        price_fen=price,
                        term_months=12 if kind == "subscription" else None,
                    )
                )
                prices[listing.pk] = price
            PricePlan.objects.bulk_create(plans)
            through = Listing.allowed_buyers.through
            through.objects.bulk_create(
                through(listing_id=listing.pk, organisation_id=rng.choice(buyers).pk)
                for listing, x in zip(created, extras, strict=True)
                if x["private"]
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE listings_listing SET min_price_fen = %s, latest_version_id = %s "
                    "WHERE id = %s",
                    [(prices[v.listing_id], v.pk, v.listing_id) for v in versions],
                )
        listing_ids.extend(li.pk for li in created)
        print(f"  {start + size:>7} listings", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
    assert services  # the same tokeniser the services use built every document above
    return {
        "listings": len(listing_ids),
        "generate_seconds": round(time.perf_counter() - started, 1),
        "seller_ids": [s.pk for s in sellers[:5]],
    }


def timedelta_days(days: int) -> Any:
    from datetime import timedelta

    return timedelta(days=days)


def queries(seller_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("zh 医疗", {"q": "医疗"}),
        ("zh 医疗影像", {"q": "医疗影像"}),
        ("zh 交通 流量 + category", {"q": "交通 流量", "category": "transport"}),
        ("zh 数据 (matches most)", {"q": "数据"}),
        ("zh 信用 风险 + licence", {"q": "信用 风险", "licence_family": "commercial"}),
        ("zh 电力负荷 newest", {"q": "电力负荷", "sort": "newest"}),
        ("en credit risk", {"q": "credit risk"}),
        ("en traffic + csv", {"q": "traffic", "file_format": "csv"}),
        ("en satellite imagery + geo", {"q": "satellite imagery", "category": "geospatial"}),
        ("facet category only", {"category": "medical_health"}),
        ("facet price under_100", {"price": "under_100"}),
        ("energy by price", {"category": "energy", "sort": "price_asc"}),
        (
            "zh 患者 + category + price",
            {"q": "患者", "category": "medical_health", "price": "1000_to_10000"},
        ),
        ("en clinical trial", {"q": "clinical trial"}),
        ("zh 气象 + daily", {"q": "气象", "update_frequency": "daily"}),
        ("zh 房价 page 3", {"q": "房价", "page": 3}),
        ("zh 电商销售 price desc", {"q": "电商 销售", "sort": "price_desc"}),
        ("en solar prefix", {"q": "sol"}),
        ("seller's catalogue", {"seller": seller_id}),
        ("zh 农业 + 2 licences", {"q": "农业", "licence_family": "cc-by-4.0,odc-by-1.0"}),
    ]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(rounds: int, seed: int, seller_id: int) -> dict[str, Any]:
    from django.test import Client

    from listings.models import Listing

    rng = random.Random(seed + 1)
    client = Client()
    listed_ids = list(
        Listing.objects.filter(status="listed", visibility="public").values_list("pk", flat=True)
    )
    plan = queries(seller_id)
    per_query: dict[str, list[float]] = {name: [] for name, _ in plan}
    counts: dict[str, int] = {}
    approximate: dict[str, bool] = {}
    detail: list[float] = []

    def timed(url: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
        t0 = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise SystemExit(
                f"{url} {params} -> {response.status_code}: {response.content[:300]!r}"
            )
        return elapsed, response

    for _ in range(3):  # warm caches, connections and the ORM
        for _, params in plan:
            timed("/api/v1/listings/", params)
        timed(f"/api/v1/listings/{rng.choice(listed_ids)}/")
    for _ in range(rounds):
        order = list(plan)
        rng.shuffle(order)
        for name, params in order:
            elapsed, response = timed("/api/v1/listings/", params)
            per_query[name].append(elapsed)
            counts[name] = response.json()["count"]
            approximate[name] = response.json().get("approximate", False)
            # The PK lookup interleaved in the same run, so both see the same machine state.
            elapsed, _ = timed(f"/api/v1/listings/{rng.choice(listed_ids)}/")
            detail.append(elapsed)
    everything = [s for samples in per_query.values() for s in samples]
    detail_p50, detail_p95 = percentile(detail, 50), percentile(detail, 95)
    return {
        "rounds": rounds,
        "search_p50_ms": round(percentile(everything, 50), 2),
        "search_p95_ms": round(percentile(everything, 95), 2),
        "detail_p50_ms": round(detail_p50, 2),
        "detail_p95_ms": round(detail_p95, 2),
        "p95_ratio": round(percentile(everything, 95) / detail_p95, 2),
        "p50_ratio": round(percentile(everything, 50) / detail_p50, 2),
        "queries": [
            {
                "name": name,
                "params": params,
                "matches": counts[name],
                "approximate": approximate[name],
                "p50_ms": round(percentile(per_query[name], 50), 2),
                "p95_ms": round(percentile(per_query[name], 95), 2),
            }
            for name, params in plan
        ],
    }


def exact_counts(seller_id: int) -> dict[str, int]:
    """Each query's true number of matches (counting without a limit; untimed)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    saved = settings.LISTINGS_SEARCH_EXACT_LIMIT, settings.LISTINGS_SEARCH_CACHE_SECONDS
    settings.LISTINGS_SEARCH_EXACT_LIMIT, settings.LISTINGS_SEARCH_CACHE_SECONDS = 10**9, 0
    try:
        return {
            name: client.get("/api/v1/listings/", params).json()["count"]
            for name, params in queries(seller_id)
        }
    finally:
        settings.LISTINGS_SEARCH_EXACT_LIMIT, settings.LISTINGS_SEARCH_CACHE_SECONDS = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--reuse", action="store_true", help="keep the generated database")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("DATABASE_URL must name a dedicated PostgreSQL database")
    if not args.reuse:
        recreate_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    info: dict[str, Any]
    if not args.reuse:
        call_command("migrate", verbosity=0)
        info = generate(args.listings, args.seed)
    else:
        from exchange.participants.models import Organisation

        info = {
            "listings": "reused",
            "seller_ids": list(
                Organisation.objects.order_by("pk").values_list("pk", flat=True)[:1]
            ),
        }
    # Cold: every search runs its SQL (the result cache is off). Warm: the short-lived result
    # cache is on, as deployed; repeated queries then cost a cache read and a PK fetch.
    settings.LISTINGS_SEARCH_CACHE_SECONDS = 0
    results: dict[str, Any] = {"cold": measure(args.rounds, args.seed, info["seller_ids"][0])}
    settings.LISTINGS_SEARCH_CACHE_SECONDS = 60
    results["warm"] = measure(args.rounds, args.seed, info["seller_ids"][0])
    exact = exact_counts(info["seller_ids"][0])
    for mode in ("cold", "warm"):
        for q in results[mode]["queries"]:
            q["exact_matches"] = exact[q["name"]]
    results["generated"] = {k: v for k, v in info.items() if k != "seller_ids"}
    import platform

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        results["postgres"] = cursor.fetchone()[0]
    results["python"] = platform.python_version()
    results["cpus"] = os.cpu_count()

    for mode in ("cold", "warm"):
        r = results[mode]
        print(f"\n[{mode}]\n{'query':<34}{'matches':>9}{'exact':>9}{'p50 ms':>9}{'p95 ms':>9}")
        for q in r["queries"]:
            shown = f"~{q['matches']}" if q["approximate"] else str(q["matches"])
            print(
                f"{q['name']:<34}{shown:>9}{q['exact_matches']:>9}"
                f"{q['p50_ms']:>9.1f}{q['p95_ms']:>9.1f}"
            )
        print(
            f"search  p50 {r['search_p50_ms']:.1f} ms  p95 {r['search_p95_ms']:.1f} ms\n"
            f"detail  p50 {r['detail_p50_ms']:.1f} ms  p95 {r['detail_p95_ms']:.1f} ms\n"
            f"ratio   p50 {r['p50_ratio']}x  p95 {r['p95_ratio']}x"
        )
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
