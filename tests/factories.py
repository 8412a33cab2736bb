"""factory_boy factories producing synthetic participants (never real people or companies)."""

from __future__ import annotations

import random
from typing import Any

import factory
from django.contrib.auth.models import Group

from exchange.participants.models import Membership, Organisation, PlatformRole, User
from exchange.participants.uscc import ALPHABET, check_character

_rng = random.Random(20261126)


def make_uscc(first: str = "9") -> str:
    """A synthetic USCC with a correct check character."""
    body = first + "1" + "".join(_rng.choice("0123456789") for _ in range(6))
    body += "".join(_rng.choice(ALPHABET) for _ in range(17 - len(body)))
    return body + check_character(body)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    display_name = factory.Sequence(lambda n: f"Test Person {n}")
    password = factory.django.Password("correct horse battery staple")


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"测试机构{n}有限公司")
    kind = "both"
    uscc = factory.LazyFunction(make_uscc)
    status = "verified"


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = "owner"


def platform_user(role: str, **kwargs: Any) -> User:
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


def regulator(**kwargs: Any) -> User:
    return platform_user(PlatformRole.REGULATOR, **kwargs)


def operator(**kwargs: Any) -> User:
    return platform_user(PlatformRole.OPERATOR, **kwargs)
