"""Participants over the API: who am I, organisations, API keys. Thin views over services."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.participants import selectors, services
from exchange.participants.models import ApiKey, ApiKeyScope, Membership, Organisation, User
from exchange.participants.permissions import HasScope, NotFrozen, acting_organisation


class OrganisationOutput(serializers.ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "uscc", "status", "status_reason", "created_at"]


class MeView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    class MeOutput(serializers.Serializer[Any]):
        email = serializers.EmailField()
        organisation = OrganisationOutput(allow_null=True)
        roles = serializers.ListField(child=serializers.CharField())
        api_key_scopes = serializers.ListField(child=serializers.CharField(), allow_null=True)

    @extend_schema(responses=MeOutput, summary="Who is calling, and for which organisation")
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)  # HasScope admits authenticated users only
        organisation = acting_organisation(request)
        roles = list(user.groups.values_list("name", flat=True))
        if organisation is not None:
            membership = services.membership_of(user, organisation)
            if membership:
                roles.append(f"organisation:{membership.role}")
        data = {
            "email": user.email,
            "organisation": organisation,
            "roles": roles,
            "api_key_scopes": request.auth.scopes if isinstance(request.auth, ApiKey) else None,
        }
        return Response(self.MeOutput(data).data)


class OrganisationListCreateView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    class OrganisationInput(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=200)
        kind = serializers.ChoiceField(choices=Organisation.Kind.choices)
        uscc = serializers.CharField(max_length=18, min_length=18)

    @extend_schema(responses=OrganisationOutput(many=True), summary="Organisations you belong to")
    def get(self, request: Request) -> Response:
        organisations = selectors.organisations_visible_to(request.user)  # type: ignore[arg-type]
        return Response(OrganisationOutput(organisations, many=True).data)

    @extend_schema(
        request=OrganisationInput, responses={201: OrganisationOutput}, summary="Register one"
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiKey):
            return Response(
                {
                    "type": "permission_error",
                    "code": "session_required",
                    "message": "Register organisations from a signed-in browser session.",
                    "field_errors": {},
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        data = self.OrganisationInput(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = services.register_organisation(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(OrganisationOutput(organisation).data, status=status.HTTP_201_CREATED)


class OrganisationDetailView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(responses=OrganisationOutput, summary="One organisation")
    def get(self, request: Request, pk: int) -> Response:
        # Filtered by the same rule as the list: another tenant's id is simply not found.
        organisations = selectors.organisations_visible_to(request.user)  # type: ignore[arg-type]
        organisation = get_object_or_404(organisations, pk=pk)
        return Response(OrganisationOutput(organisation).data)


class ApiKeyOutput(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        ]


class ApiKeyListCreateView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "read"

    class ApiKeyInput(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=100)
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=ApiKeyScope.choices), min_length=1
        )
        expires_at = serializers.DateTimeField(required=False)

    class ApiKeyCreated(ApiKeyOutput):
        token = serializers.CharField(help_text="The key itself. Shown only in this response.")

        class Meta(ApiKeyOutput.Meta):
            fields = [*ApiKeyOutput.Meta.fields, "token"]

    def _organisation(self, request: Request) -> Organisation:
        organisation = acting_organisation(request)
        if organisation is None:
            raise PermissionDenied("You act for no organisation.")
        return organisation

    @extend_schema(responses=ApiKeyOutput(many=True), summary="Your organisation's API keys")
    def get(self, request: Request) -> Response:
        keys = selectors.api_keys_of(self._organisation(request))
        return Response(ApiKeyOutput(keys, many=True).data)

    @extend_schema(
        request=ApiKeyInput, responses={201: ApiKeyCreated}, summary="Create a key (shown once)"
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiKey):
            raise PermissionDenied("API keys are created from a signed-in browser session.")
        data = self.ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.create_api_key(
            actor=request.user,  # type: ignore[arg-type]
            organisation=self._organisation(request),
            **data.validated_data,
        )
        body = ApiKeyOutput(issued.key).data | {"token": issued.token}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(request=None, responses=ApiKeyOutput, summary="Revoke a key")
    def post(self, request: Request, pk: int) -> Response:
        organisation = acting_organisation(request)
        key = get_object_or_404(ApiKey, pk=pk, organisation=organisation)
        member = services.membership_of(request.user, key.organisation)  # type: ignore[arg-type]
        if member is None or member.role not in (Membership.Role.OWNER, Membership.Role.ADMIN):
            raise PermissionDenied("Only an owner or admin of the organisation may revoke keys.")
        key = services.revoke_api_key(actor=request.user, key=key)  # type: ignore[arg-type]
        return Response(ApiKeyOutput(key).data)
