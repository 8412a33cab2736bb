"""The catalogue over the API. Thin views: parse, ask a selector (filtered by who asks), call a
service, serialise. Anonymous callers may read the public catalogue."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api_common.etags import ETAG_PARAMETERS, NOT_MODIFIED, conditional_get
from exchange.api_common.pagination import OldestSubmittedFirst
from exchange.participants.models import User
from exchange.participants.permissions import HasScope, NotFrozen, acting_organisation
from listings import selectors, services
from listings.dcat import json_dumps
from listings.models import (
    Category,
    LicenceFamily,
    Listing,
    ListingVersion,
    PricePlan,
    UpdateFrequency,
    VersionFile,
    Visibility,
)
from listings.selectors import Viewer


def viewer_of(request: Request) -> Viewer:
    return Viewer.for_user(request.user, acting_organisation(request))


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # the permission classes admit authenticated users only
    return user


# The catalogue is readable anonymously: document "no auth" beside the two schemes.
PUBLIC_READ_AUTH: Any = [{"ApiKey": []}, {"cookieAuth": []}, {}]


class CatalogueRead(HasScope):
    """Anyone may read (the selectors decide what they see); writes need the view's scope."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return super().has_permission(request, view)


# --- serializers -------------------------------------------------------------------------------


class PricePlanOutput(serializers.ModelSerializer[PricePlan]):
    class Meta:
        model = PricePlan
        fields = [
            "id",
            "name",
            "kind",
            "price_fen",
            "term_months",
            "acceptance_window_hours",
            "active",
            "created_at",
        ]


class SellerOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ListingSummaryOutput(serializers.ModelSerializer[Listing]):
    seller = SellerOutput()
    formats = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = [
            "id",
            "title",
            "summary",
            "category",
            "keywords",
            "languages",
            "licence_family",
            "update_frequency",
            "visibility",
            "status",
            "seller",
            "min_price_fen",
            "formats",
            "first_listed_at",
            "updated_at",
        ]

    def get_formats(self, obj: Listing) -> list[str]:
        return [f for f in obj.formats.split(",") if f]


def listing_summary_data(listing: Listing) -> dict[str, Any]:
    """ListingSummaryOutput's representation, built directly: search pages serialise many rows and
    DRF's generic field machinery cost more than the query (tests keep the two identical)."""
    return {
        "id": listing.pk,
        "title": listing.title,
        "summary": listing.summary,
        "category": listing.category,
        "keywords": listing.keywords,
        "languages": listing.languages,
        "licence_family": listing.licence_family,
        "update_frequency": listing.update_frequency,
        "visibility": listing.visibility,
        "status": listing.status,
        "seller": {"id": listing.seller.pk, "name": listing.seller.name},
        "min_price_fen": listing.min_price_fen,
        "formats": [f for f in listing.formats.split(",") if f],
        "first_listed_at": _iso(listing.first_listed_at),
        "updated_at": _iso(listing.updated_at),
    }


def _iso(value: Any) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


class DocumentationLink(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=500)


class ListingDetailOutput(ListingSummaryOutput):
    price_plans = serializers.SerializerMethodField()
    latest_version = serializers.SerializerMethodField()
    allowed_buyers = serializers.SerializerMethodField()
    documentation_links = DocumentationLink(many=True)

    class Meta(ListingSummaryOutput.Meta):
        fields = [
            *ListingSummaryOutput.Meta.fields,
            "description",
            "description_html",
            "spatial_coverage",
            "temporal_start",
            "temporal_end",
            "contact_name",
            "contact_email",
            "documentation_links",
            "status_reason",
            "price_plans",
            "latest_version",
            "allowed_buyers",
            "created_at",
        ]

    @extend_schema_field(PricePlanOutput(many=True))
    def get_price_plans(self, obj: Listing) -> list[dict[str, Any]]:
        plans = obj.price_plans.filter(active=True)
        return list(PricePlanOutput(plans, many=True).data)

    def get_latest_version(self, obj: Listing) -> int | None:
        return obj.latest_version.number if obj.latest_version else None

    def get_allowed_buyers(self, obj: Listing) -> list[int] | None:
        # Named buyers must not learn about each other: only the seller and staff see the list.
        viewer: Viewer | None = self.context.get("viewer")
        if viewer and (viewer.is_staff or viewer.organisation_id == obj.seller_id):
            return list(obj.allowed_buyers.values_list("pk", flat=True))
        return None


