"""Demo data for `make run`: platform staff and organisations with their people.

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


class Command(BaseCommand):
    help = "Create the demo logins and organisations (only what is missing)."

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
        self.stdout.write(f"demo data ready; every demo login uses the password {DEMO_PASSWORD}")

    def _user(self, email: str, **extra: Any) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, **extra)
        return user

    def _staff(self, email: str, role: str, **extra: Any) -> None:
        user = self._user(email, **extra)
        user.groups.add(Group.objects.get(name=role))
