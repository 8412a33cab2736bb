import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from exchange.audit.models import AuditEvent
from exchange.participants import services
from exchange.participants.models import Organisation
from exchange.participants.uscc import check_character
from tests.factories import MembershipFactory, UserFactory, make_uscc, operator, regulator

pytestmark = pytest.mark.django_db


def test_registering_makes_a_pending_organisation_owned_by_its_creator(api_client) -> None:
    user = UserFactory()
    api_client.force_login(user)
    body = "91310115MA1HXY2Q3"
    response = api_client.post(
        "/api/v1/organisations/",
        {"name": "测试数据有限公司", "kind": "seller", "uscc": body + check_character(body)},
        format="json",
    )
    assert response.status_code == 201, response.content
    org = Organisation.objects.get(pk=response.json()["id"])
    assert org.status == "pending"
    assert org.memberships.get().user == user and org.memberships.get().role == "owner"
    assert AuditEvent.objects.filter(
        action="organisation.registered", object_id=str(org.pk)
    ).exists()


def test_a_bad_uscc_is_refused_naming_the_field(api_client) -> None:
    api_client.force_login(UserFactory())
    response = api_client.post(
        "/api/v1/organisations/",
        {"name": "x", "kind": "seller", "uscc": "91310115MA1HXY2Q3Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "uscc" in response.json()["field_errors"]
    assert Organisation.objects.count() == 0


def test_only_platform_staff_freeze_and_the_reason_is_audited() -> None:
    membership = MembershipFactory()
    with pytest.raises(PermissionDenied):
        services.freeze_organisation(
            actor=membership.user, organisation=membership.organisation, reason="self"
        )
    staff = regulator()
    services.freeze_organisation(
        actor=staff, organisation=membership.organisation, reason="违规交易调查"
    )
    event = AuditEvent.objects.get(action="organisation.frozen")
    assert event.actor_id == staff.pk and event.changes["reason"] == "违规交易调查"
    assert event.changes["status"] == ["verified", "frozen"]


def test_a_frozen_organisation_is_refused_with_the_reason(api_client) -> None:
    membership = MembershipFactory(role="owner")
    services.freeze_organisation(
        actor=operator(), organisation=membership.organisation, reason="suspected data leak"
    )
    api_client.force_login(membership.user)
    response = api_client.post(
        "/api/v1/api-keys/",
        {"name": "b", "scopes": ["read"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    message = response.json()["message"]
    assert "is frozen" in message and "suspected data leak" in message
    # Reading is still allowed: a frozen organisation can see its own state.
    assert api_client.get("/api/v1/me/").status_code == 200
    # Outside a request the refusal speaks the default language (Chinese) unless told otherwise.
    membership.organisation.refresh_from_db()
    with (
        translation.override("en"),
        pytest.raises(services.OrganisationFrozen, match="cannot pay into escrow"),
    ):
        services.ensure_not_frozen(membership.organisation, "pay into escrow")


def test_unfreezing_restores_writes(api_client) -> None:
    membership = MembershipFactory(role="owner")
    staff = regulator()
    services.freeze_organisation(actor=staff, organisation=membership.organisation, reason="check")
    services.unfreeze_organisation(
        actor=staff, organisation=membership.organisation, reason="cleared"
    )
    api_client.force_login(membership.user)
    response = api_client.post(
        "/api/v1/api-keys/", {"name": "b", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 201


def test_regulator_sees_every_organisation_and_members_only_their_own(api_client) -> None:
    mine = MembershipFactory()
    MembershipFactory()
    api_client.force_login(mine.user)
    assert [o["id"] for o in api_client.get("/api/v1/organisations/").json()] == [
        mine.organisation.id
    ]
    api_client.force_login(regulator())
    assert len(api_client.get("/api/v1/organisations/").json()) == 2


def test_anonymous_is_refused_everywhere() -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    for url in ["/api/v1/me/", "/api/v1/organisations/", "/api/v1/api-keys/"]:
        assert client.get(url).status_code in (401, 403), url


def test_make_uscc_factory_produces_valid_codes() -> None:
    assert all(services.Organisation(uscc=make_uscc()).uscc for _ in range(3))
