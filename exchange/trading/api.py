"""Orders, delivery, disputes, webhooks and notifications over the API. Thin views over
exchange.trading.services and selectors. Money-moving POSTs (fund, accept, resolve) are
@idempotent (Idempotency-Key required); order creation honours a key when sent, so a retried
POST /orders/ cannot create a second order. An order in the wrong state answers 409."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, permissions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api_common.etags import ETAG_PARAMETERS, NOT_MODIFIED, conditional_get
from exchange.ledger.idempotency import (
    IDEMPOTENCY_KEY_OPTIONAL_PARAMETER,
    IDEMPOTENCY_KEY_PARAMETER,
    idempotent,
    idempotent_when_keyed,
)
from exchange.participants.models import ApiKey, Organisation
from exchange.participants.permissions import HasScope, NotFrozen, acting_organisation
from exchange.trading import selectors, services
from exchange.trading.models import (
    Dispute,
    Notification,
    Order,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class OrderConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "illegal_transition"
    default_detail = "The order is not in a state that allows this."


Handler = TypeVar("Handler", bound=Callable[..., Response])


def conflicts_as_409(handler: Handler) -> Handler:
    """IllegalTransition (a Django ValidationError) answers 409, not 400: the request was fine,
    the order's state is not."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except services.IllegalTransition as exc:
            raise OrderConflict(" ".join(exc.messages)) from None

    return wrapper  # type: ignore[return-value]


class NewestOrderCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class NewestDeliveryCursor(NewestOrderCursor):
    ordering = "-created_at"


def _organisation(request: Request) -> Organisation:
    organisation = acting_organisation(request)
    if organisation is None:
        raise exceptions.PermissionDenied("You act for no organisation.")
    return organisation


def _ip(request: Request) -> str | None:
    # REMOTE_ADDR only: forwarded headers are client-controlled unless a trusted proxy sets them.
    return request.META.get("REMOTE_ADDR") or None


def _order(request: Request, order_id: int) -> Order:
    return selectors.get_order(request.user, acting_organisation(request), order_id)  # type: ignore[arg-type]


def _order_to_change(request: Request, order_id: int) -> Order:
    """The order a write names, after the same visibility check (and 404) as _order(), loaded
    with its id only: every service re-reads it under its row lock, so reading its contract,
    listing and dispute here as well was a wasted join on each trade step."""
    return selectors.get_order(
        request.user,  # type: ignore[arg-type]
        acting_organisation(request),
        order_id,
        id_only=True,
    )


class _ReadOrTrade:
    request: Request

    @property
    def required_scope(self) -> str:
        return "read" if self.request.method in permissions.SAFE_METHODS else "trade"


# --- serializers (unique names: drf-spectacular names schema components after them) -------------


class TradingPartyOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OrderContractOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    content_hash = serializers.CharField(help_text="sign this hash to sign the contract")
    status = serializers.CharField()


class OrderOutput(serializers.ModelSerializer[Order]):
    buyer = TradingPartyOutput()
    seller = TradingPartyOutput()
    listing = serializers.IntegerField(source="listing_id")
    listing_title = serializers.CharField(source="listing.title")
    price_plan = serializers.IntegerField(source="price_plan_id")
    contract = OrderContractOutput()
    licence = serializers.UUIDField(source="licence_id", allow_null=True)
    dispute = serializers.SerializerMethodField()
    # Plain strings: drf-spectacular would otherwise clash with the dispute's "outcome" enum.
    outcome = serializers.CharField(help_text="released, refunded, split or empty")

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "outcome",
            "buyer",
            "seller",
            "listing",
            "listing_title",
            "price_plan",
            "amount_fen",
            "fee_fen",
            "seller_received_fen",
            "buyer_refunded_fen",
            "contract",
            "licence",
            "dispute",
            "acceptance_window_hours",
            "created_at",
            "signed_at",
            "funded_at",
            "delivered_at",
            "accept_by",
            "accepted_at",
            "settled_at",
            "cancelled_at",
            "cancel_reason",
        ]

    def get_dispute(self, order: Order) -> int | None:
        dispute = getattr(order, "dispute", None)
        return dispute.pk if dispute is not None else None


