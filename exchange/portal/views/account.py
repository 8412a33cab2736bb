"""The organisation a user acts for (register one, switch between them), API keys, webhooks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from exchange.participants import selectors as participant_selectors
from exchange.participants import services as participants
from exchange.participants.models import Organisation
from exchange.portal import forms
from exchange.portal.context import (
    SESSION_KEY,
    acting_organisation,
    current_user,
    memberships_of,
    require_organisation,
)
from exchange.trading import selectors as trading_selectors
from exchange.trading import services as trading
from exchange.trading.models import WebhookEndpoint

MANAGERS_ONLY = gettext_lazy("Only an owner or admin of the organisation may do this.")


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


def _can_manage(request: HttpRequest, organisation: Organisation) -> bool:
    member = participants.membership_of(current_user(request), organisation)
    return member is not None and member.can_manage


@never_cache
@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """Keys for automated trading. The secret is in the response that creates it and nowhere
    else (never_cache: not kept by the browser or a proxy); afterwards only its prefix shows."""
    organisation = require_organisation(request)
    user = current_user(request)
    can_manage = _can_manage(request, organisation)
    form = forms.ApiKeyForm(request.POST or None)
    token = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = participants.create_api_key(
                actor=user,
                organisation=organisation,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, MANAGERS_ONLY)
        else:
            token = issued.token  # shown once, never stored in clear
            form = forms.ApiKeyForm()
    keys = participant_selectors.api_keys_of(organisation).order_by("-created_at")
    return render(
        request,
        "portal/api_keys.html",
        {
            "form": form,
            "keys": keys,
            "token": token,
            "can_manage": can_manage,
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    organisation = require_organisation(request)
    key = participant_selectors.api_keys_of(organisation).filter(pk=key_id).first()
    if key is None:
        raise Http404("No such key.")
    try:
        participants.revoke_api_key(actor=current_user(request), key=key, reason="portal")
    except PermissionDenied:
        messages.error(request, MANAGERS_ONLY)
    else:
        messages.success(request, _("Revoked") + f": {key.name} ({key.prefix}…)")
    return redirect("portal:api-keys")


@never_cache
@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request)
    user = current_user(request)
    can_manage = _can_manage(request, organisation)
    form = forms.WebhookForm(request.POST or None)
    secret = None
    if request.method == "POST" and not can_manage:
        form.add_error(None, MANAGERS_ONLY)
    elif request.method == "POST" and form.is_valid():
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
            secret = endpoint.signing_secret()  # shown once so the receiver can check signatures
            form = forms.WebhookForm()
    endpoints = list(trading_selectors.endpoints_of(organisation).order_by("-created_at"))
    for endpoint in endpoints:
        # The delivery log: the latest deliveries of each endpoint with their attempts.
        endpoint.recent_deliveries = list(  # type: ignore[attr-defined]
            trading_selectors.deliveries_of(endpoint).order_by("-created_at")[:10]
        )
    return render(
        request,
        "portal/webhooks.html",
        {"form": form, "endpoints": endpoints, "secret": secret, "can_manage": can_manage},
    )


def _own_endpoint(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    organisation = require_organisation(request)
    endpoint = trading_selectors.endpoints_of(organisation).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such endpoint.")
    return endpoint


@login_required
@require_POST
def webhook_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Pause or resume an endpoint: a paused endpoint is sent nothing."""
    endpoint = _own_endpoint(request, endpoint_id)
    try:
        trading.update_webhook_endpoint(
            actor=current_user(request), endpoint=endpoint, active=not endpoint.active
        )
    except PermissionDenied:
        messages.error(request, MANAGERS_ONLY)
    return redirect("portal:webhooks")


@login_required
@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _own_endpoint(request, endpoint_id)
    try:
        trading.delete_webhook_endpoint(actor=current_user(request), endpoint=endpoint)
    except PermissionDenied:
        messages.error(request, MANAGERS_ONLY)
    return redirect("portal:webhooks")
