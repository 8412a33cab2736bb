from django.urls import URLPattern, URLResolver, path

from exchange.trading import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("orders/", api.OrderListCreateView.as_view(), name="trading-orders"),
    path("orders/<int:order_id>/", api.OrderDetailView.as_view(), name="trading-order"),
    path("orders/<int:order_id>/sign/", api.OrderSignView.as_view(), name="trading-order-sign"),
    path("orders/<int:order_id>/fund/", api.OrderFundView.as_view(), name="trading-order-fund"),
    path(
        "orders/<int:order_id>/download-links/",
        api.OrderDownloadLinksView.as_view(),
        name="trading-order-download-links",
    ),
    path(
        "orders/<int:order_id>/deliver/",
        api.OrderDeliverView.as_view(),
        name="trading-order-deliver",
    ),
    path(
        "orders/<int:order_id>/accept/", api.OrderAcceptView.as_view(), name="trading-order-accept"
    ),
    path(
        "orders/<int:order_id>/cancel/", api.OrderCancelView.as_view(), name="trading-order-cancel"
    ),
    path(
        "orders/<int:order_id>/dispute/",
        api.OrderDisputeView.as_view(),
        name="trading-order-dispute",
    ),
    path("disputes/", api.DisputeListView.as_view(), name="trading-disputes"),
    path("disputes/<int:dispute_id>/", api.DisputeDetailView.as_view(), name="trading-dispute"),
    path(
        "disputes/<int:dispute_id>/respond/",
        api.DisputeRespondView.as_view(),
        name="trading-dispute-respond",
    ),
    path(
        "disputes/<int:dispute_id>/resolve/",
        api.DisputeResolveView.as_view(),
        name="trading-dispute-resolve",
    ),
    path("webhooks/", api.WebhookEndpointListCreateView.as_view(), name="trading-webhooks"),
    path(
        "webhooks/<int:endpoint_id>/",
        api.WebhookEndpointDetailView.as_view(),
        name="trading-webhook",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        api.WebhookDeliveryListView.as_view(),
        name="trading-webhook-deliveries",
    ),
    path("notifications/", api.NotificationListView.as_view(), name="trading-notifications"),
    path(
        "notifications/read/",
        api.NotificationReadView.as_view(),
        name="trading-notifications-read",
    ),
]
