"""Tenant isolation across the whole API, endpoint by endpoint.

Every route under /api/v1/ is found by walking Django's URL resolver, so an endpoint added later
is covered without touching this file, and one whose path parameters this file cannot fill makes
the test fail until somebody decides what "another tenant's object" means for it.

Organisation A (a seller that also buys) owns data of every kind: listings (public, private to a
named buyer, draft), versions (approved and draft), price plans and offers, an upload in
quarantine with its report, orders on both sides, contracts, licences, disputes, webhook
endpoints and deliveries, notifications, API keys, deposits, withdrawals and ledger postings.
Organisation B, holding an API key with every scope, calls each endpoint with A's ids: every
method answers 403 or 404 and its body names nothing of A's. A short, commented allow-list names
the public reads (the catalogue, a public listing and its approved versions, licence templates,
active offers on public listings) that answer 200, and those must carry no private field.
Lists B may read must not contain A's private objects, and writes without path parameters that
take ids in their body refuse A's ids.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import product
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from rest_framework.test import APIClient

from exchange.ledger import funding
from exchange.ledger.models import Deposit, Posting, Withdrawal
from exchange.participants.models import ApiKey, Membership, Organisation
from exchange.storage import ObjectStorage
from exchange.trading import services as trading
from exchange.trading.models import (
    Dispute,
    Notification,
    Order,
    WebhookDelivery,
    WebhookEndpoint,
)
from licensing import services as licensing
from licensing.models import Contract, Licence, LicenceTemplate, Offer
from listings import services as listing_services
from listings.models import Listing, ListingVersion, PricePlan
from listings.pipeline import services as pipeline
from listings.pipeline.models import Upload
from tests.api.conftest import issue_key
from tests.trading.factories import Market, member

pytestmark = pytest.mark.django_db

API_PREFIX = "api/v1/"
WRITE_METHODS = ("post", "put", "patch", "delete")
SECRET = "SECRET-A-7f3c"  # carried by every private text of A's; B must never read it

# --- the allow-list of public reads --------------------------------------------------------------
# Route names whose GET may answer 200 to any caller, when every path parameter names a public
# object (a listed public listing, its approved version, its active plan and offer). With any
# private object in the path they must refuse like everything else. Writes are never public.
PUBLIC_READS = {
    "listings-detail",  # the catalogue page of a public listing
    "listings-price-plans",  # a public listing's active price plans
    "listings-versions",  # its approved versions (drafts are hidden)
    "listings-version",  # one approved version
    "listings-version-schema",  # its Frictionless Table Schema
    "licensing-template",  # licence templates are the platform's, readable by anyone
    "licensing-offer",  # the active licence offer of a public listing's plan
}
# Routes without path parameters that are public by nature (their answers are still scanned
# for A's private data below).
PUBLIC_COLLECTIONS = {
    "api-root",
    "api-schema",
    "api-docs",
    "api-redoc",
    "listings-list",  # catalogue search: listed listings visible to the caller
    "licensing-templates",
    "licensing-offers",  # active offers on listings the caller may open, and its own
    "licensing-api-verify",  # third-party verification of a licence or contract hash
    "ledger-sandbox-callback",  # unauthenticated: the HMAC signature is the credential
}
# Keys that must never appear in any answer to B (storage locations, credentials).
PRIVATE_KEYS = {
    "storage_key",
    "quarantine_key",
    "multipart_upload_id",
    "raw_sha256",
    "secret",
    "token",
    "key_hash",
    "salt",
}


# --- the two organisations ------------------------------------------------------------------------


@dataclass
class World:
    a: Membership
    b: Membership
    b_client: APIClient
    ids: dict[str, list[tuple[Any, bool]]]  # path parameter -> [(value, is_public)]
    listing_groups: list[dict[str, Any]]  # coherent (listing_id, number, plan_id) triples
    route_ids: dict[tuple[str, str], list[tuple[Any, bool]]]  # (route, parameter) overrides
    private_ids: dict[str, set[Any]]  # list route -> ids of A's objects it must not show
    secrets: set[str]  # strings only A's private objects carry
    public_names: set[str]  # A's public names: fine in a 200, never in a refusal
    storage_keys: set[str]
    bodies: dict[str, Any] = field(default_factory=dict)


def _listed_version(listing: Listing, number: int, storage_key: str) -> ListingVersion:
    version = ListingVersion.objects.create(
        listing=listing,
        number=number,
        status=ListingVersion.Status.APPROVED,
        pipeline_status=ListingVersion.PipelineStatus.PUBLISHED,
        published_at=timezone.now() - timedelta(days=2),
        approved_at=timezone.now() - timedelta(days=1),
        table_schema={"fields": [{"name": "record_id", "type": "string"}]},
    )
    version.files.create(
        name=f"data-v{number}.csv",
        format="csv",
        media_type="text/csv",
        size=10,
        sha256="0" * 64,
        storage_key=storage_key,
        row_count=1,
    )
    return version


def _offer(market: Market, plan: PricePlan) -> Offer:
    return licensing.create_offer(
        actor=market.seller.user,
        price_plan=plan,
        template=LicenceTemplate.objects.get(key="commercial-internal-use", is_current=True),
        allowed={},
    )


def build_world(storage: ObjectStorage) -> World:
    # A sells (market_a) and buys from C (market_c); its customer buys from it. B is a stranger
    # that buys A's public listing too, so B's own lists are not empty and do touch A's public
    # side.
    market_a = Market(storage)
    market_c = Market(storage)
    a = market_a.seller
    a.organisation.name = "甲数据科技有限公司"
    a.organisation.save(update_fields=["name"])
    a_org = a.organisation

    public = market_a.listing
    public.title = "甲公开交通数据"
    public.save(update_fields=["title"])
    v1 = market_a.v1
    v1.table_schema = {"fields": [{"name": "record_id", "type": "string"}]}
    v1.save(update_fields=["table_schema"])
    public_plan = market_a.plan(price_fen=100_00)
    public_offer = public_plan.offers.get(status=Offer.Status.ACTIVE)
    v2 = listing_services.create_version(
        actor=a.user, organisation=a_org, listing=public, release_notes=f"draft notes {SECRET}"
    )

    customer = market_a.buyer(funds_fen=10_000_00)
    customer.organisation.name = f"乙客户 {SECRET}"
    customer.organisation.save(update_fields=["name"])

    private = Listing.objects.create(
        seller=a_org, title=f"私有数据 {SECRET}", status="listed", visibility="private"
    )
    private.allowed_buyers.add(customer.organisation)
    private_v1 = _listed_version(private, 1, f"listings/{private.pk}/v1/data.csv")
    private_plan = PricePlan.objects.create(listing=private, kind="one_time", price_fen=10_00)
    private_offer = _offer(market_a, private_plan)

    draft = listing_services.create_listing(
        actor=a.user, organisation=a_org, title=f"草稿数据 {SECRET}", summary=SECRET
    )
    draft_v1 = listing_services.create_version(
        actor=a.user, organisation=a_org, listing=draft, release_notes=SECRET
    )
    draft_plan = PricePlan.objects.create(listing=draft, kind="one_time", price_fen=10_00)
    draft_offer = _offer(market_a, draft_plan)

    upload, _ = pipeline.start_upload(
        actor=a.user,
        organisation=a_org,
        version=draft_v1,
        filename=f"raw-{SECRET}.csv",
        size=100,
    )
    Upload.objects.filter(pk=upload.pk).update(report={"note": SECRET})

    # Orders on both sides of A, at several stages, with a dispute on each side.
    sold_created = market_a.order(customer, public_plan)
    sold_funded = market_a.funded(customer, public_plan)
    sold_disputed = market_a.delivered(customer, public_plan)
    sold_dispute = trading.open_dispute(
        actor=customer.user,
        organisation=customer.organisation,
        order=sold_disputed,
        reason=f"empty file {SECRET}",
        evidence=[],
    )
    market_c.deposit(a, 1_000_00)
    plan_c = market_c.plan(price_fen=50_00)
    bought = market_c.funded(a, plan_c)
    bought_disputed = market_c.funded(a, plan_c)
    bought_dispute = trading.open_dispute(
        actor=a.user,
        organisation=a_org,
        order=bought_disputed,
        reason=f"wrong data {SECRET}",
        evidence=[],
    )
    a_orders = [sold_created, sold_funded, sold_disputed, bought, bought_disputed]

    endpoint = WebhookEndpoint(
        organisation=a_org,
        url=f"https://hooks.example.test/{SECRET}",
        events=["order.funded"],
        description=SECRET,
    )
    endpoint.set_secret("whsec_" + uuid.uuid4().hex)
    endpoint.save()
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="order.funded",
        payload={"note": SECRET},
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    notification = Notification.objects.create(
        organisation=a_org, kind="version.published", order=bought, message=SECRET
    )
    a_key, a_token = issue_key(a, name=f"robot {SECRET}")
    deposit, _ = funding.start_deposit(actor=a.user, organisation=a_org, amount_fen=7_00)
    withdrawal = funding.request_withdrawal(actor=a.user, organisation=a_org, amount_fen=3_00)

    b = member(name="丙数据贸易有限公司", kind="both")
    market_a.deposit(b, 1_000_00)
    market_a.funded(b, public_plan)  # B's own order on A's public listing
    Notification.objects.create(organisation=b.organisation, kind="version.published", message="b")
    _, b_token = issue_key(b)
    b_client = APIClient()
    b_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {b_token}")

    contracts = [o.contract for o in a_orders]
    licences = [Licence.objects.get(pk=o.licence_id) for o in a_orders if o.licence_id]
    template = public_offer.template
    ids: dict[str, list[tuple[Any, bool]]] = {
        "order_id": [(o.pk, False) for o in a_orders],
        "dispute_id": [(sold_dispute.pk, False), (bought_dispute.pk, False)],
        "contract_id": [(c.pk, False) for c in contracts],
        "licence_id": [(str(li.pk), False) for li in licences],
        "offer_id": [(public_offer.pk, True), (private_offer.pk, False), (draft_offer.pk, False)],
        "template_id": [(template.pk, True)],
        "upload_id": [(str(upload.pk), False)],
        "endpoint_id": [(endpoint.pk, False)],
        "version_id": [(v2.pk, False), (draft_v1.pk, False), (private_v1.pk, False)],
    }
    everything = {"listing_id", "number", "plan_id"}
    listing_groups = [
        # The public listing's approved v1 and its active plan: public.
        {"listing_id": public.pk, "number": v1.number, "plan_id": public_plan.pk, "private": set()},
        # Its draft v2: private (only the seller sees unapproved versions).
        {
            "listing_id": public.pk,
            "number": v2.number,
            "plan_id": public_plan.pk,
            "private": {"number"},
        },
        {"listing_id": private.pk, "number": 1, "plan_id": private_plan.pk, "private": everything},
        {"listing_id": draft.pk, "number": 1, "plan_id": draft_plan.pk, "private": everything},
    ]
    route_ids = {
        ("api-organisation", "pk"): [(a_org.pk, False), (customer.organisation_id, False)],
        ("api-key-revoke", "pk"): [(a_key.pk, False)],
    }
    a_org_ids = {a_org.pk, customer.organisation_id}
    private_ids: dict[str, set[Any]] = {
        "listings-list": {private.pk, draft.pk},
        "licensing-offers": {private_offer.pk, draft_offer.pk},
        "trading-orders": {o.pk for o in a_orders},
        "trading-disputes": {sold_dispute.pk, bought_dispute.pk},
        "licensing-contracts": {c.pk for c in contracts},
        "licensing-licences": {str(li.pk) for li in licences},
        "trading-webhooks": {endpoint.pk},
        "trading-notifications": {notification.pk},
        "api-keys": set(
            ApiKey.objects.filter(organisation__in=a_org_ids).values_list("pk", flat=True)
        ),
        "api-organisations": a_org_ids,
        "ledger-deposits": set(
            Deposit.objects.filter(organisation__in=a_org_ids).values_list("pk", flat=True)
        ),
        "ledger-withdrawals": {withdrawal.pk},
        "ledger-wallet-transactions": set(
            Posting.objects.filter(account__organisation__in=a_org_ids).values_list("pk", flat=True)
        ),
        "listings-reviews": {v2.pk, draft_v1.pk},
    }
    secrets = {
        SECRET,
        a_key.prefix,
        a_token,
        endpoint.signing_secret(),
        endpoint.secret_ciphertext,
        str(upload.pk),
        upload.quarantine_key,
        deposit.provider_reference or SECRET,
        *(c.reference for c in contracts),
        *(c.content_hash for c in contracts),
        *(str(li.pk) for li in licences),
    }
    world = World(
        a=a,
        b=b,
        b_client=b_client,
        ids=ids,
        listing_groups=listing_groups,
        route_ids=route_ids,
        private_ids=private_ids,
        secrets={s for s in secrets if s},
        public_names={a_org.name, public.title, market_c.listing.title},
        storage_keys=set(
            ListingVersion.objects.filter(listing__seller=a_org)
            .values_list("files__storage_key", flat=True)
            .exclude(files__storage_key=None)
        )
        | {upload.quarantine_key},
    )
    world.bodies = {
        "private_plan": private_plan.pk,
        "draft_plan": draft_plan.pk,
        "public_plan": public_plan.pk,
        "private_offer": private_offer.pk,
        "draft_offer": draft_offer.pk,
        "public_offer": public_offer.pk,
        "draft_version": v2.pk,
        "template": template.pk,
        "a_org": a_org.pk,
        "notification": notification.pk,
        "deposit_reference": deposit.provider_reference,
        "deposit_amount": deposit.amount_fen,
    }
    return world


@pytest.fixture
def world(db: None, local_storage: ObjectStorage, settings: Any) -> World:
    settings.PLATFORM_FEE_BPS = 500
    settings.DOWNLOAD_LINK_TTL_SECONDS = 300
    return build_world(local_storage)


def b_session_claiming_a(world: World) -> APIClient:
    """B's user signed in, naming A in X-Organisation: a membership it does not have."""
    client = APIClient()
    client.force_authenticate(world.b.user)
    client.credentials(HTTP_X_ORGANISATION=str(world.a.organisation_id))
    return client


