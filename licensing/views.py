"""Browser pages: public verification, and a contract's review-and-sign page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from exchange.participants.models import Membership, Organisation, User
from licensing import selectors, services, verification
from licensing.models import ContractSignature


class VerifyForm(forms.Form):
    licence = forms.UUIDField(label=_("Licence id"), required=False)
    hash = forms.RegexField(
        label=_("Contract SHA-256"), regex=r"^[0-9a-fA-F]{64}$", required=False, max_length=64
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("licence")) == bool(data.get("hash")):
            raise forms.ValidationError(_("Give either a licence id or a contract hash."))
        return data


def verify_page(request: HttpRequest) -> HttpResponse:
    result = None
    form = VerifyForm(request.GET or None)
    if form.is_valid():
        result = verification.verify(
            licence_id=str(form.cleaned_data["licence"])
            if form.cleaned_data.get("licence")
            else None,
            content_hash=form.cleaned_data.get("hash") or None,
        )
    return render(request, "licensing/verify.html", {"form": form, "result": result})


def _organisation(request: HttpRequest) -> Organisation | None:
    user = request.user
    assert isinstance(user, User)  # login_required pages only
    org_id = request.session.get("organisation_id")
    memberships = Membership.objects.filter(user_id=user.pk).select_related("organisation")
    if org_id:
        memberships = memberships.filter(organisation_id=org_id)
    membership = memberships.order_by("created_at").first()
    return membership.organisation if membership else None


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@login_required
def contract_page(request: HttpRequest, contract_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    organisation = _organisation(request)
    contract = selectors.get_contract(user, organisation, contract_id)
    if request.method == "POST":
        if not request.POST.get("agree"):
            messages.error(request, _("Confirm that you have read the contract."))
        elif organisation is None:
            raise PermissionDenied("You do not act for any organisation.")
        else:
            try:
                services.sign_contract(
                    contract=contract,
                    actor=user,
                    organisation=organisation,
                    signed_hash=request.POST.get("hash", ""),
                    ip=_client_ip(request),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    method=ContractSignature.Method.BROWSER,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(request, _("Contract signed."))
                return redirect("licensing-contract-page", contract_id=contract.pk)
    signatures = list(contract.signatures.all())
    can_sign = (
        organisation is not None
        and organisation.pk == contract.buyer_id
        and contract.status == contract.Status.AWAITING_SIGNATURE
        and not any(s.party == "buyer" for s in signatures)
    )
    return render(
        request,
        "licensing/contract.html",
        {
            "contract": contract,
            "signatures": signatures,
            "can_sign": can_sign,
            "integrity_ok": contract.integrity_ok(),
        },
    )


@login_required
def contract_pdf(request: HttpRequest, contract_id: int) -> HttpResponse:
    from licensing.api import contract_pdf_response

    user = request.user
    assert isinstance(user, User)
    contract = selectors.get_contract(user, _organisation(request), contract_id)
    return contract_pdf_response(contract)
