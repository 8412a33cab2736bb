import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from exchange.audit.models import AuditEvent
from exchange.participants.models import ApiKey
from exchange.participants.throttling import ApiKeyRateThrottle
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def create_key(client: APIClient, membership, scopes=("read",), **extra) -> dict:
    client.force_login(membership.user)
    response = client.post(
        "/api/v1/api-keys/", {"name": "bot", "scopes": list(scopes), **extra}, format="json"
    )
    client.logout()
    assert response.status_code == 201, response.content
    return response.json()


def key_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {token}")
    return client


def test_key_is_shown_once_and_stored_hashed(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner)
    token = body["token"]
    assert token.startswith(f"dx_{body['prefix']}_")
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiKey.objects.filter(pk=body["id"]).values().first())
    # Listing the keys never shows the secret again.
    api_client.force_login(org_owner.user)
    listed = api_client.get("/api/v1/api-keys/").json()
    assert [k["prefix"] for k in listed] == [body["prefix"]]
    assert "token" not in listed[0]
    # Creation is audited without the secret.
    event = AuditEvent.objects.get(action="api_key.created")
    assert token not in str(event.changes) and event.changes["prefix"] == body["prefix"]


def test_valid_key_authenticates_for_its_organisation_and_records_use(
    api_client, org_owner
) -> None:
    body = create_key(api_client, org_owner)
    response = key_client(body["token"]).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["organisation"]["id"] == org_owner.organisation.id
    assert response.json()["api_key_scopes"] == ["read"]
    assert ApiKey.objects.get(pk=body["id"]).last_used_at is not None


def test_wrong_secret_with_a_real_prefix_is_refused(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner)
    forged = body["token"][:-4] + ("AAAA" if not body["token"].endswith("AAAA") else "BBBB")
    response = key_client(forged).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key."


def test_revoked_key_is_refused(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner)
    api_client.force_login(org_owner.user)
    assert api_client.post(f"/api/v1/api-keys/{body['id']}/revoke/").status_code == 200
    response = key_client(body["token"]).get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_expired_key_is_refused(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner)
    ApiKey.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = key_client(body["token"]).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_expiry_in_the_past_is_refused_at_creation(api_client, org_owner) -> None:
    api_client.force_login(org_owner.user)
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = api_client.post(
        "/api/v1/api-keys/", {"name": "bot", "scopes": ["read"], "expires_at": past}, format="json"
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()["field_errors"]


def test_unknown_scope_is_refused_naming_the_field(api_client, org_owner) -> None:
    api_client.force_login(org_owner.user)
    response = api_client.post(
        "/api/v1/api-keys/", {"name": "bot", "scopes": ["admin"]}, format="json"
    )
    assert response.status_code == 400
    assert "scopes" in response.json()["field_errors"]


@pytest.mark.urls("tests.participants.scope_urls")
def test_wrong_scope_is_refused_and_right_scope_passes(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner, scopes=("read", "publish"))
    client = key_client(body["token"])
    refused = client.post("/scoped/trade/", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403
    assert "'trade' scope" in refused.json()["message"]
    assert client.post("/scoped/publish/").status_code == 200


def test_a_key_cannot_mint_keys(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner, scopes=("read", "trade", "publish"))
    response = key_client(body["token"]).post(
        "/api/v1/api-keys/", {"name": "x", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 403


def test_plain_members_cannot_create_keys(api_client) -> None:
    member = MembershipFactory(role="member")
    api_client.force_login(member.user)
    response = api_client.post(
        "/api/v1/api-keys/", {"name": "x", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 403


def test_keys_are_throttled_per_key(api_client, org_owner, monkeypatch) -> None:
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    first = key_client(create_key(api_client, org_owner)["token"])
    second = key_client(create_key(api_client, org_owner)["token"])
    codes = [first.get("/api/v1/me/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = first.get("/api/v1/me/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert limited.json()["type"] == "rate_limited"
    # Another key of the same organisation has its own budget.
    assert second.get("/api/v1/me/").status_code == 200


def test_another_tenant_cannot_see_or_revoke_a_key(api_client, org_owner) -> None:
    body = create_key(api_client, org_owner)
    stranger = MembershipFactory(role="owner")
    api_client.force_login(stranger.user)
    assert api_client.post(f"/api/v1/api-keys/{body['id']}/revoke/").status_code == 404
    assert api_client.get("/api/v1/api-keys/").json() == []
    assert api_client.get(f"/api/v1/organisations/{org_owner.organisation.id}/").status_code == 404
