"""The wallet: balances, history, deposits through the payment provider (in the sandbox, the
simulated bank transfer is one button), withdrawals."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exchange.ledger import funding
from exchange.ledger import selectors as ledger_selectors
from exchange.ledger.models import Deposit
from exchange.ledger.payments import CallbackRejected, get_provider
from exchange.participants.services import membership_of
from exchange.portal import forms
from exchange.portal.context import current_user, require_organisation


def _page(request: HttpRequest, **extra: object) -> HttpResponse:
    organisation = require_organisation(request)
    context = {
        "organisation": organisation,
        "wallet": ledger_selectors.wallet_of(organisation),
        "postings": list(ledger_selectors.postings_of(organisation)[:50]),
        "deposits": list(ledger_selectors.deposits_of(organisation)[:10]),
        "withdrawals": list(ledger_selectors.withdrawals_of(organisation)[:10]),
        "deposit_form": forms.AmountForm(prefix="deposit"),
        "withdraw_form": forms.AmountForm(prefix="withdraw"),
        "sandbox": _is_sandbox(),
    }
    context.update(extra)
    return render(request, "portal/wallet.html", context)


def _is_sandbox() -> bool:
    try:
        return bool(get_provider().is_sandbox)
    except Exception:
        return False


@login_required
def wallet(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def deposit(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request)
    form = forms.AmountForm(request.POST, prefix="deposit")
    if form.is_valid():
        try:
            record, _instructions = funding.start_deposit(
                actor=current_user(request), organisation=organisation, amount_fen=form.amount_fen()
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("portal:wallet-deposit", deposit_id=record.pk)
    return _page(request, deposit_form=form)


def _own_deposit(request: HttpRequest, deposit_id: int) -> Deposit:
    organisation = require_organisation(request)
    found = ledger_selectors.deposits_of(organisation).filter(pk=deposit_id).first()
    if found is None:
        raise Http404("No such deposit.")
    return found


@login_required
def deposit_detail(request: HttpRequest, deposit_id: int) -> HttpResponse:
    record = _own_deposit(request, deposit_id)
    provider = get_provider()
    instructions = provider.deposit_instructions(record) if record.status == "pending" else None
    return render(
        request,
        "portal/deposit.html",
        {"deposit": record, "instructions": instructions, "sandbox": provider.is_sandbox},
    )


@login_required
@require_POST
def deposit_simulate(request: HttpRequest, deposit_id: int) -> HttpResponse:
    """SANDBOX only: play the bank's signed callback through the same verification and
    settlement as the real callback endpoint."""
    record = _own_deposit(request, deposit_id)
    provider = get_provider()
    if not provider.is_sandbox or (
        getattr(settings, "PRODUCTION", False)
        and not getattr(settings, "PAYMENT_SANDBOX_ALLOWED", False)
    ):
        raise PermissionDenied("Only the sandbox provider simulates transfers.")
    instructions = provider.deposit_instructions(record)
    callback = instructions.sandbox_callback or {}
    try:
        event = provider.verify_callback(
            str(callback.get("body", "")).encode(), dict(callback.get("headers") or {})
        )
        funding.apply_payment_event(provider.name, event)
    except CallbackRejected as exc:
        messages.error(request, str(exc))
        return redirect("portal:wallet-deposit", deposit_id=record.pk)
    messages.success(request, _("Sandbox transfer received: your wallet is credited."))
    return redirect("portal:wallet")


@login_required
@require_POST
def withdraw(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request)
    form = forms.AmountForm(request.POST, prefix="withdraw")
    member = membership_of(current_user(request), organisation)
    if member is None or not member.can_manage:
        # As over the API: money leaves the organisation only on an owner's or admin's word.
        form.add_error(None, _("Only an owner or admin of the organisation may withdraw money."))
    elif form.is_valid():
        try:
            funding.request_withdrawal(
                actor=current_user(request), organisation=organisation, amount_fen=form.amount_fen()
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Withdrawal requested: the payout is under way."))
            return redirect("portal:wallet")
    return _page(request, withdraw_form=form)
