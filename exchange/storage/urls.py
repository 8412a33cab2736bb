"""Signed links of the local backend; included by exchange/urls.py at "storage/".

The S3 backend never routes through these: its links point at the object store itself.
"""

from django.urls import path

from . import views

app_name = "storage"

urlpatterns = [
    path("download/<str:token>", views.download, name="download"),
    path("upload/<str:token>", views.upload, name="upload"),
]
