from django.urls import URLPattern, URLResolver, path

from licensing import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("verify/", views.verify_page, name="licensing-verify"),
    path("contracts/<int:contract_id>/", views.contract_page, name="licensing-contract-page"),
    path(
        "contracts/<int:contract_id>/contract.pdf",
        views.contract_pdf,
        name="licensing-contract-pdf-page",
    ),
]