class ListingWriteFields(serializers.Serializer[Any]):
    """Fields a seller sets; shared by create (all that are required) and update (partial)."""

    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    description = serializers.CharField(
        max_length=100_000, required=False, allow_blank=True, help_text="Markdown; sanitised."
    )
    languages = serializers.ListField(
        child=serializers.RegexField(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", max_length=35),
        required=False,
        max_length=10,
    )
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=30
    )
    spatial_coverage = serializers.CharField(max_length=200, required=False, allow_blank=True)
    temporal_start = serializers.DateField(required=False, allow_null=True)
    temporal_end = serializers.DateField(required=False, allow_null=True)
    update_frequency = serializers.ChoiceField(choices=UpdateFrequency.choices, required=False)
    contact_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    documentation_links = DocumentationLink(many=True, required=False)
    licence_family = serializers.ChoiceField(choices=LicenceFamily.choices, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    allowed_buyers = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=200
    )


def _listing_fields(validated: dict[str, Any]) -> dict[str, Any]:
    data = dict(validated)
    if "documentation_links" in data:
        data["documentation_links"] = [dict(link) for link in data["documentation_links"]]
    return data


def _csv_param(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.query_params.getlist(name):
        values.extend(v.strip() for v in raw.split(",") if v.strip())
    return values[:50]


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class FacetValueField(serializers.Field[Any, Any, Any, Any]):
    """A facet's value: a code (category, format...) or, for sellers, the organisation's id."""

    def to_representation(self, value: Any) -> Any:
        return value


class FacetEntry(serializers.Serializer[Any]):
    value = FacetValueField()
    name = serializers.CharField(required=False, help_text="Display name (sellers).")
    count = serializers.IntegerField()


class ListingFacetsOutput(serializers.Serializer[Any]):
    category = FacetEntry(many=True)
    licence_family = FacetEntry(many=True)
    update_frequency = FacetEntry(many=True)
    price = FacetEntry(many=True)
    file_format = FacetEntry(many=True)
    seller = FacetEntry(many=True)


class ListingSearchOutput(serializers.Serializer[Any]):
    count = serializers.IntegerField(
        help_text="Number of matches; an estimate when `approximate` is true."
    )
    approximate = serializers.BooleanField(
        help_text=(
            "True when the query matches too many listings to count: `count` and every facet "
            "count are then estimates from a sample of the catalogue, rounded to two significant "
            "digits, and by relevance only the best candidates (title and keyword hits first) "
            "are ranked. The results of each page are still exact and pages never overlap."
        )
    )
    has_next = serializers.BooleanField(help_text="Whether another page follows (always exact).")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = ListingSummaryOutput(many=True)
    facets = ListingFacetsOutput()


_LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Full text (Chinese and English)."),
    OpenApiParameter("category", str, many=True, explode=False, enum=Category.values),
    OpenApiParameter("licence_family", str, many=True, explode=False, enum=LicenceFamily.values),
    OpenApiParameter(
        "update_frequency", str, many=True, explode=False, enum=UpdateFrequency.values
    ),
    OpenApiParameter("seller", int, many=True, explode=False),
    # Not "format": DRF reserves that query parameter for choosing a renderer.
    OpenApiParameter("file_format", str, many=True, explode=False, enum=selectors.FORMATS),
    OpenApiParameter(
        "price", str, many=True, explode=False, enum=[b[0] for b in selectors.PRICE_BUCKETS]
    ),
    OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
    OpenApiParameter("mine", bool, description="Only your organisation's listings, any status."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int),
]
MAX_PAGE_SIZE = 100


