"""Browser pages of the portal, included at the site root:
`path("", include("exchange.portal.urls"))` in exchange/urls.py."""

from django.urls import URLPattern, URLResolver, path

from exchange.portal.views import account, buyer, public, seller, wallet

app_name = "portal"

urlpatterns: list[URLPattern | URLResolver] = [
    # Browsers ask for /favicon.ico on every page, admin pages included: answer locally.
    path("favicon.ico", public.favicon, name="favicon"),
    path("catalogue/", public.catalogue, name="catalogue"),
    path("catalogue/<int:listing_id>/", public.listing_detail, name="listing"),
    # seller
    path("seller/", seller.dashboard, name="seller-dashboard"),
    path("seller/listings/new/", seller.listing_create, name="seller-listing-create"),
    path("seller/listings/<int:listing_id>/", seller.listing_manage, name="seller-listing"),
    path("seller/listings/<int:listing_id>/edit/", seller.listing_edit, name="seller-listing-edit"),
    path("seller/listings/<int:listing_id>/plans/", seller.plan_create, name="seller-plan-create"),
    path(
        "seller/listings/<int:listing_id>/versions/",
        seller.version_create,
        name="seller-version-create",
    ),
    path("seller/versions/<int:version_id>/", seller.version_page, name="seller-version"),
    path(
        "seller/versions/<int:version_id>/uploads/",
        seller.upload_start,
        name="seller-upload-start",
    ),
    path(
        "seller/versions/<int:version_id>/submit/",
        seller.version_submit,
        name="seller-version-submit",
    ),
    path(
        "seller/versions/<int:version_id>/rerun/", seller.version_rerun, name="seller-version-rerun"
    ),
    path(
        "seller/uploads/<uuid:upload_id>/complete/",
        seller.upload_complete,
        name="seller-upload-complete",
    ),
    path("seller/uploads/<uuid:upload_id>/", seller.upload_status, name="seller-upload-status"),
    path("seller/sales/", seller.sales, name="seller-sales"),
    path("seller/sales/<int:order_id>/dispute/", seller.dispute_respond, name="seller-dispute"),
    # buyer
    path("orders/", buyer.orders, name="buyer-orders"),
    path("orders/new/", buyer.order_create, name="buyer-order-create"),
    path("orders/<int:order_id>/", buyer.order_detail, name="buyer-order"),
    path("orders/<int:order_id>/sign/", buyer.order_sign, name="buyer-order-sign"),
    path("orders/<int:order_id>/fund/", buyer.order_fund, name="buyer-order-fund"),
    path("orders/<int:order_id>/links/", buyer.order_links, name="buyer-order-links"),
    path("orders/<int:order_id>/accept/", buyer.order_accept, name="buyer-order-accept"),
    path("orders/<int:order_id>/cancel/", buyer.order_cancel, name="buyer-order-cancel"),
    path("orders/<int:order_id>/dispute/", buyer.order_dispute, name="buyer-order-dispute"),
    path("licences/", buyer.licences, name="licences"),
    # wallet and account
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/deposits/", wallet.deposit, name="wallet-deposit-start"),
    path("wallet/deposits/<int:deposit_id>/", wallet.deposit_detail, name="wallet-deposit"),
    path(
        "wallet/deposits/<int:deposit_id>/simulate/",
        wallet.deposit_simulate,
        name="wallet-deposit-simulate",
    ),
    path("wallet/withdrawals/", wallet.withdraw, name="wallet-withdraw"),
    path("account/organisation/", account.organisation, name="organisation"),
    path("account/organisation/switch/", account.switch_organisation, name="organisation-switch"),
    path("account/api-keys/", account.api_keys, name="api-keys"),
    path("account/api-keys/<int:key_id>/revoke/", account.api_key_revoke, name="api-key-revoke"),
    path("account/webhooks/", account.webhooks, name="webhooks"),
    path(
        "account/webhooks/<int:endpoint_id>/toggle/",
        account.webhook_toggle,
        name="webhook-toggle",
    ),
    path(
        "account/webhooks/<int:endpoint_id>/delete/",
        account.webhook_delete,
        name="webhook-delete",
    ),
]
