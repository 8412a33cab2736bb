from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from exchange.api_root import ApiRootView
from exchange.participants import api as participants_api

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("me/", participants_api.MeView.as_view(), name="api-me"),
    path(
        "organisations/",
        participants_api.OrganisationListCreateView.as_view(),
        name="api-organisations",
    ),
    path(
        "organisations/<int:pk>/",
        participants_api.OrganisationDetailView.as_view(),
        name="api-organisation",
    ),
    path("api-keys/", participants_api.ApiKeyListCreateView.as_view(), name="api-keys"),
    path(
        "api-keys/<int:pk>/revoke/",
        participants_api.ApiKeyRevokeView.as_view(),
        name="api-key-revoke",
    ),
    # Each app owns its part of the API; they are mounted side by side under /api/v1/.
    path("", include("listings.api_urls")),
    path("", include("listings.pipeline.api_urls")),
    path("", include("licensing.api_urls")),
    path("", include("exchange.ledger.api_urls")),
    path("", include("exchange.trading.api_urls")),
]
