"""Licensing over the API: templates (public), offers (sellers), contracts and signatures (buyers),
licences, revocation (regulators/operators) and public verification. Thin views over services
and selectors."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api_common.etags import ETAG_PARAMETERS, NOT_MODIFIED, conditional_get
from exchange.api_common.pagination import (
    NewestCreatedFirst,
    NewestIssuedFirst,
    cursor_page_of,
    paginate,
)
from exchange.participants.models import ApiKey, Organisation, User
from exchange.participants.permissions import HasScope, NotFrozen, acting_organisation
from licensing import selectors, services, verification
from licensing.models import Contract, ContractSignature, Licence, LicenceTemplate, Offer
from licensing.pdf import SignatureLine, render_contract_pdf
from listings.models import ListingVersion, PricePlan
from listings.selectors import Viewer


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # the permission classes admit authenticated users only
    return user


def _organisation(request: Request) -> Organisation:
    organisation = acting_organisation(request)
    if organisation is None:
        raise PermissionDenied("You do not act for any organisation.")
    return organisation


def client_ip(request: Request) -> str | None:
    # REMOTE_ADDR only: forwarded headers are client-controlled unless a trusted proxy rewrites
    # them, and the deployment's proxy sets REMOTE_ADDR for us.
    return request.META.get("REMOTE_ADDR") or None


def _user_agent(request: Request) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:300]


# --- templates ---------------------------------------------------------------------------------


class LicenceParameterOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    kind = serializers.CharField()
    label_zh = serializers.CharField()
    label_en = serializers.CharField()
    chooser = serializers.CharField()
    options = serializers.ListField(child=serializers.JSONField())
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)
    nullable = serializers.BooleanField()
    max_length = serializers.IntegerField()
    default = serializers.JSONField(allow_null=True)


class LicenceTemplateSummaryOutput(serializers.ModelSerializer[LicenceTemplate]):
    # Keys such as "cc-by-4.0" carry dots: the model's SlugField pattern would misdescribe them.
    key = serializers.CharField(max_length=64)
    official_url = serializers.SerializerMethodField()
    parameters = serializers.SerializerMethodField()

    class Meta:
        model = LicenceTemplate
        fields = [
            "id",
            "key",
            "version",
            "family",
            "name_zh",
            "name_en",
            "is_current",
            "published_at",
            "official_url",
            "parameters",
        ]

    def get_official_url(self, obj: LicenceTemplate) -> str:
        return obj.spec.official_url

    @extend_schema_field(LicenceParameterOutput(many=True))
    def get_parameters(self, obj: LicenceTemplate) -> list[dict[str, Any]]:
        return [p.to_json() for p in obj.spec.parameters]


class LicenceTemplateDetailOutput(LicenceTemplateSummaryOutput):
    text_zh = serializers.SerializerMethodField()
    text_en = serializers.SerializerMethodField()
    policy = serializers.SerializerMethodField()
    fixed = serializers.SerializerMethodField()

    class Meta(LicenceTemplateSummaryOutput.Meta):
        fields = [
            *LicenceTemplateSummaryOutput.Meta.fields,
            "fixed",
            "text_zh",
            "text_en",
            "policy",
        ]

    def get_text_zh(self, obj: LicenceTemplate) -> str:
        return services.template_text(obj, "zh")

    def get_text_en(self, obj: LicenceTemplate) -> str:
        return services.template_text(obj, "en")

    def get_policy(self, obj: LicenceTemplate) -> dict[str, Any]:
        return services.template_policy(obj)

    def get_fixed(self, obj: LicenceTemplate) -> dict[str, Any]:
        return dict(obj.spec.fixed)


class LicenceTemplateListView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses=LicenceTemplateSummaryOutput(many=True),
        summary="Current licence templates (anyone)",
        parameters=[
            OpenApiParameter("all_versions", OpenApiTypes.BOOL, description="include old versions")
        ],
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("all_versions") in ("1", "true"):
            templates = LicenceTemplate.objects.all()
        else:
            templates = selectors.current_templates()
        return Response(LicenceTemplateSummaryOutput(templates, many=True).data)


class LicenceTemplateDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses=LicenceTemplateDetailOutput,
        summary="A template version with its ODRL policy and texts (anyone)",
    )
    def get(self, request: Request, template_id: int) -> Response:
        template = selectors.get_template(template_id)
        return Response(LicenceTemplateDetailOutput(template).data)


# --- offers ------------------------------------------------------------------------------------


def _status_field(choices: type) -> serializers.CharField:
    # A plain string in the schema: "status" enums of several apps would collide in OpenAPI
    # component names; the values are listed in the description instead.
    values = " | ".join(str(v) for v in choices.values)  # type: ignore[attr-defined]
    return serializers.CharField(read_only=True, help_text=f"one of: {values}")


class OfferOutput(serializers.ModelSerializer[Offer]):
    status = _status_field(Offer.Status)
    listing_id = serializers.IntegerField(source="price_plan.listing_id")
    template_key = serializers.CharField(source="template.key")
    template_version = serializers.IntegerField(source="template.version")

    class Meta:
        model = Offer
        fields = [
            "id",
            "price_plan",
            "listing_id",
            "seller",
            "template",
            "template_key",
            "template_version",
            "allowed",
            "policy",
            "terms_hash",
            "status",
            "accepted_at",
            "withdrawn_at",
        ]


class OfferCollectionView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    def get_permissions(self) -> list[Any]:
        if self.request.method in permissions.SAFE_METHODS:
            return [permissions.AllowAny()]
        return list(super().get_permissions())

    class OfferCreateInput(serializers.Serializer[Any]):
        price_plan = serializers.IntegerField()
        template = serializers.IntegerField()
        allowed = serializers.DictField(required=False, default=dict)
        accept = serializers.BooleanField(
            help_text="must be true: the seller accepts every contract generated from this offer"
        )

    @extend_schema(
        operation_id="offers_list",
        responses=cursor_page_of(OfferOutput),
        summary="Offers you may see (your own, and active ones on listings you may open)",
        parameters=[
            OpenApiParameter("listing", OpenApiTypes.INT),
            OpenApiParameter("price_plan", OpenApiTypes.INT),
        ],
    )
    def get(self, request: Request) -> Response:
        viewer = Viewer.for_user(request.user, acting_organisation(request))
        offers = selectors.offers_visible_to(viewer)
        for param, field in (
            ("listing", "price_plan__listing_id"),
            ("price_plan", "price_plan_id"),
        ):
            value = request.query_params.get(param)
            if value:
                if not value.isdigit():
                    raise ValidationError({param: "must be an id"})
                offers = offers.filter(**{field: int(value)})
        return paginate(self, request, offers, OfferOutput)

    @extend_schema(
        request=OfferCreateInput,
        responses={201: OfferOutput},
        summary="Offer a licence for one of your price plans (replaces its previous offer)",
    )
    def post(self, request: Request) -> Response:
        data = self.OfferCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["accept"]:
            raise ValidationError({"accept": "the seller must accept the offer's terms"})
        organisation = _organisation(request)
        plan = (
            PricePlan.objects.select_related("listing")
            .filter(pk=data.validated_data["price_plan"], listing__seller=organisation)
            .first()
        )
        if plan is None:
            raise ValidationError({"price_plan": "no such price plan of yours"})
        template = LicenceTemplate.objects.filter(pk=data.validated_data["template"]).first()
        if template is None:
            raise ValidationError({"template": "no such licence template"})
        offer = services.create_offer(
            actor=_user(request),
            price_plan=plan,
            template=template,
            allowed=data.validated_data["allowed"],
            ip=client_ip(request),
            user_agent=_user_agent(request),
        )
        return Response(OfferOutput(offer).data, status=status.HTTP_201_CREATED)


class OfferDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=OfferOutput, summary="One offer")
    def get(self, request: Request, offer_id: int) -> Response:
        viewer = Viewer.for_user(request.user, acting_organisation(request))
        return Response(OfferOutput(selectors.get_offer(viewer, offer_id)).data)


class OfferWithdrawView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "publish"

    @extend_schema(request=None, responses=OfferOutput, summary="Withdraw your offer")
    def post(self, request: Request, offer_id: int) -> Response:
        viewer = Viewer.for_user(request.user, acting_organisation(request))
        offer = selectors.get_offer(viewer, offer_id)
        offer = services.withdraw_offer(actor=_user(request), offer=offer)
        return Response(OfferOutput(offer).data)


# --- contracts ---------------------------------------------------------------------------------


class ContractPartyOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    uscc = serializers.CharField()


class ContractSignatureOutput(serializers.ModelSerializer[ContractSignature]):
    # Who signed for which organisation, when, how, over which hash. The address and user agent
    # stay in the evidence record (admin, regulators), not in API answers.
    signer = serializers.SerializerMethodField()

    class Meta:
        model = ContractSignature
        fields = ["party", "organisation", "signer", "method", "signed_hash", "signed_at"]

    def get_signer(self, obj: ContractSignature) -> str:
        return obj.user.display_name or f"user {obj.user_id}"


class ContractSummaryOutput(serializers.ModelSerializer[Contract]):
    status = _status_field(Contract.Status)
    seller = ContractPartyOutput()
    buyer = ContractPartyOutput()
    fully_signed = serializers.BooleanField(source="is_fully_signed")

    class Meta:
        model = Contract
        fields = [
            "id",
            "reference",
            "status",
            "offer",
            "template",
            "price_plan",
            "listing",
            "listing_version",
            "seller",
            "buyer",
            "plan_kind",
            "price_fen",
            "term_months",
            "subscription_months",
            "seats",
            "content_hash",
            "fully_signed",
            "created_at",
            "signed_at",
            "replaces",
        ]


class ContractDetailOutput(ContractSummaryOutput):
    signatures = ContractSignatureOutput(many=True)
    integrity_ok = serializers.BooleanField()

    class Meta(ContractSummaryOutput.Meta):
        fields = [
            *ContractSummaryOutput.Meta.fields,
            "choices",
            "parameters",
            "text_zh",
            "text_en",
            "policy",
            "signatures",
            "integrity_ok",
        ]


class ContractCollectionView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    class ContractCreateInput(serializers.Serializer[Any]):
        offer = serializers.IntegerField()
        choices = serializers.DictField(required=False, default=dict)
        listing_version = serializers.IntegerField(required=False, allow_null=True)

    def get_permissions(self) -> list[Any]:
        if self.request.method in permissions.SAFE_METHODS:
            self.required_scope = "read"
        return list(super().get_permissions())

    @extend_schema(
        operation_id="contracts_list",
        responses=cursor_page_of(ContractSummaryOutput),
        summary="Contracts your organisation is party to, newest first",
    )
    def get(self, request: Request) -> Response:
        contracts = selectors.contracts_visible_to(_user(request), acting_organisation(request))
        return paginate(self, request, contracts, ContractSummaryOutput, NewestCreatedFirst)

    @extend_schema(
        request=ContractCreateInput,
        responses={201: ContractDetailOutput},
        summary="Make a contract from an offer and your choices (then review and sign it)",
    )
    def post(self, request: Request) -> Response:
        data = self.ContractCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = _organisation(request)
        viewer = Viewer.for_user(request.user, organisation)
        try:
            offer = selectors.get_offer(viewer, data.validated_data["offer"])
        except Exception as exc:  # a 404 on an offer id in a body is a field error
            raise ValidationError({"offer": "no such offer"}) from exc
        version = None
        version_id = data.validated_data.get("listing_version")
        if version_id is not None:
            version = ListingVersion.objects.filter(pk=version_id).first()
            if version is None:
                raise ValidationError({"listing_version": "no such version"})
        contract = services.create_contract(
            offer=offer,
            buyer_org=organisation,
            actor=_user(request),
            choices=data.validated_data["choices"],
            listing_version=version,
        )
        contract = selectors.get_contract(_user(request), organisation, contract.pk)
        return Response(ContractDetailOutput(contract).data, status=status.HTTP_201_CREATED)


class ContractDetailView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={200: ContractDetailOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        summary="One contract with texts and policy",
    )
    @conditional_get
    def get(self, request: Request, contract_id: int) -> Response:
        contract = selectors.get_contract(_user(request), acting_organisation(request), contract_id)
        return Response(ContractDetailOutput(contract).data)


class ContractSignView(APIView):
    permission_classes = [HasScope, NotFrozen]
    required_scope = "trade"

    class ContractSignInput(serializers.Serializer[Any]):
        hash = serializers.RegexField(r"^[0-9a-fA-F]{64}$", help_text="the SHA-256 you reviewed")

    @extend_schema(
        request=ContractSignInput,
        responses={200: ContractDetailOutput},
        summary="Sign as the buyer: the body carries the hash you reviewed",
    )
    def post(self, request: Request, contract_id: int) -> Response:
        data = self.ContractSignInput(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = _organisation(request)
        contract = selectors.get_contract(_user(request), organisation, contract_id)
        services.sign_contract(
            contract=contract,
            actor=_user(request),
            organisation=organisation,
            signed_hash=data.validated_data["hash"],
            ip=client_ip(request),
            user_agent=_user_agent(request),
            method=(
                ContractSignature.Method.API
                if isinstance(request.auth, ApiKey)
                else ContractSignature.Method.BROWSER
            ),
        )
        contract = selectors.get_contract(_user(request), organisation, contract_id)
        return Response(ContractDetailOutput(contract).data)


def contract_pdf_response(contract: Contract) -> HttpResponse:
    signatures = [
        SignatureLine(
            party=s.party,
            organisation=s.organisation.name,
            uscc=s.organisation.uscc,
            signer=s.user.display_name or f"user {s.user_id}",
            method=s.method,
            signed_at=s.signed_at.isoformat(),
            signed_hash=s.signed_hash,
        )
        for s in contract.signatures.all()
    ]
    body = render_contract_pdf(
        reference=contract.reference,
        content_hash=contract.content_hash,
        text_zh=contract.text_zh,
        text_en=contract.text_en,
        policy=contract.policy,
        signatures=signatures,
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="contract-{contract.reference}.pdf"'
    response["X-Content-SHA256"] = contract.content_hash
    return response


class ContractPdfView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
        summary="The contract as a PDF carrying its SHA-256",
    )
    def get(self, request: Request, contract_id: int) -> HttpResponse:
        contract = selectors.get_contract(_user(request), acting_organisation(request), contract_id)
        return contract_pdf_response(contract)


# --- licences ----------------------------------------------------------------------------------


class LicenceOutput(serializers.ModelSerializer[Licence]):
    status = _status_field(Licence.Status)
    contract_reference = serializers.CharField(source="contract.reference")
    content_hash = serializers.CharField(source="contract.content_hash")

    class Meta:
        model = Licence
        fields = [
            "id",
            "contract",
            "contract_reference",
            "content_hash",
            "buyer",
            "seller",
            "listing",
            "listing_version",
            "plan_kind",
            "seats",
            "status",
            "status_reason",
            "starts_at",
            "ends_at",
            "issued_at",
            "status_changed_at",
            "superseded_by",
        ]


class LicenceListView(generics.ListAPIView[Licence]):
    permission_classes = [HasScope]
    required_scope = "read"
    serializer_class = LicenceOutput
    pagination_class = NewestIssuedFirst

    def get_queryset(self) -> QuerySet[Licence]:
        return selectors.licences_visible_to(_user(self.request), acting_organisation(self.request))

    @extend_schema(summary="Licences you hold or granted, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class LicenceDetailView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={200: LicenceOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        summary="One licence",
    )
    @conditional_get
    def get(self, request: Request, licence_id: Any) -> Response:
        licence = selectors.get_licence(_user(request), acting_organisation(request), licence_id)
        return Response(LicenceOutput(licence).data)


class LicenceRevokeView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    class LicenceRevokeInput(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=500)

    @extend_schema(
        request=LicenceRevokeInput,
        responses=LicenceOutput,
        summary="Revoke a licence (regulators and platform operators)",
    )
    def post(self, request: Request, licence_id: Any) -> Response:
        user = _user(request)
        if isinstance(request.auth, ApiKey) or not (user.is_regulator or user.is_operator):
            raise PermissionDenied("Only a regulator or platform operator may revoke a licence.")
        data = self.LicenceRevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        licence = selectors.get_licence(user, None, licence_id)
        licence = services.revoke_licence(
            licence=licence, actor=user, reason=data.validated_data["reason"]
        )
        return Response(LicenceOutput(licence).data)


# --- public verification -----------------------------------------------------------------------


class VerificationPartyOutput(serializers.Serializer[Any]):
    name = serializers.CharField()
    uscc = serializers.CharField()


class VerificationContractOutput(serializers.Serializer[Any]):
    reference = serializers.CharField()
    content_hash = serializers.CharField()
    integrity_ok = serializers.BooleanField()
    signed_at = serializers.DateTimeField(allow_null=True)
    template = serializers.DictField()


class VerificationDatasetOutput(serializers.Serializer[Any]):
    listing_id = serializers.IntegerField()
    title = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    plan_kind = serializers.CharField()


class VerificationTermOutput(serializers.Serializer[Any]):
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    term_months = serializers.IntegerField(allow_null=True)


class VerificationOutput(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    status = serializers.CharField()
    reason = serializers.CharField()
    licence_id = serializers.CharField(allow_null=True, required=False)
    contract = VerificationContractOutput(required=False)
    licensor = VerificationPartyOutput(required=False)
    licensee = VerificationPartyOutput(required=False)
    dataset = VerificationDatasetOutput(required=False)
    term = VerificationTermOutput(required=False)
    policy = serializers.DictField(required=False)


class VerifyView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses=VerificationOutput,
        summary="Verify a licence by id or a contract by hash (anyone)",
        parameters=[
            OpenApiParameter("licence", OpenApiTypes.UUID),
            OpenApiParameter("hash", OpenApiTypes.STR, description="contract SHA-256 (hex)"),
        ],
    )
    def get(self, request: Request) -> Response:
        licence_id = request.query_params.get("licence", "").strip()
        content_hash = request.query_params.get("hash", "").strip()
        if bool(licence_id) == bool(content_hash):
            raise ValidationError({"licence": "give either a licence id or a contract hash"})
        result = verification.verify(
            licence_id=licence_id or None, content_hash=content_hash or None
        )
        return Response(VerificationOutput(result).data)
