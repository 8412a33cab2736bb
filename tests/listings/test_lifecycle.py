"""Who may make each transition, illegal ones refused, each audited (through the API)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from exchange.audit.models import AuditEvent
from listings import services
from listings.models import Listing, ListingVersion
from tests.factories import MembershipFactory, UserFactory, operator, regulator
from tests.listings.factories import listed, make_listing, new_version, publish, seller_member

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    # The site defaults to Chinese; these tests read the English refusals.
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def events(action: str, obj) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(obj.pk)))


LISTING_BODY = {
    "title": "城市交通流量数据集",
    "summary": "Hourly traffic counts",
    "description": "# 说明\n每小时路口流量。",
    "category": "transport",
    "keywords": ["交通", "traffic"],
    "languages": ["zh", "en"],
    "update_frequency": "daily",
    "licence_family": "cc-by-4.0",
}


def test_seller_creates_a_draft_listing_and_it_is_audited(seller) -> None:
    response = client_for(seller.user).post("/api/v1/listings/", LISTING_BODY)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["seller"]["id"] == seller.organisation.id
    assert "<h1>" in body["description_html"]
    listing = Listing.objects.get(pk=body["id"])
    [event] = events("listing.created", listing)
    assert event.actor_id == seller.user.id and event.organisation_id == seller.organisation.id


def test_anonymous_cannot_create(api_client) -> None:
    assert api_client.post("/api/v1/listings/", LISTING_BODY).status_code in (401, 403)
    assert not Listing.objects.exists()


def test_buyer_only_and_frozen_organisations_cannot_create() -> None:
    buyer = seller_member(kind="buyer")
    response = client_for(buyer.user).post("/api/v1/listings/", LISTING_BODY)
    assert response.status_code == 403
    assert "buyer only" in response.json()["message"]
    frozen = seller_member(status="frozen", status_reason="under investigation")
    response = client_for(frozen.user).post("/api/v1/listings/", LISTING_BODY)
    assert response.status_code == 403
    assert "frozen" in response.json()["message"]
    assert not Listing.objects.exists()


def test_a_user_without_organisation_cannot_create() -> None:
    response = client_for(UserFactory()).post("/api/v1/listings/", LISTING_BODY)
    assert response.status_code == 403


def test_other_tenant_cannot_edit_and_cannot_see_a_draft(seller) -> None:
    listing = make_listing(seller)
    other = seller_member()
    client = client_for(other.user)
    assert client.get(f"/api/v1/listings/{listing.pk}/").status_code == 404
    assert client.patch(f"/api/v1/listings/{listing.pk}/", {"title": "x"}).status_code == 404
    assert client.post(f"/api/v1/listings/{listing.pk}/versions/", {}).status_code == 404
    listing.refresh_from_db()
    assert listing.title == "测试数据集"


def test_other_tenant_cannot_edit_a_visible_listing(seller, reg) -> None:
    listing = listed(seller, reg)
    other = client_for(seller_member().user)
    assert other.get(f"/api/v1/listings/{listing.pk}/").status_code == 200
    response = other.patch(f"/api/v1/listings/{listing.pk}/", {"title": "hijacked"})
    assert response.status_code == 403
    assert other.post(f"/api/v1/listings/{listing.pk}/retire/").status_code == 403
    listing.refresh_from_db()
    assert listing.title != "hijacked" and listing.status == "listed"


def test_update_is_audited_with_field_names_only(seller) -> None:
    listing = make_listing(seller)
    response = client_for(seller.user).patch(
        f"/api/v1/listings/{listing.pk}/", {"summary": "secret-ish text", "keywords": ["a"]}
    )
    assert response.status_code == 200, response.content
    [event] = events("listing.updated", listing)
    assert sorted(event.changes["fields"]) == ["keywords", "summary"]
    assert "secret-ish" not in str(event.changes)


def test_full_happy_path_through_the_api(seller, reg) -> None:
    client = client_for(seller.user)
    listing_id = client.post("/api/v1/listings/", LISTING_BODY).json()["id"]
    response = client.post(f"/api/v1/listings/{listing_id}/versions/", {"release_notes": "v1"})
    assert response.status_code == 201 and response.json()["number"] == 1
    version = ListingVersion.objects.get(pk=response.json()["id"])

    # Not yet processed by the pipeline: submission refused.
    response = client.post(f"/api/v1/listings/{listing_id}/versions/1/submit/")
    assert response.status_code == 400
    assert "processed and published" in str(response.json())
    publish(version)
    response = client.post(f"/api/v1/listings/{listing_id}/versions/1/submit/")
    assert response.status_code == 200 and response.json()["status"] == "submitted"

    # The seller cannot review its own version, nor see the queue.
    assert client.get("/api/v1/reviews/").status_code == 403
    assert client.post(f"/api/v1/reviews/{version.pk}/approve/").status_code == 403

    reviewer = client_for(reg)
    queue = reviewer.get("/api/v1/reviews/").json()["results"]
    assert [item["id"] for item in queue] == [version.pk]
    response = reviewer.post(f"/api/v1/reviews/{version.pk}/approve/", {"reason": "ok"})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert reviewer.get("/api/v1/reviews/").json()["results"] == []

    listing = Listing.objects.get(pk=listing_id)
    assert listing.status == "listed" and listing.latest_version_id == version.pk
    assert listing.first_listed_at is not None
    for action, obj in [
        ("listing.version_created", version),
        ("listing.version_published", version),
        ("listing.version_submitted", version),
        ("listing.version_approved", version),
        ("listing.listed", listing),
    ]:
        assert len(events(action, obj)) == 1, action
    approved = events("listing.version_approved", version)[0]
    assert approved.actor_id == reg.id and approved.changes["status"] == ["submitted", "approved"]
    # Anonymous buyers now see it.
    assert APIClient().get(f"/api/v1/listings/{listing_id}/").status_code == 200


def test_reject_requires_reason_and_allows_resubmission(seller, op) -> None:
    listing = make_listing(seller)
    version = publish(new_version(seller, listing))
    services.submit_version(actor=seller.user, organisation=seller.organisation, version=version)
    reviewer = client_for(op)
    response = reviewer.post(f"/api/v1/reviews/{version.pk}/reject/", {"reason": ""})
    assert response.status_code == 400
    response = reviewer.post(
        f"/api/v1/reviews/{version.pk}/reject/", {"reason": "缺少字段说明 / columns undocumented"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "rejected" and body["review_reason"].startswith("缺少字段说明")
    [event] = events("listing.version_rejected", version)
    assert event.changes["reason"].startswith("缺少字段说明")
    listing.refresh_from_db()
    assert listing.status == "draft"  # rejected versions never list anything
    # Rejected → submitted again is allowed; approving a rejected one directly is not.
    assert reviewer.post(f"/api/v1/reviews/{version.pk}/approve/").status_code == 400
    services.submit_version(actor=seller.user, organisation=seller.organisation, version=version)
    assert reviewer.post(f"/api/v1/reviews/{version.pk}/approve/").status_code == 200


@pytest.mark.parametrize(
    "who", ["seller_owner", "seller_member", "buyer", "anonymous", "operator_member_of_seller"]
)
def test_only_independent_regulators_and_operators_review(seller, who) -> None:
    listing = make_listing(seller)
    version = publish(new_version(seller, listing))
    services.submit_version(actor=seller.user, organisation=seller.organisation, version=version)
    if who == "anonymous":
        client = APIClient()
    elif who == "seller_owner":
        client = client_for(seller.user)
    elif who == "seller_member":
        member = MembershipFactory(organisation=seller.organisation, role="member")
        client = client_for(member.user)
    elif who == "buyer":
        client = client_for(seller_member(kind="buyer").user)
    else:
        conflicted = operator()
        MembershipFactory(organisation=seller.organisation, user=conflicted, role="member")
        client = client_for(conflicted)
    response = client.post(f"/api/v1/reviews/{version.pk}/approve/")
    assert response.status_code in (401, 403)
    version.refresh_from_db()
    assert version.status == "submitted"
    assert not events("listing.version_approved", version)


def test_illegal_version_transitions_are_refused(seller, reg) -> None:
    listing = make_listing(seller)
    version = publish(new_version(seller, listing))
    reviewer = client_for(reg)
    # draft → approved / rejected: not submitted yet
    assert reviewer.post(f"/api/v1/reviews/{version.pk}/approve/").status_code == 400
    assert (
        reviewer.post(f"/api/v1/reviews/{version.pk}/reject/", {"reason": "x"}).status_code == 400
    )
    services.submit_version(actor=seller.user, organisation=seller.organisation, version=version)
    # submitted → submitted
    seller_client = client_for(seller.user)
    assert (
        seller_client.post(f"/api/v1/listings/{listing.pk}/versions/1/submit/").status_code == 400
    )
    assert reviewer.post(f"/api/v1/reviews/{version.pk}/approve/").status_code == 200
    # approved → anything
    assert reviewer.post(f"/api/v1/reviews/{version.pk}/approve/").status_code == 400
    assert (
        reviewer.post(f"/api/v1/reviews/{version.pk}/reject/", {"reason": "x"}).status_code == 400
    )
    assert (
        seller_client.post(f"/api/v1/listings/{listing.pk}/versions/1/submit/").status_code == 400
    )
    assert len(events("listing.version_approved", version)) == 1


def test_suspend_is_for_regulators_only_and_hides_the_listing(seller, reg, op) -> None:
    listing = listed(seller, reg)
    url = f"/api/v1/listings/{listing.pk}/suspend/"
    assert client_for(op).post(url, {"reason": "r"}).status_code == 403
    assert client_for(seller.user).post(url, {"reason": "r"}).status_code == 403
    assert client_for(reg).post(url, {"reason": ""}).status_code == 400
    response = client_for(reg).post(url, {"reason": "投诉核查中"})
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    [event] = events("listing.suspended", listing)
    assert event.changes == {"status": ["listed", "suspended"], "reason": "投诉核查中"}
    # Gone from the catalogue; the seller still sees it, with the reason.
    assert APIClient().get(f"/api/v1/listings/{listing.pk}/").status_code == 404
    assert APIClient().get("/api/v1/listings/").json()["count"] == 0
    own = client_for(seller.user).get(f"/api/v1/listings/{listing.pk}/").json()
    assert own["status"] == "suspended" and own["status_reason"] == "投诉核查中"
    # No new versions or submissions while suspended.
    assert (
        client_for(seller.user).post(f"/api/v1/listings/{listing.pk}/versions/").status_code == 400
    )
    # Suspending twice is illegal; reinstating brings it back.
    assert client_for(reg).post(url, {"reason": "again"}).status_code == 400
    reinstate = f"/api/v1/listings/{listing.pk}/reinstate/"
    assert client_for(seller.user).post(reinstate).status_code == 403
    assert client_for(reg).post(reinstate, {"reason": "resolved"}).status_code == 200
    assert APIClient().get(f"/api/v1/listings/{listing.pk}/").status_code == 200
    assert len(events("listing.reinstated", listing)) == 1


def test_retire_is_for_seller_managers_and_final(seller, reg) -> None:
    listing = listed(seller, reg)
    plain_member = MembershipFactory(organisation=seller.organisation, role="member")
    url = f"/api/v1/listings/{listing.pk}/retire/"
    assert client_for(plain_member.user).post(url).status_code == 403
    assert client_for(reg).post(url).status_code == 403  # regulators suspend, they do not retire
    response = client_for(seller.user).post(url, {"reason": "superseded"})
    assert response.status_code == 200 and response.json()["status"] == "retired"
    assert len(events("listing.retired", listing)) == 1
    # Final: no edits, no versions, no second retirement, no reinstatement.
    client = client_for(seller.user)
    assert client.patch(f"/api/v1/listings/{listing.pk}/", {"title": "back"}).status_code == 400
    assert client.post(f"/api/v1/listings/{listing.pk}/versions/").status_code == 400
    assert client.post(url).status_code == 400
    assert client_for(reg).post(f"/api/v1/listings/{listing.pk}/reinstate/").status_code == 400
    assert APIClient().get(f"/api/v1/listings/{listing.pk}/").status_code == 404


def test_api_key_needs_publish_scope_to_write(seller) -> None:
    from exchange.participants.services import create_api_key

    read_token = create_api_key(
        actor=seller.user, organisation=seller.organisation, name="r", scopes=["read"]
    ).token
    publish_token = create_api_key(
        actor=seller.user, organisation=seller.organisation, name="p", scopes=["publish"]
    ).token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {read_token}")
    response = client.post("/api/v1/listings/", LISTING_BODY)
    assert response.status_code == 403 and "publish" in response.json()["message"]
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {publish_token}")
    assert client.post("/api/v1/listings/", LISTING_BODY).status_code == 201


def test_pipeline_hooks_are_idempotent_and_failed_never_overrides_published(seller) -> None:
    listing = make_listing(seller)
    version = new_version(seller, listing)
    services.mark_version_processing(version)
    services.mark_version_failed(version, "bad encoding")
    services.mark_version_failed(version, "bad encoding")
    version.refresh_from_db()
    assert version.pipeline_status == "failed" and version.pipeline_error == "bad encoding"
    assert len(events("listing.version_failed", version)) == 1
    # A retry runs and publishes; redelivery publishes nothing twice; a late failure is ignored.
    services.mark_version_processing(version)
    publish(version)
    publish(version)
    services.mark_version_failed(version, "late duplicate")
    version.refresh_from_db()
    assert version.pipeline_status == "published" and version.files.count() == 1
    assert len(events("listing.version_published", version)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_version_creation_numbers_without_gaps_or_duplicates() -> None:
    member = seller_member()
    listing = make_listing(member)
    errors: list[BaseException] = []

    def create() -> None:
        try:
            new_version(member, listing)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = sorted(listing.versions.values_list("number", flat=True))
    assert numbers == list(range(1, 11))


def test_regulators_see_drafts_for_review(seller, reg) -> None:
    listing = make_listing(seller)
    assert client_for(reg).get(f"/api/v1/listings/{listing.pk}/").status_code == 200
    assert (
        client_for(regulator()).get(f"/api/v1/listings/{listing.pk}/versions/").status_code == 200
    )
