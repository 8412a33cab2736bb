"""The organisation a user acts for (register one, switch between them), API keys, webhooks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exchange.participants import services as participants
from exchange.participants.models import ApiKey
from exchange.portal import forms
from exchange.portal.context import (
    SESSION_KEY,
    acting_organisation,
    current_user,
    memberships_of,
    require_organisation,
)


@login_required
def organisation(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = forms.OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = participants.register_organisation(user=user, **form.cleaned_data)
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            request.session[SESSION_KEY] = org.pk
            messages.success(request, _("Organisation registered; verification is pending."))
            return redirect("portal:seller-dashboard" if org.can_sell else "portal:buyer-orders")
    return render(
        request,
        "portal/organisation.html",
        {
            "form": form,
            "memberships": memberships_of(user),
            "current": acting_organisation(request),
        },
    )


@login_required
@require_POST
def switch_organisation(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    wanted = request.POST.get("organisation", "")
    for membership in memberships_of(user):
        if str(membership.organisation_id) == wanted:
            request.session[SESSION_KEY] = membership.organisation_id
            break
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    return redirect(target)


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request)
    user = current_user(request)
    form = forms.ApiKeyForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = participants.create_api_key(
                actor=user,
                organisation=organisation,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            token = issued.token  # shown once, never stored in clear
            form = forms.ApiKeyForm()
    keys = ApiKey.objects.filter(organisation=organisation).order_by("-created_at")
    return render(request, "portal/api_keys.html", {"form": form, "keys": keys, "token": token})


@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    from exchange.trading import selectors as trading_selectors
    from exchange.trading import services as trading

    organisation = require_organisation(request)
    user = current_user(request)
    form = forms.WebhookForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = trading.create_webhook_endpoint(
                actor=user,
                organisation=organisation,
                url=form.cleaned_data["url"],
                events=form.event_list(),
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            secret = endpoint.secret  # shown once so the receiver can check signatures
            form = forms.WebhookForm()
    endpoints = trading_selectors.endpoints_of(organisation).order_by("-created_at")
    return render(
        request,
        "portal/webhooks.html",
        {"form": form, "endpoints": endpoints, "secret": secret},
    )
