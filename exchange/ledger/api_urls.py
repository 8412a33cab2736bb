from django.urls import URLPattern, URLResolver, path

from exchange.ledger import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("wallet/", api.WalletView.as_view(), name="ledger-wallet"),
    path(
        "wallet/transactions/",
        api.WalletTransactionListView.as_view(),
        name="ledger-wallet-transactions",
    ),
    path("wallet/deposits/", api.DepositListCreateView.as_view(), name="ledger-deposits"),
    path("wallet/withdrawals/", api.WithdrawalListCreateView.as_view(), name="ledger-withdrawals"),
    path(
        "payments/sandbox/callback/",
        api.SandboxCallbackView.as_view(),
        name="ledger-sandbox-callback",
    ),
    path(
        "operator/deposits/",
        api.OperatorDepositCreateView.as_view(),
        name="ledger-operator-deposits",
    ),
]