class ListingCollectionView(APIView):
    permission_classes = [CatalogueRead, NotFrozen]
    required_scope = "publish"

    class ListingCreateInput(ListingWriteFields):
        pass

    class ListingQueryInput(serializers.Serializer[Any]):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200)
        sort = serializers.ChoiceField(choices=selectors.SORTS, required=False)
        page = serializers.IntegerField(required=False, min_value=1, max_value=1000)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)
        mine = serializers.BooleanField(required=False)

    @extend_schema(
        operation_id="listings_search",
        parameters=_LIST_PARAMETERS,
        responses=ListingSearchOutput,
        auth=PUBLIC_READ_AUTH,
        summary="Search the catalogue (facets, sort, pages)",
    )
    def get(self, request: Request) -> Response:
        query = self.ListingQueryInput(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        try:
            sellers = [int(v) for v in _csv_param(request, "seller")]
        except ValueError:
            raise serializers.ValidationError({"seller": "Seller ids are integers."}) from None
        filters = selectors.SearchFilters(
            query=params.get("q", ""),
            category=_csv_param(request, "category"),
            licence_family=_csv_param(request, "licence_family"),
            update_frequency=_csv_param(request, "update_frequency"),
            seller=sellers,
            format=[f.lower() for f in _csv_param(request, "file_format")],
            price=_csv_param(request, "price"),
            sort=params.get("sort", "relevance"),
        )
        page, size = params.get("page", 1), params.get("page_size", 20)
        viewer = viewer_of(request)
        result = selectors.search_catalogue(
            viewer, filters, offset=(page - 1) * size, limit=size, mine=params.get("mine", False)
        )
        body = {
            "count": result.total,
            "approximate": result.approximate,
            "has_next": result.has_next,
            "page": page,
            "page_size": size,
            "results": [listing_summary_data(listing) for listing in result.items],
            "facets": result.facets,
        }
        return Response(body)

    @extend_schema(
        operation_id="listings_create",
        request=ListingCreateInput,
        responses={201: ListingDetailOutput},
        summary="Create a listing (draft)",
    )
    def post(self, request: Request) -> Response:
        data = self.ListingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = viewer_of(request)
        listing = services.create_listing(
            actor=_user(request),
            organisation=viewer.organisation,
            **_listing_fields(data.validated_data),
        )
        output = ListingDetailOutput(listing, context={"viewer": viewer})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ListingDetailView(APIView):
    permission_classes = [CatalogueRead, NotFrozen]
    required_scope = "publish"

    class ListingUpdateInput(ListingWriteFields):
        pass

    @extend_schema(
        operation_id="listings_detail",
        responses={200: ListingDetailOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        auth=PUBLIC_READ_AUTH,
        summary="One listing",
    )
    @conditional_get
    def get(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        return Response(ListingDetailOutput(listing, context={"viewer": viewer}).data)

    @extend_schema(
        operation_id="listings_update",
        request=ListingUpdateInput,
        responses=ListingDetailOutput,
        summary="Change a listing",
    )
    def patch(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        data = self.ListingUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        listing = services.update_listing(
            actor=_user(request),
            organisation=viewer.organisation,
            listing=listing,
            **_listing_fields(data.validated_data),
        )
        return Response(ListingDetailOutput(listing, context={"viewer": viewer}).data)


class ReasonInput(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ListingRetireView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    @extend_schema(
        operation_id="listings_retire",
        request=ReasonInput,
        responses=ListingDetailOutput,
        summary="Retire (seller; final)",
    )
    def post(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        listing = services.retire_listing(
            actor=_user(request),
            organisation=viewer.organisation,
            listing=listing,
            reason=data.validated_data.get("reason", ""),
        )
        return Response(ListingDetailOutput(listing, context={"viewer": viewer}).data)


class ListingSuspendView(APIView):
    permission_classes = [HasScope]
    required_scope = "publish"

    @extend_schema(
        operation_id="listings_suspend",
        request=ReasonInput,
        responses=ListingDetailOutput,
        summary="Suspend (regulator)",
    )
    def post(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        listing = services.suspend_listing(
            actor=_user(request), listing=listing, reason=data.validated_data.get("reason", "")
        )
        return Response(ListingDetailOutput(listing, context={"viewer": viewer}).data)


class ListingReinstateView(APIView):
    permission_classes = [HasScope]
    required_scope = "publish"

    @extend_schema(
        operation_id="listings_reinstate",
        request=ReasonInput,
        responses=ListingDetailOutput,
        summary="Lift a suspension (regulator)",
    )
    def post(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        listing = services.reinstate_listing(
            actor=_user(request), listing=listing, reason=data.validated_data.get("reason", "")
        )
        return Response(ListingDetailOutput(listing, context={"viewer": viewer}).data)


# --- price plans -------------------------------------------------------------------------------


class PricePlanCollectionView(APIView):
    permission_classes = [CatalogueRead, NotFrozen]
    required_scope = "publish"

    class PricePlanCreateInput(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=100, required=False, allow_blank=True)
        kind = serializers.ChoiceField(choices=PricePlan.Kind.choices)
        price_fen = serializers.IntegerField(min_value=0, max_value=10**13, default=0)
        term_months = serializers.IntegerField(
            min_value=1, max_value=120, required=False, allow_null=True
        )
        acceptance_window_hours = serializers.IntegerField(
            min_value=1, max_value=24 * 90, default=72
        )

    @extend_schema(
        operation_id="listings_price_plans_list",
        responses=PricePlanOutput(many=True),
        auth=PUBLIC_READ_AUTH,
        summary="A listing's price plans",
    )
    def get(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        plans = listing.price_plans.all()
        if not (viewer.is_staff or viewer.organisation_id == listing.seller_id):
            plans = plans.filter(active=True)
        return Response(PricePlanOutput(plans, many=True).data)

    @extend_schema(
        operation_id="listings_price_plans_create",
        request=PricePlanCreateInput,
        responses={201: PricePlanOutput},
        summary="Add a price plan",
    )
    def post(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        data = self.PricePlanCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.create_price_plan(
            actor=_user(request),
            organisation=viewer.organisation,
            listing=listing,
            **data.validated_data,
        )
        return Response(PricePlanOutput(plan).data, status=status.HTTP_201_CREATED)


class PricePlanDeactivateView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    @extend_schema(
        operation_id="listings_price_plans_deactivate",
        request=None,
        responses=PricePlanOutput,
        summary="Stop offering a plan",
    )
    def post(self, request: Request, listing_id: int, plan_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        plan = get_object_or_404(listing.price_plans.all(), pk=plan_id)
        plan = services.deactivate_price_plan(
            actor=_user(request), organisation=viewer.organisation, plan=plan
        )
        return Response(PricePlanOutput(plan).data)


# --- versions ----------------------------------------------------------------------------------


class VersionFileOutput(serializers.ModelSerializer[VersionFile]):
    # Never the storage key: files are fetched through licensed, short-lived links only.
    class Meta:
        model = VersionFile
        fields = ["name", "format", "media_type", "size", "sha256", "row_count"]


class VersionOutput(serializers.ModelSerializer[ListingVersion]):
    files = VersionFileOutput(many=True)
    listing = serializers.IntegerField(source="listing_id")

    class Meta:
        model = ListingVersion
        fields = [
            "id",
            "listing",
            "number",
            "status",
            "release_notes",
            "created_at",
            "submitted_at",
            "reviewed_at",
            "review_reason",
            "approved_at",
            "pipeline_status",
            "pipeline_error",
            "published_at",
            "engine_version",
            "row_count",
            "table_schema",
            "sample_rows",
            "cleaning_report",
            "schema_diff",
            "files",
        ]


class VersionCollectionView(APIView):
    permission_classes = [CatalogueRead, NotFrozen]
    required_scope = "publish"

    class VersionCreateInput(serializers.Serializer[Any]):
        release_notes = serializers.CharField(max_length=20_000, required=False, allow_blank=True)

    @extend_schema(
        operation_id="listings_versions_list",
        responses=VersionOutput(many=True),
        auth=PUBLIC_READ_AUTH,
        summary="A listing's versions",
    )
    def get(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        versions = selectors.versions_visible_to(viewer, listing).prefetch_related("files")
        return Response(VersionOutput(versions, many=True).data)

    @extend_schema(
        operation_id="listings_versions_create",
        request=VersionCreateInput,
        responses={201: VersionOutput},
        summary="Start a new version (draft)",
    )
    def post(self, request: Request, listing_id: int) -> Response:
        viewer = viewer_of(request)
        listing = selectors.get_listing(viewer, listing_id)
        data = self.VersionCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.create_version(
            actor=_user(request),
            organisation=viewer.organisation,
            listing=listing,
            release_notes=data.validated_data.get("release_notes", ""),
        )
        return Response(VersionOutput(version).data, status=status.HTTP_201_CREATED)


class VersionDetailView(APIView):
    permission_classes = [CatalogueRead]
    required_scope = "read"

    @extend_schema(
        operation_id="listings_versions_detail",
        responses={200: VersionOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        auth=PUBLIC_READ_AUTH,
        summary="One version",
    )
    @conditional_get
    def get(self, request: Request, listing_id: int, number: int) -> Response:
        version = selectors.get_version(viewer_of(request), listing_id, number)
        return Response(VersionOutput(version).data)


class VersionSchemaView(APIView):
    permission_classes = [CatalogueRead]
    required_scope = "read"

    @extend_schema(
        operation_id="listings_versions_table_schema",
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        auth=PUBLIC_READ_AUTH,
        summary="The version's Frictionless Table Schema (download)",
    )
    def get(self, request: Request, listing_id: int, number: int) -> HttpResponse:
        version = selectors.get_version(viewer_of(request), listing_id, number)
        if not version.table_schema:
            raise Http404("This version has no schema yet.")
        response = HttpResponse(
            json_dumps(version.table_schema), content_type="application/json; charset=utf-8"
        )
        name = f"listing-{listing_id}-v{number}.schema.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class VersionSubmitView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    @extend_schema(
        operation_id="listings_versions_submit",
        request=None,
        responses=VersionOutput,
        summary="Submit for review",
    )
    def post(self, request: Request, listing_id: int, number: int) -> Response:
        viewer = viewer_of(request)
        version = selectors.get_version(viewer, listing_id, number)
        version = services.submit_version(
            actor=_user(request), organisation=viewer.organisation, version=version
        )
        return Response(VersionOutput(version).data)


# --- review ------------------------------------------------------------------------------------


class ReviewItemOutput(serializers.ModelSerializer[ListingVersion]):
    listing = ListingSummaryOutput()

    class Meta:
        model = ListingVersion
        fields = ["id", "number", "status", "submitted_at", "pipeline_status", "listing"]


def _require_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise PermissionDenied("The review queue is for regulators and platform operators.")


class ReviewQueueView(generics.ListAPIView[ListingVersion]):
    permission_classes = [HasScope]
    required_scope = "read"
    serializer_class = ReviewItemOutput
    pagination_class = OldestSubmittedFirst

    def get_queryset(self) -> QuerySet[ListingVersion]:
        _require_staff(viewer_of(self.request))
        return selectors.review_queue()

    @extend_schema(operation_id="reviews_list", summary="Versions waiting for review, oldest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ReviewApproveView(APIView):
    permission_classes = [HasScope]
    required_scope = "publish"

    @extend_schema(
        operation_id="reviews_approve",
        request=ReasonInput,
        responses=VersionOutput,
        summary="Approve a version",
    )
    def post(self, request: Request, version_id: int) -> Response:
        _require_staff(viewer_of(request))
        version = get_object_or_404(ListingVersion, pk=version_id)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.approve_version(
            actor=_user(request), version=version, reason=data.validated_data.get("reason", "")
        )
        return Response(VersionOutput(version).data)


class ReviewRejectView(APIView):
    permission_classes = [HasScope]
    required_scope = "publish"

    class RejectInput(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="reviews_reject",
        request=RejectInput,
        responses=VersionOutput,
        summary="Reject, with a reason",
    )
    def post(self, request: Request, version_id: int) -> Response:
        _require_staff(viewer_of(request))
        version = get_object_or_404(ListingVersion, pk=version_id)
        data = self.RejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.reject_version(
            actor=_user(request), version=version, reason=data.validated_data["reason"]
        )
        return Response(VersionOutput(version).data)