CALLERS = ["api_key", "session_claiming_a"]


def caller(world: World, kind: str) -> APIClient:
    return world.b_client if kind == "api_key" else b_session_claiming_a(world)


@pytest.fixture(autouse=True)
def _no_throttling(no_throttling: None) -> None:
    """Hundreds of requests from one key: 429 has its own test (test_rate_limits)."""


# --- walking the URL resolver ---------------------------------------------------------------------

PARAM_RE = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Endpoint:
    route: str  # e.g. "api/v1/orders/<int:order_id>/"
    name: str
    view: type
    methods: tuple[str, ...]

    @property
    def params(self) -> list[str]:
        return [m.group("name") for m in PARAM_RE.finditer(self.route)]

    def url(self, values: dict[str, Any]) -> str:
        return "/" + PARAM_RE.sub(lambda m: str(values[m.group("name")]), self.route)


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + _route_of(pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + _route_of(pattern), pattern


def _route_of(pattern: URLPattern | URLResolver) -> str:
    if isinstance(pattern.pattern, RoutePattern):
        return str(pattern.pattern)
    # A regex route: kept as is, and any group in it makes the endpoint unfillable (a failure).
    return str(pattern.pattern.regex.pattern).lstrip("^").rstrip("$").replace("\\Z", "")


def api_endpoints() -> list[Endpoint]:
    endpoints = []
    for route, pattern in _walk(get_resolver().url_patterns, ""):
        if not route.startswith(API_PREFIX):
            continue
        view = getattr(pattern.callback, "view_class", None) or getattr(
            pattern.callback, "cls", None
        )
        assert view is not None, f"{route}: not a class-based view; add it to this test"
        methods = tuple(
            m for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)
        )
        endpoints.append(Endpoint(route, pattern.name or route, view, methods))
    return endpoints