class OrderCreateInput(serializers.Serializer[Any]):
    price_plan = serializers.IntegerField(min_value=1)
    choices = serializers.DictField(
        required=False, default=dict, help_text="licence parameter choices within the offer"
    )
    listing_version = serializers.IntegerField(
        required=False, min_value=1, help_text="version number (default: the latest approved)"
    )


class OrderSignInput(serializers.Serializer[Any]):
    contract_hash = serializers.RegexField(r"^[0-9a-fA-F]{64}$", help_text="the hash you reviewed")


class OrderCancelInput(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class EvidenceItemInput(serializers.Serializer[Any]):
    text = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    url = serializers.URLField(required=False, allow_blank=True, max_length=500)


class DisputeOpenInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=5000)
    evidence = EvidenceItemInput(many=True, required=False)


class DisputeRespondInput(serializers.Serializer[Any]):
    response = serializers.CharField(max_length=5000)
    evidence = EvidenceItemInput(many=True, required=False)


class DisputeResolveInput(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Dispute.Outcome.choices)
    to_seller_fen = serializers.IntegerField(required=False, min_value=0)
    to_buyer_fen = serializers.IntegerField(required=False, min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class EvidenceItemOutput(serializers.Serializer[Any]):
    text = serializers.CharField(required=False)
    url = serializers.CharField(required=False)


class DisputeOutput(serializers.ModelSerializer[Dispute]):
    order = serializers.IntegerField(source="order_id")
    evidence = EvidenceItemOutput(many=True)
    seller_evidence = EvidenceItemOutput(many=True)

    class Meta:
        model = Dispute
        fields = [
            "id",
            "order",
            "status",
            "reason",
            "evidence",
            "opened_at",
            "seller_response",
            "seller_evidence",
            "responded_at",
            "outcome",
            "to_seller_fen",
            "to_buyer_fen",
            "resolution_note",
            "resolved_at",
        ]


class DownloadLinkInput(serializers.Serializer[Any]):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="only this version number (default: all covered)"
    )


class DownloadLinkOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    url = serializers.URLField()
    version = serializers.IntegerField(help_text="version number")
    file = serializers.CharField(help_text="file name")
    format = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    expires_at = serializers.DateTimeField()


class DownloadLinksOutput(serializers.Serializer[Any]):
    order = OrderOutput()
    links = DownloadLinkOutput(many=True)


class WebhookEndpointOutput(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "active", "created_at"]


class WebhookEndpointCreatedOutput(WebhookEndpointOutput):
    # Decrypted for this one response; list and detail use WebhookEndpointOutput, without it.
    secret = serializers.CharField(
        source="signing_secret", help_text="the signing secret: shown this once, store it now"
    )

    class Meta(WebhookEndpointOutput.Meta):
        fields = [*WebhookEndpointOutput.Meta.fields, "secret"]


class WebhookEndpointInput(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)


class WebhookEndpointUpdateInput(serializers.Serializer[Any]):
    url = serializers.URLField(required=False, max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), min_length=1, required=False
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    active = serializers.BooleanField(required=False)
    rotate_secret = serializers.BooleanField(
        required=False, help_text="true: a new secret is generated and returned once"
    )


class WebhookAttemptOutput(serializers.ModelSerializer[WebhookAttempt]):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "attempted_at",
            "status_code",
            "error",
            "duration_ms",
            "next_retry_in_seconds",
        ]


class WebhookDeliveryOutput(serializers.ModelSerializer[WebhookDelivery]):
    attempt_log = WebhookAttemptOutput(many=True)
    event = serializers.CharField(help_text="the event name, e.g. order.funded")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "attempt_log",
        ]


class TradingNotificationOutput(serializers.ModelSerializer[Notification]):
    order = serializers.IntegerField(source="order_id", allow_null=True)
    listing = serializers.IntegerField(source="version.listing_id", allow_null=True, default=None)
    version = serializers.IntegerField(source="version.number", allow_null=True, default=None)

    class Meta:
        model = Notification
        fields = ["id", "kind", "order", "listing", "version", "message", "created_at", "read_at"]


class NotificationReadInput(serializers.Serializer[Any]):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=500)


