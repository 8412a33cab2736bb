from django.urls import URLPattern, URLResolver, path

from licensing import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "licence-templates/",
        api.LicenceTemplateListView.as_view(),
        name="licensing-templates",
    ),
    path(
        "licence-templates/<int:template_id>/",
        api.LicenceTemplateDetailView.as_view(),
        name="licensing-template",
    ),
    path("offers/", api.OfferCollectionView.as_view(), name="licensing-offers"),
    path("offers/<int:offer_id>/", api.OfferDetailView.as_view(), name="licensing-offer"),
    path(
        "offers/<int:offer_id>/withdraw/",
        api.OfferWithdrawView.as_view(),
        name="licensing-offer-withdraw",
    ),
    path("contracts/", api.ContractCollectionView.as_view(), name="licensing-contracts"),
    path(
        "contracts/<int:contract_id>/",
        api.ContractDetailView.as_view(),
        name="licensing-contract",
    ),
    path(
        "contracts/<int:contract_id>/sign/",
        api.ContractSignView.as_view(),
        name="licensing-contract-sign",
    ),
    path(
        "contracts/<int:contract_id>/pdf/",
        api.ContractPdfView.as_view(),
        name="licensing-contract-pdf",
    ),
    path("licences/", api.LicenceListView.as_view(), name="licensing-licences"),
    path(
        "licences/<uuid:licence_id>/",
        api.LicenceDetailView.as_view(),
        name="licensing-licence",
    ),
    path(
        "licences/<uuid:licence_id>/revoke/",
        api.LicenceRevokeView.as_view(),
        name="licensing-licence-revoke",
    ),
    path("verify/", api.VerifyView.as_view(), name="licensing-api-verify"),
]