def fillings(
    endpoint: Endpoint, world: World
) -> tuple[list[tuple[dict[str, Any], bool]], list[str]]:
    """Every way to fill the endpoint's path with A's objects, each with "all public?"; and the
    parameters nothing could fill."""
    params = endpoint.params
    if "(" in endpoint.route:
        return [], [f"regex route {endpoint.route}"]
    group_keys = {"listing_id", "number", "plan_id"}
    groups: list[dict[str, Any]] = [{}]
    if group_keys & set(params):
        groups = world.listing_groups
    choices: list[list[tuple[str, Any, bool]]] = []
    missing = []
    for name in params:
        if name in group_keys:
            continue
        candidates = world.route_ids.get((endpoint.name, name)) or world.ids.get(name)
        if not candidates:
            missing.append(name)
            continue
        choices.append([(name, value, public) for value, public in candidates])
    result: dict[str, tuple[dict[str, Any], bool]] = {}
    for group in groups:
        for combo in product(*choices):
            values = {k: v for k, v in group.items() if k in params}
            public = not (group.get("private", set()) & set(params))
            for name, value, is_public in combo:
                values[name] = value
                public = public and is_public
            result.setdefault(endpoint.url(values), (values, public))
    return list(result.values()), missing


# --- what an answer may contain -------------------------------------------------------------------