class NotificationReadOutput(serializers.Serializer[Any]):
    marked = serializers.IntegerField()


def _order_body(order: Order, *, reread: bool = True) -> dict[str, Any]:
    """The order as the API shows it. By default re-read after the service: the response shows
    the committed state and its relations.

    reread=False takes the order a service returned: the one it created, or locked (with the
    relations trading.services._lock loads; the dispute is read here), changed and saved itself.
    Nothing else can change that row before the service's transaction commits, so a re-read
    would return the same values for one more query. That matters most for @idempotent views,
    whose response is built and stored inside the service's transaction, while it still holds
    the audit chain lock that every write waits for."""
    if reread:
        order = Order.objects.select_related(
            "contract", "listing", "buyer", "seller", "dispute"
        ).get(pk=order.pk)
    return dict(_ORDER_OUTPUT.to_representation(order))


# Built once and reused: a ModelSerializer derives its ~25 fields from the model each time one
# is instantiated, which cost more than turning the order into JSON (five times per trade, twice
# inside the audit chain's critical section). to_representation() keeps no per-call state, and
# these order bodies take no context; the output is the same as OrderOutput(order).data.
_ORDER_OUTPUT = OrderOutput()


# --- orders ---------------------------------------------------------------------------------------

ORDER_FILTERS = [
    OpenApiParameter("role", OpenApiTypes.STR, enum=["buyer", "seller"], required=False),
    OpenApiParameter("status", OpenApiTypes.STR, enum=Order.Status.values, required=False),
    OpenApiParameter("listing", OpenApiTypes.INT, required=False),
]


class OrderListCreateView(_ReadOrTrade, generics.ListAPIView[Order]):  # type: ignore[misc]
    permission_classes = [HasScope, NotFrozen]
    serializer_class = OrderOutput
    pagination_class = NewestOrderCursor

    def get_queryset(self) -> QuerySet[Order]:
        params = self.request.query_params
        filters = {k: params.get(k) for k in ("role", "status", "listing") if params.get(k)}
        if "listing" in filters and not str(filters["listing"]).isdigit():
            raise exceptions.ValidationError({"listing": "an id"})
        return selectors.orders_visible_to(
            self.request.user,  # type: ignore[arg-type]
            acting_organisation(self.request),
            filters=filters,
        ).select_related("buyer", "seller")

    @extend_schema(
        parameters=ORDER_FILTERS,
        summary="Orders you bought or sold (regulators and operators: all), newest first",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=OrderCreateInput,
        responses={201: OrderOutput},
        parameters=[IDEMPOTENCY_KEY_OPTIONAL_PARAMETER],
        summary="Order a price plan: creates the order and its contract (awaiting your signature)",
    )
    @idempotent_when_keyed
    def post(self, request: Request) -> Response:
        data = OrderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = _organisation(request)
        plan = selectors.orderable_plan(
            request.user,  # type: ignore[arg-type]
            organisation,
            data.validated_data["price_plan"],
        )
        version = None
        number = data.validated_data.get("listing_version")
        if number is not None:
            version = plan.listing.versions.filter(number=number).first()
            if version is None:
                raise exceptions.ValidationError({"listing_version": "no such version"})
        order = services.create_order(
            actor=request.user,  # type: ignore[arg-type]
            buyer=organisation,
            price_plan=plan,
            choices=data.validated_data["choices"],
            listing_version=version,
        )
        # The order as create_order inserted and committed it, with its relations: a re-read
        # would show the same.
        return Response(_order_body(order, reread=False), status=status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={200: OrderOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        summary="One order",
    )
    @conditional_get
    def get(self, request: Request, order_id: int) -> Response:
        return Response(_order_body(_order(request, order_id)))


class OrderSignView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=OrderSignInput,
        responses=OrderOutput,
        summary="Sign the order's contract (send the content hash you reviewed)",
    )
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = _order_to_change(request, order_id)
        data = OrderSignInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.sign_order(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=order,
            signed_hash=data.validated_data["contract_hash"].lower(),
            ip=_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        # The order as sign_order locked, changed and committed it, with its relations (the
        # contract as signed): a re-read would show the same.
        return Response(_order_body(order, reread=False))


class OrderFundView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=None,
        responses=OrderOutput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Fund the order: the price moves to escrow and the licence is issued",
    )
    @idempotent
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = services.fund_order(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=_order_to_change(request, order_id),
        )
        return Response(_order_body(order, reread=False))


