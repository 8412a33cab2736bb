"""Demo data for `make run`: platform staff, three sellers with a dozen listings whose versions
went through the real pipeline (generated files full of synthetic personal data), two buyers with
wallet funds and a few finished trades.

Idempotent: runs on every start and creates only what is missing. The demo passwords are printed
in the README; they exist only in the embedded development setup.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from exchange.participants import services
from exchange.participants.models import Organisation, PlatformRole, User
from exchange.participants.uscc import check_character

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105  (documented demo login, development only)

# Synthetic organisations: names invented, codes built with the real check character.
DEMO_ORGS = [
    ("seller1@demo.example", "华康医疗数据科技有限公司", "seller", "91110108MA01ABCD1"),
    ("seller2@demo.example", "Shanghai Transit Analytics Co.", "seller", "91310115MA1HXY2Q3"),
    ("seller3@demo.example", "深蓝金融风控研究院", "both", "12100000400012345"),
    ("buyer1@demo.example", "Pharma Insight Ltd.", "buyer", "91440300MA5G7K8L9"),
    ("buyer2@demo.example", "城市规划设计研究院", "buyer", "52110000MJ0012345"),
]

# (seller email, title, summary, category, theme, licence template key, price fen, keywords)
DEMO_LISTINGS = [
    ("seller1@demo.example", "门诊就诊记录（脱敏）", "门诊就诊记录，姓名、证件号、电话已脱敏。",
     "medical_health", "medical", "commercial-internal-use", 1200_00, ["门诊", "医疗", "诊断"]),
    ("seller1@demo.example", "慢病随访数据集", "高血压、糖尿病患者随访记录。",
     "medical_health", "medical", "commercial-research-only", 800_00, ["慢病", "随访"]),
    ("seller1@demo.example", "Clinical trial screening log", "Phase II screening outcomes.",
     "drug_research", "medical", "commercial-research-only", 3000_00, ["trial", "screening"]),
    ("seller1@demo.example", "药品不良反应报告", "上市后药品不良反应自发报告汇总。",
     "drug_research", "medical", "commercial-internal-use", 1500_00, ["药品", "不良反应"]),
    ("seller2@demo.example", "地铁进出站刷卡记录", "Metro gate entries, riders pseudonymised.",
     "transport", "transport", "commercial-internal-use", 2000_00, ["地铁", "客流", "metro"]),
    ("seller2@demo.example", "Bus ridership by line", "Daily boardings per bus line.",
     "transport", "transport", "commercial-single-project", 600_00, ["bus", "公交"]),
    ("seller2@demo.example", "城市停车场使用率", "各区停车场分时使用情况。",
     "urban_management", "transport", "commercial-internal-use", 450_00, ["停车", "城市"]),
    ("seller2@demo.example", "Commuter origin-destination sample", "Anonymised OD pairs.",
     "geospatial", "transport", "commercial-research-only", 2500_00, ["OD", "通勤"]),
    ("seller3@demo.example", "小微企业信贷逾期样本", "授信额度与逾期天数，客户身份已脱敏。",
     "finance_risk", "finance", "commercial-internal-use", 5000_00, ["信贷", "风控", "逾期"]),
    ("seller3@demo.example", "消费金融反欺诈特征", "Fraud-screening features for consumer loans.",
     "finance_risk", "finance", "commercial-single-project", 8000_00, ["反欺诈", "fraud"]),
    ("seller3@demo.example", "区县零售消费指数", "各区县零售消费与授信分布。",
     "commerce", "finance", "commercial-internal-use", 300_00, ["零售", "消费"]),
    ("seller3@demo.example", "农户小额贷款记录", "Rural microloan records.",
     "agriculture", "finance", "commercial-research-only", 900_00, ["农业", "贷款"]),
]  # fmt: skip

BUYER_FUNDS_FEN = 100_000_00
FINISHED_TRADES = [
    ("buyer1@demo.example", 0),
    ("buyer2@demo.example", 4),
    ("buyer1@demo.example", 8),
]


class Command(BaseCommand):
    help = "Create the demo logins, organisations, listings and trades (only what is missing)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--accounts-only", action="store_true", help="logins and organisations only"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.conf import settings

        if getattr(settings, "PRODUCTION", False):
            raise CommandError("seed_demo refuses to run with EXCHANGE_PROFILE=production")
        with transaction.atomic():
            self._staff("operator@demo.example", PlatformRole.OPERATOR, is_staff=True)
            self._staff("regulator@demo.example", PlatformRole.REGULATOR, is_staff=True)
            for email, name, kind, first17 in DEMO_ORGS:
                uscc = first17 + check_character(first17)
                user = self._user(email)
                if not Organisation.objects.filter(uscc=uscc).exists():
                    org = services.register_organisation(user=user, name=name, kind=kind, uscc=uscc)
                    staff = User.objects.get(email="operator@demo.example")
                    services.verify_organisation(actor=staff, organisation=org, reason="demo")
        if not options.get("accounts_only"):
            listings = self._listings()
            self._funds()
            self._trades(listings)
        self.stdout.write(f"demo data ready; every demo login uses the password {DEMO_PASSWORD}")

    def _user(self, email: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, **extra)
        return user

    def _staff(self, email: str, role: str, **extra: Any) -> None:
        user = self._user(email, **extra)
        user.groups.add(Group.objects.get(name=role))

    @staticmethod
    def _org(email: str) -> tuple[User, Organisation]:
        user = User.objects.get(email=email)
        return user, user.memberships.select_related("organisation").first().organisation  # type: ignore[union-attr]

    def _listings(self) -> list[Any]:
        from exchange.portal import demo
        from licensing import services as licensing
        from licensing.models import LicenceTemplate
        from listings import services as catalogue
        from listings.models import Listing, ListingVersion

        operator = User.objects.get(email="operator@demo.example")
        result = []
        for n, (email, title, summary, category, theme, template, price, keywords) in enumerate(
            DEMO_LISTINGS
        ):
            user, org = self._org(email)
            listing = Listing.objects.filter(seller=org, title=title).first()
            if listing is None:
                listing = catalogue.create_listing(
                    actor=user,
                    organisation=org,
                    title=title,
                    summary=summary,
                    description=f"{summary}\n\n本数据集由演示数据生成，不含真实个人信息。",
                    category=category,
                    keywords=keywords,
                    languages=["zh"],
                    licence_family="commercial",
                    spatial_coverage="中国",
                    update_frequency="monthly",
                )
            if not listing.price_plans.exists():
                plan = catalogue.create_price_plan(
                    actor=user, organisation=org, listing=listing, kind="one_time", price_fen=price
                )
                licensing.create_offer(
                    actor=user,
                    price_plan=plan,
                    template=LicenceTemplate.objects.get(key=template, is_current=True),
                    allowed={},
                )
            version = listing.versions.order_by("-number").first()
            if version is None or version.pipeline_status == "failed":
                data, _ = demo.pii_csv(theme, rows=80, seed=n + 1)
                with demo.eager_pipeline():
                    version = demo.publish_file(
                        actor=user,
                        organisation=org,
                        listing=listing,
                        filename=f"{theme}-{n + 1}.csv",
                        data=data,
                        release_notes="首个版本",
                    )
                self.stdout.write(f"  {title}: pipeline {version.pipeline_status}")
            if version.pipeline_status == "published" and version.status == "draft":
                catalogue.submit_version(actor=user, organisation=org, version=version)
                version.refresh_from_db()
            if version.status == ListingVersion.Status.SUBMITTED:
                catalogue.approve_version(
                    actor=operator, version=version, reason="演示数据审核通过"
                )
            # Approval changed the listing's state in the database, not in this object.
            listing.refresh_from_db()
            result.append(listing)
        return result

    def _funds(self) -> None:
        from exchange.ledger import funding
        from exchange.ledger.selectors import deposits_of

        operator = User.objects.get(email="operator@demo.example")
        for email in ("buyer1@demo.example", "buyer2@demo.example"):
            _, org = self._org(email)
            if not deposits_of(org).exists():
                funding.record_manual_deposit(
                    operator=operator, organisation=org, amount_fen=BUYER_FUNDS_FEN, reason="demo"
                )

    def _trades(self, listings: list[Any]) -> None:
        from exchange.trading import services as trading
        from exchange.trading.models import Order

        for email, index in FINISHED_TRADES:
            if index >= len(listings):
                continue
            user, org = self._org(email)
            listing = listings[index]
            if not listing.is_listed or Order.objects.filter(buyer=org, listing=listing).exists():
                continue
            plan = listing.price_plans.filter(active=True).first()
            order = trading.create_order(actor=user, buyer=org, price_plan=plan)
            order = trading.sign_order(
                actor=user, organisation=org, order=order, signed_hash=order.contract.content_hash
            )
            order = trading.fund_order(actor=user, organisation=org, order=order)
            trading.issue_download_links(actor=user, organisation=org, order=order)
            trading.accept_order(actor=user, organisation=org, order=order)
