from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("exchange.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("storage/", include("exchange.storage.urls")),
    path("", include("exchange.web.urls")),
    path("", include("exchange.portal.urls")),
    path("", include("listings.urls")),
    path("", include("licensing.urls")),
    path("", include("exchange.trading.urls")),
]