class OrderDownloadLinksView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=DownloadLinkInput,
        responses=DownloadLinksOutput,
        summary="Presigned download links (valid minutes) for the files your licence covers",
    )
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = _order_to_change(request, order_id)
        data = DownloadLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.issue_download_links(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=order,
            api_key=request.auth if isinstance(request.auth, ApiKey) else None,
            version_number=data.validated_data.get("version"),
        )
        links = [
            {
                "id": item.link.pk,
                "url": item.url,
                "version": item.version.number,
                "file": item.file.name,
                "format": item.file.format,
                "size": item.file.size,
                "sha256": item.file.sha256,
                "expires_at": item.link.expires_at,
            }
            for item in result.links
        ]
        # The order these links delivered is the one the service locked and changed (a re-read
        # would show the same); an order delivered before is read again, as it is now.
        order_body = _order_body(result.order, reread=not result.delivered)
        body = {"order": order_body, "links": DownloadLinkOutput(links, many=True).data}
        return Response(body)


class OrderDeliverView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=None,
        responses=OrderOutput,
        summary="Seller: declare the order delivered (starts the acceptance window)",
    )
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = services.deliver_order(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=_order_to_change(request, order_id),
        )
        return Response(_order_body(order))


class OrderAcceptView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=None,
        responses=OrderOutput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Accept the delivery: escrow is paid to the seller minus the platform fee",
    )
    @idempotent
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = services.accept_order(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=_order_to_change(request, order_id),
        )
        return Response(_order_body(order, reread=False))


class OrderCancelView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=OrderCancelInput, responses=OrderOutput, summary="Cancel an order not yet funded"
    )
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = _order_to_change(request, order_id)
        data = OrderCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.cancel_order(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=order,
            reason=data.validated_data.get("reason", ""),
        )
        return Response(_order_body(order))


class OrderDisputeView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=DisputeOpenInput,
        responses={201: DisputeOutput},
        summary="Buyer: dispute the order within its acceptance window (escrow stays held)",
    )
    @conflicts_as_409
    def post(self, request: Request, order_id: int) -> Response:
        order = _order_to_change(request, order_id)
        data = DisputeOpenInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.open_dispute(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            order=order,
            reason=data.validated_data["reason"],
            evidence=data.validated_data.get("evidence", []),
        )
        return Response(DisputeOutput(dispute).data, status=status.HTTP_201_CREATED)


# --- disputes -------------------------------------------------------------------------------------


