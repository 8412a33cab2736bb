"""The wallet over the API: balances, history, deposits, withdrawals; the sandbox bank's callback;
operators' manual deposits. Thin views over exchange.ledger.funding and selectors. Every
money-moving POST is @idempotent (Idempotency-Key required)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, permissions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api_common.etags import ETAG_PARAMETERS, NOT_MODIFIED, conditional_get
from exchange.ledger import funding, selectors
from exchange.ledger.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from exchange.ledger.models import Deposit, Posting, Withdrawal
from exchange.ledger.payments import CallbackRejected, get_provider
from exchange.ledger.payments.sandbox import SIGNATURE_HEADER, SandboxBankTransferProvider
from exchange.participants.models import ApiKey, Organisation
from exchange.participants.permissions import HasScope, NotFrozen, acting_organisation
from exchange.participants.services import membership_of


class NewestFirstCursor(CursorPagination):
    # Keyset pagination: stable while new postings arrive, cheap however deep one pages.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _organisation(request: Request) -> Organisation:
    organisation = acting_organisation(request)
    if organisation is None:
        raise exceptions.PermissionDenied("You act for no organisation.")
    return organisation


class _WalletScope:
    """Reads need the 'read' scope, writes 'trade' (checked by HasScope for API keys)."""

    request: Request

    @property
    def required_scope(self) -> str:
        return "read" if self.request.method in permissions.SAFE_METHODS else "trade"


# --- Serializers (unique names: drf-spectacular names schema components after them) -------------


class WalletOutput(serializers.Serializer[Any]):
    organisation = serializers.IntegerField()
    currency = serializers.CharField(default="CNY")
    available_fen = serializers.IntegerField()
    escrow_fen = serializers.IntegerField()


class LedgerPostingOutput(serializers.ModelSerializer[Posting]):
    transaction = serializers.IntegerField(source="transaction_id")
    kind = serializers.CharField(source="transaction.kind")
    account = serializers.CharField(source="account.kind", help_text="available or escrow")
    amount_fen = serializers.IntegerField(source="amount", help_text="positive credits")
    balance_after_fen = serializers.IntegerField(source="balance_after")
    reference_type = serializers.CharField(source="transaction.reference_type")
    reference_id = serializers.CharField(source="transaction.reference_id")
    memo = serializers.CharField(source="transaction.memo")

    class Meta:
        model = Posting
        fields = [
            "id",
            "transaction",
            "kind",
            "account",
            "amount_fen",
            "balance_after_fen",
            "reference_type",
            "reference_id",
            "memo",
            "created_at",
        ]


class DepositOutput(serializers.ModelSerializer[Deposit]):
    class Meta:
        model = Deposit
        fields = [
            "id",
            "status",
            "amount_fen",
            "received_fen",
            "provider",
            "provider_reference",
            "failure_reason",
            "created_at",
            "settled_at",
        ]


class WithdrawalOutput(serializers.ModelSerializer[Withdrawal]):
    class Meta:
        model = Withdrawal
        fields = [
            "id",
            "status",
            "amount_fen",
            "provider",
            "provider_reference",
            "failure_reason",
            "created_at",
            "settled_at",
        ]


class SandboxCallbackSpec(serializers.Serializer[Any]):
    url = serializers.CharField()
    method = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.CharField(help_text="POST exactly these bytes")
    valid_for_seconds = serializers.IntegerField()


class AmountInput(serializers.Serializer[Any]):
    amount_fen = serializers.IntegerField(min_value=1, help_text="CNY fen (1 yuan = 100)")


# --- Views ---------------------------------------------------------------------------------------


class WalletView(APIView):
    permission_classes = [HasScope]
    required_scope = "read"

    @extend_schema(
        responses={200: WalletOutput, **NOT_MODIFIED},
        parameters=ETAG_PARAMETERS,
        summary="Balances of your organisation",
    )
    @conditional_get
    def get(self, request: Request) -> Response:
        organisation = _organisation(request)
        balances = selectors.wallet_of(organisation)
        data = {
            "organisation": organisation.pk,
            "currency": "CNY",
            "available_fen": balances.available_fen,
            "escrow_fen": balances.escrow_fen,
        }
        return Response(WalletOutput(data).data)


class WalletTransactionListView(generics.ListAPIView[Posting]):
    permission_classes = [HasScope]
    required_scope = "read"
    serializer_class = LedgerPostingOutput
    pagination_class = NewestFirstCursor

    def get_queryset(self) -> QuerySet[Posting]:
        return selectors.postings_of(_organisation(self.request))

    @extend_schema(summary="Your organisation's ledger postings, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DepositListCreateView(_WalletScope, generics.ListAPIView[Deposit]):  # type: ignore[misc]
    permission_classes = [HasScope, NotFrozen]
    serializer_class = DepositOutput
    pagination_class = NewestFirstCursor

    class DepositCreatedOutput(serializers.Serializer[Any]):
        deposit = DepositOutput()
        sandbox = serializers.BooleanField(help_text="true: no real money moves")
        method = serializers.CharField()
        instructions = serializers.DictField()
        sandbox_callback = SandboxCallbackSpec(allow_null=True)

    def get_queryset(self) -> QuerySet[Deposit]:
        return selectors.deposits_of(_organisation(self.request))

    @extend_schema(summary="Your organisation's deposits, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AmountInput,
        responses={201: DepositCreatedOutput},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Start a deposit: returns how to pay (in the sandbox, a simulated callback)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        deposit, instructions = funding.start_deposit(
            actor=request.user,
            organisation=_organisation(request),
            amount_fen=data.validated_data["amount_fen"],
        )
        body = {
            "deposit": DepositOutput(deposit).data,
            "sandbox": instructions.sandbox_callback is not None,
            "method": instructions.method,
            "instructions": instructions.details,
            "sandbox_callback": instructions.sandbox_callback,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class WithdrawalListCreateView(_WalletScope, generics.ListAPIView[Withdrawal]):  # type: ignore[misc]
    permission_classes = [HasScope, NotFrozen]
    serializer_class = WithdrawalOutput
    pagination_class = NewestFirstCursor

    class WithdrawalCreatedOutput(serializers.Serializer[Any]):
        withdrawal = WithdrawalOutput()
        sandbox = serializers.BooleanField(help_text="true: no real money moves")
        sandbox_callback = SandboxCallbackSpec(allow_null=True)

    def get_queryset(self) -> QuerySet[Withdrawal]:
        return selectors.withdrawals_of(_organisation(self.request))

    @extend_schema(summary="Your organisation's withdrawals, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=AmountInput,
        responses={201: WithdrawalCreatedOutput},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Withdraw from the available balance to the organisation's bank account",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        organisation = _organisation(request)
        if not isinstance(request.auth, ApiKey):
            member = membership_of(request.user, organisation)  # type: ignore[arg-type]
            if member is None or not member.can_manage:
                raise exceptions.PermissionDenied(
                    "Only an owner or admin of the organisation may withdraw money."
                )
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        withdrawal = funding.request_withdrawal(
            actor=request.user,
            organisation=organisation,
            amount_fen=data.validated_data["amount_fen"],
        )
        provider = get_provider()
        callback = (
            provider.withdrawal_callback(withdrawal)
            if isinstance(provider, SandboxBankTransferProvider)
            else None
        )
        body = {
            "withdrawal": WithdrawalOutput(withdrawal).data,
            "sandbox": provider.is_sandbox,
            "sandbox_callback": callback,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class CallbackRejectedError(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "callback_rejected"
    default_detail = "The callback was rejected."


class SandboxCallbackView(APIView):
    """The sandbox bank's notifications. Unauthenticated: the HMAC signature is the credential."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    class SandboxCallbackInput(serializers.Serializer[Any]):
        event = serializers.ChoiceField(
            choices=["deposit.succeeded", "deposit.failed", "withdrawal.paid", "withdrawal.failed"]
        )
        reference = serializers.CharField()
        amount_fen = serializers.IntegerField(min_value=1)
        reason = serializers.CharField(required=False)

    class SandboxCallbackOutput(serializers.Serializer[Any]):
        result = serializers.ChoiceField(choices=["applied", "already applied"])

    @extend_schema(
        request=SandboxCallbackInput,
        responses={200: SandboxCallbackOutput},
        auth=[],
        summary=f"SANDBOX: the simulated bank's signed callback ({SIGNATURE_HEADER} header)",
    )
    def post(self, request: Request) -> Response:
        provider = get_provider()
        if not isinstance(provider, SandboxBankTransferProvider):
            raise exceptions.NotFound()
        try:
            event = provider.verify_callback(request.body, request.headers)
            result = funding.apply_payment_event(provider.name, event)
        except CallbackRejected as exc:
            raise CallbackRejectedError(f"Callback rejected: {exc}.") from None
        return Response({"result": result})


class OperatorDepositCreateView(APIView):
    """Operators book money that reached the platform outside any provider."""

    permission_classes = [HasScope]
    required_scope = "trade"

    class OperatorDepositInput(serializers.Serializer[Any]):
        organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.all())
        amount_fen = serializers.IntegerField(min_value=1)
        reason = serializers.CharField(max_length=300)

    @extend_schema(
        request=OperatorDepositInput,
        responses={201: DepositOutput},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Record a manual deposit (operators only; audited)",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        if not getattr(request.user, "is_operator", False):
            raise exceptions.PermissionDenied("Only platform operators may record deposits.")
        data = self.OperatorDepositInput(data=request.data)
        data.is_valid(raise_exception=True)
        deposit = funding.record_manual_deposit(operator=request.user, **data.validated_data)
        return Response(DepositOutput(deposit).data, status=status.HTTP_201_CREATED)
