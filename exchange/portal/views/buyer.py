"""The buyer's workspace: ordering a plan, the order page (review and sign the contract, fund
from the wallet, download, accept or dispute within the window), licences."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exchange.ledger.selectors import wallet_of
from exchange.portal import forms
from exchange.portal.context import acting_organisation, current_user, require_organisation
from exchange.trading import selectors as trading_selectors
from exchange.trading import services as trading
from exchange.trading.models import Order
from licensing import selectors as licensing_selectors


@login_required
@require_POST
def order_create(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request, buy=True)
    user = current_user(request)
    try:
        plan_id = int(request.POST.get("plan", ""))
    except ValueError:
        raise Http404("No such price plan.") from None
    plan = trading_selectors.orderable_plan(user, organisation, plan_id)
    try:
        order = trading.create_order(actor=user, buyer=organisation, price_plan=plan)
    except (ValidationError, PermissionDenied) as exc:
        for message in getattr(exc, "messages", [str(exc)]):
            messages.error(request, message)
        return redirect("portal:listing", listing_id=plan.listing_id)
    messages.success(request, _("Order created: review and sign the contract."))
    return redirect("portal:buyer-order", order_id=order.pk)


@login_required
def orders(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request, buy=True)
    rows = trading_selectors.orders_visible_to(
        current_user(request), organisation, filters={"role": "buyer"}
    ).select_related("listing", "seller")
    return render(request, "portal/buyer/orders.html", {"orders": rows})


def _order_context(request: HttpRequest, order: Any, **extra: Any) -> dict[str, Any]:
    organisation = acting_organisation(request)
    contract = order.contract
    lang = "zh" if (get_language() or "zh").startswith("zh") else "en"
    now = timezone.now()
    links = []
    if order.status in (Order.Status.DELIVERED, Order.Status.ACCEPTED, Order.Status.SETTLED):
        links = list(trading_selectors.download_links_of(order).order_by("-issued_at")[:10])
    wallet = wallet_of(organisation) if organisation else None
    window_open = bool(
        order.status == Order.Status.DELIVERED and order.accept_by and now < order.accept_by
    )
    context = {
        "order": order,
        "contract": contract,
        "contract_text": contract.text_zh if lang == "zh" else contract.text_en,
        "licence": order.licence,
        "wallet": wallet,
        "short_fen": max(0, order.amount_fen - wallet.available_fen) if wallet else 0,
        "sign_form": forms.SignForm(initial={"hash": contract.content_hash}),
        "dispute_form": forms.DisputeForm(),
        "past_links": links,
        "window_open": window_open,
        "can_dispute": order.status == Order.Status.FUNDED or window_open,
        "accept_by_iso": order.accept_by.isoformat() if order.accept_by else "",
        "dispute": getattr(order, "dispute", None) if hasattr(order, "dispute") else None,
    }
    context.update(extra)
    return context


def _buyer_order(request: HttpRequest, order_id: int) -> Any:
    organisation = require_organisation(request, buy=True)
    order = trading_selectors.get_order(current_user(request), organisation, order_id)
    if order.buyer_id != organisation.pk:
        raise Http404("No such order.")
    return order


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _buyer_order(request, order_id)
    return render(request, "portal/buyer/order.html", _order_context(request, order))


@login_required
@require_POST
def order_sign(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _buyer_order(request, order_id)
    form = forms.SignForm(request.POST)
    if form.is_valid():
        try:
            trading.sign_order(
                actor=current_user(request),
                organisation=require_organisation(request, buy=True),
                order=order,
                signed_hash=form.cleaned_data["hash"],
                ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                forms.add_service_errors(form, exc)
            else:
                form.add_error(None, str(exc))
        else:
            messages.success(request, _("Contract signed. Fund the order from your wallet."))
            return redirect("portal:buyer-order", order_id=order.pk)
    return render(
        request, "portal/buyer/order.html", _order_context(request, order, sign_form=form)
    )


def _act(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    order = _buyer_order(request, order_id)
    organisation = require_organisation(request, buy=True)
    user = current_user(request)
    done = {
        "fund": _("Order funded: the money is held in escrow and your licence is active."),
        "accept": _("Delivery accepted: the seller is paid."),
        "cancel": _("Order cancelled."),
    }
    try:
        if action == "fund":
            trading.fund_order(actor=user, organisation=organisation, order=order)
        elif action == "accept":
            trading.accept_order(actor=user, organisation=organisation, order=order)
        elif action == "cancel":
            trading.cancel_order(actor=user, organisation=organisation, order=order)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done[action])
    return redirect("portal:buyer-order", order_id=order.pk)


@login_required
@require_POST
def order_fund(request: HttpRequest, order_id: int) -> HttpResponse:
    return _act(request, order_id, "fund")


@login_required
@require_POST
def order_accept(request: HttpRequest, order_id: int) -> HttpResponse:
    return _act(request, order_id, "accept")


@login_required
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    return _act(request, order_id, "cancel")


@login_required
@require_POST
def order_links(request: HttpRequest, order_id: int) -> HttpResponse:
    """Fresh short-lived links, shown once on the page (they are never stored in the page)."""
    order = _buyer_order(request, order_id)
    try:
        issued = trading.issue_download_links(
            actor=current_user(request),
            organisation=require_organisation(request, buy=True),
            order=order,
        ).links
    except (ValidationError, PermissionDenied) as exc:
        for message in getattr(exc, "messages", [str(exc)]):
            messages.error(request, message)
        return redirect("portal:buyer-order", order_id=order.pk)
    order.refresh_from_db()
    return render(
        request,
        "portal/buyer/order.html",
        _order_context(request, order, issued=issued, link_ttl=trading.link_ttl()),
    )


@login_required
@require_POST
def order_dispute(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _buyer_order(request, order_id)
    form = forms.DisputeForm(request.POST)
    if form.is_valid():
        try:
            trading.open_dispute(
                actor=current_user(request),
                organisation=require_organisation(request, buy=True),
                order=order,
                reason=form.cleaned_data["reason"],
                evidence=form.evidence_items(),
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Dispute opened: the escrow stays held until it is decided.")
            )
            return redirect("portal:buyer-order", order_id=order.pk)
    return render(
        request, "portal/buyer/order.html", _order_context(request, order, dispute_form=form)
    )


@login_required
def licences(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request)
    rows = (
        licensing_selectors.licences_visible_to(current_user(request), organisation)
        .select_related("contract")
        .order_by("-issued_at")
    )
    return render(request, "portal/buyer/licences.html", {"licences": rows})
