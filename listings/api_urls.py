from django.urls import URLPattern, URLResolver, path

from listings import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("listings/", api.ListingCollectionView.as_view(), name="listings-list"),
    path("listings/<int:listing_id>/", api.ListingDetailView.as_view(), name="listings-detail"),
    path(
        "listings/<int:listing_id>/retire/",
        api.ListingRetireView.as_view(),
        name="listings-retire",
    ),
    path(
        "listings/<int:listing_id>/suspend/",
        api.ListingSuspendView.as_view(),
        name="listings-suspend",
    ),
    path(
        "listings/<int:listing_id>/reinstate/",
        api.ListingReinstateView.as_view(),
        name="listings-reinstate",
    ),
    path(
        "listings/<int:listing_id>/price-plans/",
        api.PricePlanCollectionView.as_view(),
        name="listings-price-plans",
    ),
    path(
        "listings/<int:listing_id>/price-plans/<int:plan_id>/deactivate/",
        api.PricePlanDeactivateView.as_view(),
        name="listings-price-plan-deactivate",
    ),
    path(
        "listings/<int:listing_id>/versions/",
        api.VersionCollectionView.as_view(),
        name="listings-versions",
    ),
    path(
        "listings/<int:listing_id>/versions/<int:number>/",
        api.VersionDetailView.as_view(),
        name="listings-version",
    ),
    path(
        "listings/<int:listing_id>/versions/<int:number>/schema.json",
        api.VersionSchemaView.as_view(),
        name="listings-version-schema",
    ),
    path(
        "listings/<int:listing_id>/versions/<int:number>/submit/",
        api.VersionSubmitView.as_view(),
        name="listings-version-submit",
    ),
    path("reviews/", api.ReviewQueueView.as_view(), name="listings-reviews"),
    path(
        "reviews/<int:version_id>/approve/",
        api.ReviewApproveView.as_view(),
        name="listings-review-approve",
    ),
    path(
        "reviews/<int:version_id>/reject/",
        api.ReviewRejectView.as_view(),
        name="listings-review-reject",
    ),
]