def _body(response: Any) -> str:
    content = getattr(response, "content", b"") or b""
    return content.decode("utf-8", "replace")


def _json(response: Any) -> Any:
    try:
        return json.loads(_body(response))
    except ValueError:
        return None


def _walk_json(data: Any) -> Iterator[tuple[str | None, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key, value
            yield from _walk_json(value)
    elif isinstance(data, list):
        for item in data:
            yield None, item
            yield from _walk_json(item)


def leaks(response: Any, world: World, *, refusal: bool) -> list[str]:
    """What of A's the answer shows: private strings always; public names too in a refusal."""
    text = _body(response)
    found = [f"secret {s!r}" for s in world.secrets if s in text]
    found += [f"storage key {k!r}" for k in world.storage_keys if k in text]
    if refusal:
        found += [f"name {n!r} in a refusal" for n in world.public_names if n in text]
    for key, value in _walk_json(_json(response)):
        if key in PRIVATE_KEYS:
            found.append(f"private field {key!r}")
        if key == "allowed_buyers" and value is not None:
            found.append("allowed_buyers shown to a buyer")
    return found


# --- the requests B sends -------------------------------------------------------------------------

SIGNED_HASH = "0" * 64
# Plausible bodies (valid on their own), so a refusal is about the object, not the input.
WRITE_BODIES: dict[str, dict[str, Any]] = {
    "listings-detail": {"title": "hijacked"},
    "listings-retire": {"reason": "x"},
    "listings-suspend": {"reason": "x"},
    "listings-reinstate": {"reason": "x"},
    "listings-price-plans": {"kind": "one_time", "price_fen": 100},
    "listings-versions": {"release_notes": "x"},
    "listings-review-approve": {"reason": "x"},
    "listings-review-reject": {"reason": "x"},
    "pipeline-upload-start": {"filename": "x.csv", "size": 10},
    "licensing-contract-sign": {"hash": SIGNED_HASH},
    "licensing-licence-revoke": {"reason": "x"},
    "trading-order-sign": {"contract_hash": SIGNED_HASH},
    "trading-order-cancel": {"reason": "x"},
    "trading-order-dispute": {"reason": "x"},
    "trading-dispute-respond": {"response": "x"},
    "trading-dispute-resolve": {"outcome": "refund"},
    "trading-webhook": {"description": "x"},
}


def send(client: APIClient, method: str, endpoint: Endpoint, url: str) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    if method == "get":
        return client.get(url)
    if endpoint.name == "pipeline-upload-direct":
        upload = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
        return client.post(url, {"file": upload}, format="multipart", **headers)
    body = WRITE_BODIES.get(endpoint.name, {})
    return getattr(client, method)(url, body, format="json", **headers)


def snapshot(world: World) -> dict[str, Any]:
    """A's state that B's writes must leave alone."""
    a_org = world.a.organisation
    return {
        "listings": sorted(
            Listing.objects.filter(seller=a_org).values_list("pk", "title", "status", "visibility")
        ),
        "versions": sorted(
            ListingVersion.objects.filter(listing__seller=a_org).values_list("pk", "status")
        ),
        "plans": sorted(
            PricePlan.objects.filter(listing__seller=a_org).values_list("pk", "active")
        ),
        "offers": sorted(Offer.objects.filter(seller=a_org).values_list("pk", "status")),
        "orders": sorted(Order.objects.values_list("pk", "status")),
        "disputes": sorted(Dispute.objects.values_list("pk", "status", "seller_response")),
        "contracts": sorted(Contract.objects.values_list("pk", "status")),
        "licences": sorted(Licence.objects.values_list("pk", "status")),
        "uploads": sorted(Upload.objects.values_list("pk", "status")),
        "webhooks": sorted(
            WebhookEndpoint.objects.filter(organisation=a_org).values_list("pk", "description")
        ),
        "notifications": sorted(
            Notification.objects.filter(organisation=a_org).values_list("pk", "read_at")
        ),
        "keys": sorted(ApiKey.objects.filter(organisation=a_org).values_list("pk", "revoked_at")),
        "deposits": sorted(Deposit.objects.values_list("pk", "status")),
        "withdrawals": sorted(Withdrawal.objects.values_list("pk", "status")),
    }


# --- the tests ------------------------------------------------------------------------------------


def test_the_walk_finds_the_api() -> None:
    endpoints = api_endpoints()
    names = {e.name for e in endpoints}
    assert len(endpoints) > 50
    assert {"trading-order", "listings-detail", "ledger-wallet", "pipeline-upload"} <= names
    # The allow-lists name real routes: a renamed route must not silently widen them.
    assert names >= PUBLIC_READS and names >= PUBLIC_COLLECTIONS


@pytest.mark.parametrize("kind", CALLERS)
def test_other_tenants_objects_answer_403_or_404_on_every_endpoint(world: World, kind: str) -> None:
    client = caller(world, kind)
    before = snapshot(world)
    failures: list[str] = []
    checked = 0
    for endpoint in api_endpoints():
        if not endpoint.params:
            continue
        filled, missing = fillings(endpoint, world)
        if missing:
            failures.append(f"{endpoint.route}: cannot fill {missing}; add A's ids for them")
            continue
        for values, public in filled:
            url = endpoint.url(values)
            for method in endpoint.methods:
                response = send(client, method, endpoint, url)
                checked += 1
                where = f"{method.upper()} {url} ({endpoint.name})"
                if method == "get" and public and endpoint.name in PUBLIC_READS:
                    if response.status_code != 200:
                        failures.append(f"{where}: public read answered {response.status_code}")
                    failures += [
                        f"{where}: {leak}" for leak in leaks(response, world, refusal=False)
                    ]
                    continue
                if response.status_code not in (403, 404):
                    failures.append(f"{where}: {response.status_code} {_body(response)[:200]}")
                failures += [f"{where}: {leak}" for leak in leaks(response, world, refusal=True)]
    assert checked > 120, checked
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
    assert snapshot(world) == before, "B's refused requests changed A's data"


@pytest.mark.parametrize("kind", CALLERS)
def test_lists_never_show_another_tenants_objects(world: World, kind: str) -> None:
    client = caller(world, kind)
    failures: list[str] = []
    # Query variants that point a list at A on purpose.
    a_org = world.a.organisation.pk
    queries: dict[str, list[dict[str, Any]]] = {
        "listings-list": [{}, {"mine": "true"}, {"seller": str(a_org)}, {"q": SECRET}],
        "licensing-offers": [{}, {"listing": str(world.listing_groups[2]["listing_id"])}],
        "trading-orders": [
            {},
            {"role": "seller"},
            {"listing": str(world.listing_groups[0]["listing_id"])},
        ],
    }
    for endpoint in api_endpoints():
        if endpoint.params or "get" not in endpoint.methods:
            continue
        for query in queries.get(endpoint.name, [{}]):
            response = client.get(endpoint.url({}), query)
            where = f"GET {endpoint.url({})}?{query} ({endpoint.name})"
            failures += [f"{where}: {leak}" for leak in leaks(response, world, refusal=False)]
            if response.status_code != 200 or endpoint.name in PUBLIC_COLLECTIONS - {
                "listings-list",
                "licensing-offers",
            }:
                continue
            if endpoint.name in ("ledger-wallet", "api-me"):  # about the caller only
                org = response.json()["organisation"]
                org_id = org["id"] if isinstance(org, dict) else org
                if org_id not in (world.b.organisation_id, None):
                    failures.append(f"{where}: another organisation's {endpoint.name}")
                continue
            if endpoint.name not in world.private_ids:
                failures.append(f"{where}: a list this test does not know; name A's ids for it")
                continue
            body = response.json()
            items = body.get("results", []) if isinstance(body, dict) else body
            shown = {item.get("id") for item in items if isinstance(item, dict)}
            overlap = shown & world.private_ids[endpoint.name]
            if overlap:
                failures.append(f"{where}: shows A's {sorted(map(str, overlap))}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_writes_naming_another_tenants_objects_in_the_body_are_refused(world: World) -> None:
    """Endpoints without path parameters take ids in their bodies: A's ids are refused there."""
    ids = world.bodies
    # route -> [(body, statuses allowed)]; a route taking no foreign id says why instead.
    cases: dict[str, list[tuple[dict[str, Any], set[int]]] | str] = {
        "trading-orders": [
            ({"price_plan": ids["private_plan"]}, {404}),
            ({"price_plan": ids["draft_plan"]}, {404}),
            ({"price_plan": ids["public_plan"], "listing_version": 2}, {400}),
        ],
        "licensing-offers": [
            (
                {"price_plan": ids["public_plan"], "template": ids["template"], "accept": True},
                {400, 403, 404},
            ),
        ],
        "licensing-contracts": [
            ({"offer": ids["private_offer"]}, {400, 404}),
            ({"offer": ids["draft_offer"]}, {400, 404}),
            ({"offer": ids["public_offer"], "listing_version": ids["draft_version"]}, {400}),
        ],
        "ledger-operator-deposits": [
            ({"organisation": ids["a_org"], "amount_fen": 100, "reason": "x"}, {403}),
        ],
        "ledger-sandbox-callback": [
            (
                {
                    "event": "deposit.succeeded",
                    "reference": ids["deposit_reference"],
                    "amount_fen": ids["deposit_amount"],
                },
                {400},
            ),
        ],
        "trading-notifications-read": "checked below: marks only the caller's own",
        "listings-list": "creates the caller's own listing; takes no foreign id",
        "trading-webhooks": "creates the caller's own endpoint; takes no foreign id",
        "ledger-deposits": "the caller's own wallet; takes no foreign id",
        "ledger-withdrawals": "the caller's own wallet; takes no foreign id",
        "api-organisations": "registers a new organisation (browser sessions only)",
        "api-keys": "creates a key of the caller's organisation (browser sessions only)",
    }
    before = snapshot(world)
    failures: list[str] = []
    for endpoint in api_endpoints():
        writes = [m for m in endpoint.methods if m in WRITE_METHODS]
        if endpoint.params or not writes:
            continue
        plan = cases.get(endpoint.name)
        if plan is None:
            failures.append(f"{endpoint.route}: a write this test does not know; add its cases")
            continue
        if isinstance(plan, str):
            continue
        for body, allowed in plan:
            response = world.b_client.post(
                endpoint.url({}), body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            )
            where = f"POST {endpoint.url({})} {body}"
            if response.status_code not in allowed:
                failures.append(f"{where}: {response.status_code} {_body(response)[:200]}")
            failures += [f"{where}: {leak}" for leak in leaks(response, world, refusal=True)]

    marked = world.b_client.post(
        "/api/v1/notifications/read/", {"ids": [ids["notification"]]}, format="json"
    )
    assert marked.status_code == 200 and marked.json() == {"marked": 0}
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
    assert snapshot(world) == before, "B's refused requests changed A's data"


def test_anonymous_callers_get_nothing_private(world: World) -> None:
    anonymous = APIClient()
    failures: list[str] = []
    for endpoint in api_endpoints():
        filled, missing = fillings(endpoint, world) if endpoint.params else ([({}, True)], [])
        assert not missing, endpoint.route
        for values, public in filled:
            url = endpoint.url(values)
            for method in endpoint.methods:
                if method != "get" and endpoint.name == "ledger-sandbox-callback":
                    continue  # unauthenticated by design; the body-level test covers it
                response = send(anonymous, method, endpoint, url)
                where = f"{method.upper()} {url} ({endpoint.name})"
                is_public = method == "get" and (
                    (public and endpoint.name in PUBLIC_READS)
                    or (not endpoint.params and endpoint.name in PUBLIC_COLLECTIONS)
                )
                failures += [f"{where}: {leak}" for leak in leaks(response, world, refusal=False)]
                if not is_public and response.status_code not in (401, 403, 404):
                    failures.append(f"{where}: {response.status_code} {_body(response)[:200]}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_a_itself_reads_its_private_objects(world: World) -> None:
    """The same fillings work for their owner: the 404s above are about the tenant, not the ids."""
    _, token = issue_key(world.a)
    owner = APIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Api-Key {token}")
    by_name = {e.name: e for e in api_endpoints()}
    for name in ("trading-order", "trading-dispute", "licensing-contract", "licensing-licence"):
        endpoint = by_name[name]
        filled, _ = fillings(endpoint, world)
        for values, _public in filled:
            assert owner.get(endpoint.url(values)).status_code == 200, endpoint.url(values)
    for name in ("listings-detail", "listings-version", "pipeline-upload", "trading-webhook"):
        endpoint = by_name[name]
        filled, _ = fillings(endpoint, world)
        for values, _public in filled:
            assert owner.get(endpoint.url(values)).status_code == 200, endpoint.url(values)
    assert Organisation.objects.filter(pk=world.bodies["a_org"]).exists()


def test_mine_without_an_organisation_is_empty_not_an_error(world: World) -> None:
    """`mine` for a caller acting for no organisation (anonymous, or a session naming an
    organisation it is not a member of) is an empty page; it once failed with a 500."""
    for client in (APIClient(), b_session_claiming_a(world)):
        response = client.get("/api/v1/listings/", {"mine": "true"})
        assert response.status_code == 200, response.content
        assert response.json()["count"] == 0 and response.json()["results"] == []
