"""Console pages beyond the model lists: dashboard, review queue, object actions, audit chain
verification and CSV exports. Wired by ConsoleSite.get_urls behind admin_view (staff login)."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from exchange.audit.services import record
from exchange.audit.verify import VerifyResult, verify_chain
from exchange.console import charts, exports, stats
from exchange.console.actions import ACTIONS
from exchange.console.forms import DashboardPeriodForm, PeriodForm, ReviewForm
from exchange.console.roles import role_of
from exchange.participants.models import User
from licensing.models import Offer
from listings.models import ListingVersion
from listings.selectors import review_queue


def _require_staff(request: HttpRequest) -> None:
    if not role_of(request).platform_staff:
        raise PermissionDenied(_("Only regulators and platform operators use the console."))


def _context(
    site: AdminSite, request: HttpRequest, title: str | Promise, **extra: Any
) -> dict[str, Any]:
    return {**site.each_context(request), "title": title, **extra}


def _errors_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# --- dashboard -----------------------------------------------------------------------------------


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    form = DashboardPeriodForm(request.GET or None, initial=PeriodForm.default_initial())
    start = end = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    figures = stats.dashboard(start, end)
    return {
        "dash": figures,
        "period_form": form,
        "chart_trades": charts.bar_chart(
            [(d.day.strftime("%m-%d"), d.trades) for d in figures.per_day],
            label=_("Trades per day"),
        ),
        "chart_value": charts.bar_chart(
            [(d.day.strftime("%m-%d"), d.value_fen) for d in figures.per_day],
            label=_("Value per day (CNY)"),
            fmt=charts.yuan,
        ),
        "chart_category": charts.bar_chart(
            [(c.label, c.value_fen) for c in figures.per_category],
            label=_("Value per category (CNY)"),
            fmt=charts.yuan,
        ),
        "total_value_yuan": charts.yuan(figures.total_value_fen),
    }


# --- review queue --------------------------------------------------------------------------------


def review_list(site: AdminSite, request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    versions = list(review_queue()[:200])
    return TemplateResponse(
        request,
        "console/review_queue.html",
        _context(site, request, _("Review queue"), versions=versions),
    )


def _offers_of(version: ListingVersion) -> list[Offer]:
    return list(
        Offer.objects.filter(price_plan__listing_id=version.listing_id, status="active")
        .select_related("price_plan", "template")
        .order_by("price_plan__price_fen", "id")
    )


def review_detail(site: AdminSite, request: HttpRequest, version_id: int) -> HttpResponse:
    """A submitted version's cleaning report, anonymised sample, Table Schema and licence offer
    side by side. Only pipeline outputs are shown: nothing from the upload or its raw file."""
    _require_staff(request)
    version = get_object_or_404(
        ListingVersion.objects.select_related("listing", "listing__seller"), pk=version_id
    )
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from listings.services import approve_version, reject_version

        decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
        actor = request.user
        assert isinstance(actor, User)  # admin_view let only staff in
        try:
            if decision == "approve":
                approve_version(actor=actor, version=version, reason=reason)
            else:
                reject_version(actor=actor, version=version, reason=reason)
        except ValidationError as exc:
            for message in _errors_of(exc):
                form.add_error(None, message)
        else:
            if decision == "approve":
                done = _("Version %(version)s approved.") % {"version": version}
            else:
                done = _("Version %(version)s rejected.") % {"version": version}
            messages.success(request, done)
            return redirect("admin:console_review_queue")
    report = version.cleaning_report or {}
    sample = version.sample_rows if isinstance(version.sample_rows, list) else []
    schema = version.table_schema or {}
    fields = [f for f in schema.get("fields", []) if isinstance(f, dict)]
    header = [str(f.get("name", "")) for f in fields] or (
        list(sample[0].keys()) if sample and isinstance(sample[0], dict) else []
    )
    rows = [[r.get(h, "") for h in header] for r in sample if isinstance(r, dict)]
    return TemplateResponse(
        request,
        "console/review_detail.html",
        _context(
            site,
            request,
            _("Review: %(version)s") % {"version": version},
            version=version,
            form=form,
            report=report,
            report_columns=report.get("columns") or [],
            free_text_findings=sorted((report.get("free_text_findings") or {}).items()),
            k_anonymity=report.get("k_anonymity") or [],
            sample_header=header,
            sample_rows=rows,
            schema_fields=fields,
            schema_json=json.dumps(schema, ensure_ascii=False, indent=2),
            offers=[
                {
                    "offer": o,
                    "plan": o.price_plan,
                    "price": charts.yuan(o.price_plan.price_fen),
                    "allowed_json": json.dumps(o.allowed, ensure_ascii=False, indent=2),
                    "policy_json": json.dumps(o.policy, ensure_ascii=False, indent=2),
                }
                for o in _offers_of(version)
            ],
            reviewable=version.status == ListingVersion.Status.SUBMITTED,
        ),
        status=400 if form.is_bound and form.errors else 200,
    )


# --- object actions (verify, freeze, revoke, resolve...) -----------------------------------------


def object_action(site: AdminSite, request: HttpRequest, key: str, pk: str) -> HttpResponse:
    _require_staff(request)
    action = ACTIONS.get(key)
    if action is None:
        raise Http404(_("No such action."))
    if not action.allowed(role_of(request)):
        raise PermissionDenied(_("Your role may not do this."))
    model = apps.get_model(action.model)
    obj = get_object_or_404(model, pk=pk)
    opts = model._meta
    back = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    if not action.available(obj):
        messages.warning(
            request,
            _("“%(action)s” does not apply to this object any more.") % {"action": action.label},
        )
        return redirect(back)
    # Console forms take reason_required (ReasonForm uses it, the dispute form ignores it).
    form = action.form_class(
        request.POST or None,
        reason_required=action.reason_required,  # type: ignore[call-arg]
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                done = action.perform(request.user, obj, form.cleaned_data)
            except ValidationError as exc:
                for message in _errors_of(exc):
                    form.add_error(None, message)
            else:
                messages.success(request, done)
                return redirect(back)
        status = 400
    return TemplateResponse(
        request,
        "console/object_action.html",
        _context(
            site,
            request,
            action.label,
            action=action,
            obj=obj,
            opts=opts,
            form=form,
            back=back,
            amount_yuan=charts.yuan(obj.order.amount_fen) if key == "dispute-resolve" else "",
        ),
        status=status,
    )


# --- audit chain ---------------------------------------------------------------------------------

# The verifier's reasons (exchange.audit.verify), in the regulator's language. An unknown reason
# is shown as the verifier wrote it.
_VERIFY_REASONS = {
    "its previous-hash does not match the entry before it "
    "(an entry was deleted, inserted or reordered)": gettext_lazy(
        "its previous-hash does not match the entry before it "
        "(an entry was deleted, inserted or reordered)"
    ),
    "its content does not match its hash": gettext_lazy("its content does not match its hash"),
}


def describe_verification(result: VerifyResult) -> str:
    """VerifyResult.describe() in the active language (the CLI keeps the English original)."""
    if result.ok:
        return ngettext(
            "OK: %(count)d audit entry, chain intact",
            "OK: %(count)d audit entries, chain intact",
            result.count,
        ) % {"count": result.count}
    return ngettext(
        "BROKEN at entry #%(id)s: %(reason)s (%(count)d entry checked)",
        "BROKEN at entry #%(id)s: %(reason)s (%(count)d entries checked)",
        result.count,
    ) % {
        "id": result.broken_id,
        "reason": _VERIFY_REASONS.get(result.reason, result.reason),
        "count": result.count,
    }


def audit_verify(site: AdminSite, request: HttpRequest) -> HttpResponse:
    """GET shows the button; POST walks the chain, shows the result and records that it ran."""
    _require_staff(request)
    result = None
    if request.method == "POST":
        result = verify_chain()
        with transaction.atomic():
            record(
                "audit.chain_verified",
                ("audit.chain", "all"),
                actor=request.user,
                changes={"ok": result.ok, "count": result.count, "broken_id": result.broken_id},
            )
    return TemplateResponse(
        request,
        "console/audit_verify.html",
        _context(
            site,
            request,
            _("Verify the audit chain"),
            result=result,
            result_text=describe_verification(result) if result else "",
        ),
    )


# --- exports -------------------------------------------------------------------------------------


def exports_page(site: AdminSite, request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    form = PeriodForm(initial=PeriodForm.default_initial())
    return TemplateResponse(
        request, "console/exports.html", _context(site, request, _("CSV exports"), form=form)
    )


def export_csv(
    site: AdminSite, request: HttpRequest, kind: str
) -> HttpResponse | StreamingHttpResponse:
    _require_staff(request)
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return TemplateResponse(
            request,
            "console/exports.html",
            _context(site, request, _("CSV exports"), form=form),
            status=400,
        )
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if kind == "trades":
        header, rows = exports.TRADE_COLUMNS, exports.trade_rows(start, end)
    elif kind == "audit":
        header, rows = exports.AUDIT_COLUMNS, exports.audit_rows(start, end)
    else:
        raise Http404(_("No such export."))
    with transaction.atomic():
        record(
            "console.exported",
            ("console.export", kind),
            actor=request.user,
            changes={"kind": kind, "start": start.isoformat(), "end": end.isoformat()},
        )
    response = StreamingHttpResponse(
        exports.csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}-{start}-{end}.csv"'
    return response
