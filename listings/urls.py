from django.urls import URLPattern, URLResolver, path

from listings import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("catalog.jsonld", views.catalog_jsonld, name="listings-catalog"),
    path("datasets/<int:listing_id>.jsonld", views.dataset_jsonld, name="listings-dataset-jsonld"),
    path("datasets/<int:listing_id>/", views.dataset_page, name="listings-dataset-page"),
]
