"""Uploads over the API: start (presigned), resume, complete, small direct upload, status."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api_common.etags import ETAG_PARAMETERS, NOT_MODIFIED, conditional_get
from exchange.participants.models import Organisation, User
from exchange.participants.permissions import HasScope, NotFrozen, acting_organisation
from exchange.participants.selectors import is_platform_staff
from listings.models import ListingVersion
from listings.pipeline import services
from listings.pipeline.models import Upload


def _organisation(request: Request) -> Organisation:
    organisation = acting_organisation(request)
    if organisation is None:
        raise PermissionDenied("You act for no organisation.")
    return organisation


def _own_version(request: Request, listing_id: int, number: int) -> ListingVersion:
    # Another seller's version is simply not found: no hint that it exists.
    return get_object_or_404(
        ListingVersion.objects.select_related("listing"),
        listing_id=listing_id,
        number=number,
        listing__seller=_organisation(request),
    )


def uploads_visible_to(request: Request) -> QuerySet[Upload]:
    user = request.user
    if isinstance(user, User) and is_platform_staff(user) and request.auth is None:
        return Upload.objects.all()
    organisation = acting_organisation(request)
    return Upload.objects.filter(Q(organisation=organisation))


class UploadStatusOutput(serializers.ModelSerializer[Upload]):
    listing_id = serializers.IntegerField(source="version.listing_id")
    version_number = serializers.IntegerField(source="version.number")

    class Meta:
        model = Upload
        fields = [
            "id",
            "listing_id",
            "version_number",
            "display_name",
            "format",
            "archive",
            "declared_size",
            "size",
            "status",
            "stage",
            "progress",
            "chunks_total",
            "error_code",
            "error_reason",
            "report",
            "created_at",
            "updated_at",
            "finished_at",
        ]


class UploadPartOutput(serializers.Serializer[Any]):
    part_number = serializers.IntegerField()
    url = serializers.URLField()


class UploadInstructionsOutput(serializers.Serializer[Any]):
    method = serializers.ChoiceField(choices=["PUT", "MULTIPART"])
    url = serializers.CharField(allow_null=True)
    part_size = serializers.IntegerField(allow_null=True)
    parts = UploadPartOutput(many=True)
    expires_in = serializers.IntegerField()


class UploadStartView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    class UploadStartInput(serializers.Serializer[Any]):
        filename = serializers.CharField(max_length=255)
        size = serializers.IntegerField(min_value=1)
        content_type = serializers.CharField(max_length=100, required=False)
        policy = serializers.JSONField(required=False)

    class UploadStartOutput(serializers.Serializer[Any]):
        upload = UploadStatusOutput()
        instructions = UploadInstructionsOutput()

    @extend_schema(
        request=UploadStartInput,
        responses={201: UploadStartOutput},
        summary="Start an upload into quarantine: presigned PUT, or presigned parts above 64 MB",
    )
    def post(self, request: Request, listing_id: int, number: int) -> Response:
        data = self.UploadStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = _own_version(request, listing_id, number)
        upload, instructions = services.start_upload(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            version=version,
            filename=data.validated_data["filename"],
            size=data.validated_data["size"],
            content_type=data.validated_data.get("content_type"),
            policy=data.validated_data.get("policy"),
        )
        body = {"upload": UploadStatusOutput(upload).data, "instructions": instructions.__dict__}
        return Response(body, status=status.HTTP_201_CREATED)


class UploadDirectView(APIView):
    """A small file sent through the web tier (multipart/form-data field `file`)."""

    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"
    parser_classes = [MultiPartParser]

    class UploadDirectInput(serializers.Serializer[Any]):
        file = serializers.FileField()
        policy = serializers.JSONField(required=False)

    @extend_schema(
        request={"multipart/form-data": UploadDirectInput},
        responses={201: UploadStatusOutput},
        summary="Upload a small file directly (streamed into quarantine)",
    )
    def post(self, request: Request, listing_id: int, number: int) -> Response:
        data = self.UploadDirectInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = _own_version(request, listing_id, number)
        uploaded = data.validated_data["file"]
        upload = services.receive_small_upload(
            actor=request.user,  # type: ignore[arg-type]
            organisation=_organisation(request),
            version=version,
            filename=uploaded.name or "upload",
            fileobj=uploaded,
            size=uploaded.size or 0,
            policy=data.validated_data.get("policy"),
        )
        return Response(UploadStatusOutput(upload).data, status=status.HTTP_201_CREATED)


class UploadDetailView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={200: UploadStatusOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        summary="An upload's pipeline status and report",
    )
    @conditional_get
    def get(self, request: Request, upload_id: str) -> Response:
        upload = get_object_or_404(
            uploads_visible_to(request).select_related("version"), pk=upload_id
        )
        return Response(UploadStatusOutput(upload).data)


class UploadCompleteView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    class UploadPartInput(serializers.Serializer[Any]):
        part_number = serializers.IntegerField(min_value=1, max_value=10_000)
        etag = serializers.CharField(max_length=200)

    class UploadCompleteInput(serializers.Serializer[Any]):
        parts = serializers.ListField(required=False, child=serializers.DictField())

    @extend_schema(
        request=UploadCompleteInput,
        responses=UploadStatusOutput,
        summary="Say the bytes are uploaded; the pipeline starts",
    )
    def post(self, request: Request, upload_id: str) -> Response:
        upload = get_object_or_404(
            Upload.objects.select_related("version"),
            pk=upload_id,
            organisation=_organisation(request),
        )
        raw_parts = request.data.get("parts") if isinstance(request.data, dict) else None
        parts = None
        if raw_parts:
            checked = self.UploadPartInput(data=raw_parts, many=True)
            checked.is_valid(raise_exception=True)
            parts = [(p["part_number"], p["etag"]) for p in checked.validated_data]
        upload = services.complete_upload(actor=request.user, upload=upload, parts=parts)  # type: ignore[arg-type]
        return Response(UploadStatusOutput(upload).data)


class UploadResumeView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    class UploadResumeOutput(serializers.Serializer[Any]):
        received = serializers.ListField(child=serializers.DictField())
        part_size = serializers.IntegerField()
        missing = UploadPartOutput(many=True)

    @extend_schema(
        responses=UploadResumeOutput, summary="Parts received so far and URLs for the rest"
    )
    def get(self, request: Request, upload_id: str) -> Response:
        upload = get_object_or_404(Upload, pk=upload_id, organisation=_organisation(request))
        return Response(services.resume_parts(upload))
