"""The storage links mounted as exchange/urls.py mounts them, for tests of the local views
that must not depend on the rest of the project's URL configuration."""

from django.urls import include, path

urlpatterns = [path("storage/", include("exchange.storage.urls"))]