class DisputeListView(generics.ListAPIView[Dispute]):
    permission_classes = [HasScope]
    required_scope = "read"
    serializer_class = DisputeOutput
    pagination_class = NewestOrderCursor

    def get_queryset(self) -> QuerySet[Dispute]:
        return selectors.disputes_visible_to(
            self.request.user,  # type: ignore[arg-type]
            acting_organisation(self.request),
        )

    @extend_schema(summary="Disputes on your orders (regulators and operators: all)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _dispute(request: Request, dispute_id: int) -> Dispute:
    return selectors.get_dispute(request.user, acting_organisation(request), dispute_id)  # type: ignore[arg-type]


class DisputeDetailView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={200: DisputeOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        summary="One dispute",
    )
    @conditional_get
    def get(self, request: Request, dispute_id: int) -> Response:
        return Response(DisputeOutput(_dispute(request, dispute_id)).data)


class DisputeRespondView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    @extend_schema(
        request=DisputeRespondInput, responses=DisputeOutput, summary="Seller: answer a dispute"
    )
    @conflicts_as_409
    def post(self, request: Request, dispute_id: int) -> Response:
        dispute = _dispute(request, dispute_id)
        data = DisputeRespondInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.respond_to_dispute(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            dispute=dispute,
            response=data.validated_data["response"],
            evidence=data.validated_data.get("evidence", []),
        )
        return Response(DisputeOutput(dispute).data)


class DisputeResolveView(APIView):
    permission_classes = [HasScope]
    required_scope = "trade"

    @extend_schema(
        request=DisputeResolveInput,
        responses=DisputeOutput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Regulator/operator: resolve with a refund, a release or a split",
    )
    @idempotent
    @conflicts_as_409
    def post(self, request: Request, dispute_id: int) -> Response:
        dispute = _dispute(request, dispute_id)
        data = DisputeResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = services.resolve_dispute(
            actor=request.user,  # type: ignore[arg-type]
            dispute=dispute,
            **data.validated_data,
        )
        return Response(DisputeOutput(dispute).data)


# --- webhooks ------------------------------------------------------------------------------------


class WebhookEndpointListCreateView(_ReadOrTrade, generics.ListAPIView[WebhookEndpoint]):  # type: ignore[misc]
    permission_classes = [HasScope, NotFrozen]
    serializer_class = WebhookEndpointOutput
    pagination_class = NewestOrderCursor

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return selectors.endpoints_of(acting_organisation(self.request))

    @extend_schema(summary="Your organisation's webhook endpoints")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=WebhookEndpointInput,
        responses={201: WebhookEndpointCreatedOutput},
        summary="Register an endpoint; the response carries its signing secret, once",
    )
    def post(self, request: Request) -> Response:
        data = WebhookEndpointInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.create_webhook_endpoint(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            **data.validated_data,
        )
        return Response(WebhookEndpointCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(_ReadOrTrade, APIView):  # type: ignore[misc]
    permission_classes = [HasScope, NotFrozen]

    @extend_schema(responses=WebhookEndpointOutput, summary="One webhook endpoint")
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = selectors.get_endpoint(acting_organisation(request), endpoint_id)
        return Response(WebhookEndpointOutput(endpoint).data)

    @extend_schema(
        request=WebhookEndpointUpdateInput,
        responses=WebhookEndpointCreatedOutput,
        summary="Change an endpoint (rotate_secret: returns the new secret once)",
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = selectors.get_endpoint(acting_organisation(request), endpoint_id)
        data = WebhookEndpointUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.update_webhook_endpoint(
            actor=request.user,  # type: ignore[arg-type]
            endpoint=endpoint,
            **data.validated_data,
        )
        body = dict(WebhookEndpointOutput(endpoint).data)
        if data.validated_data.get("rotate_secret"):
            body["secret"] = endpoint.signing_secret()
        return Response(body)

    @extend_schema(request=None, responses={204: None}, summary="Remove an endpoint")
    def delete(self, request: Request, endpoint_id: int) -> Response:
        endpoint = selectors.get_endpoint(acting_organisation(request), endpoint_id)
        services.delete_webhook_endpoint(actor=request.user, endpoint=endpoint)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(generics.ListAPIView[WebhookDelivery]):
    permission_classes = [HasScope]
    required_scope = "read"
    serializer_class = WebhookDeliveryOutput
    pagination_class = NewestDeliveryCursor

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        endpoint = selectors.get_endpoint(
            acting_organisation(self.request), self.kwargs["endpoint_id"]
        )
        return selectors.deliveries_of(endpoint)

    @extend_schema(summary="The delivery log of an endpoint, newest first, with every attempt")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- notifications -------------------------------------------------------------------------------


class NotificationListView(generics.ListAPIView[Notification]):
    permission_classes = [HasScope]
    required_scope = "read"
    serializer_class = TradingNotificationOutput
    pagination_class = NewestOrderCursor

    def get_queryset(self) -> QuerySet[Notification]:
        qs = selectors.notifications_of(acting_organisation(self.request))
        if self.request.query_params.get("unread") in ("1", "true"):
            qs = qs.filter(read_at__isnull=True)
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, required=False)],
        summary="Your organisation's notifications (e.g. new versions under a subscription)",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationReadView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        request=NotificationReadInput,
        responses=NotificationReadOutput,
        summary="Mark notifications as read",
    )
    def post(self, request: Request) -> Response:
        data = NotificationReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.mark_notifications_read(
            organisation=_organisation(request), ids=data.validated_data["ids"]
        )
        return Response({"marked": marked})
