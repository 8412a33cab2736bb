from django.urls import path

from listings.pipeline import api

urlpatterns = [
    path(
        "listings/<int:listing_id>/versions/<int:number>/uploads/",
        api.UploadStartView.as_view(),
        name="pipeline-upload-start",
    ),
    path(
        "listings/<int:listing_id>/versions/<int:number>/uploads/direct/",
        api.UploadDirectView.as_view(),
        name="pipeline-upload-direct",
    ),
    path("uploads/<uuid:upload_id>/", api.UploadDetailView.as_view(), name="pipeline-upload"),
    path(
        "uploads/<uuid:upload_id>/complete/",
        api.UploadCompleteView.as_view(),
        name="pipeline-upload-complete",
    ),
    path(
        "uploads/<uuid:upload_id>/resume/",
        api.UploadResumeView.as_view(),
        name="pipeline-upload-resume",
    ),
]
