"""The seller's workspace: dashboard, listings, price plans with licence offers, versions,
uploads with live progress, cleaning reports, review submission, sales and disputes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from exchange.portal import forms
from exchange.portal.context import current_user, require_organisation, viewer_of
from exchange.portal.views.public import report_summary
from licensing import services as licensing
from listings import selectors, services
from listings.models import Listing, ListingVersion
from listings.pipeline import services as pipeline
from listings.pipeline.models import Upload

STAGES = ["upload", "validate", "profile", "anonymise", "publish", "done"]


def _own_listing(request: HttpRequest, listing_id: int) -> Listing:
    organisation = require_organisation(request, sell=True)
    listing = Listing.objects.filter(pk=listing_id, seller=organisation).first()
    if listing is None:
        raise Http404("No such listing.")
    return listing


def _own_version(request: HttpRequest, version_id: int) -> ListingVersion:
    organisation = require_organisation(request, sell=True)
    version = (
        ListingVersion.objects.select_related("listing")
        .filter(pk=version_id, listing__seller=organisation)
        .first()
    )
    if version is None:
        raise Http404("No such version.")
    return version


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    listings = list(
        selectors.own_listings(viewer_of(request))
        .select_related("latest_version")
        .order_by("status", "-updated_at")
    )
    by_status: dict[str, list[Listing]] = {}
    for listing in listings:
        by_status.setdefault(listing.get_status_display(), []).append(listing)
    sales, earnings = _sales_and_earnings(organisation)
    pending_review = ListingVersion.objects.filter(
        listing__seller=organisation, status=ListingVersion.Status.SUBMITTED
    ).count()
    return render(
        request,
        "portal/seller/dashboard.html",
        {
            "organisation": organisation,
            "by_status": sorted(by_status.items()),
            "listing_count": len(listings),
            "sales": sales[:10],
            "earnings": earnings,
            "pending_review": pending_review,
        },
    )


def _sales_and_earnings(organisation: Any) -> tuple[list[Any], dict[str, Any]]:
    """Orders sold, and the seller's settled receipts per day over the last 30 days, as bars
    for a small server-drawn SVG chart (no script needed to read it)."""
    try:
        from exchange.trading.models import Order
    except ImportError:  # pragma: no cover - trading is installed in the project
        return [], {"bars": [], "total_fen": 0}
    sales = list(
        Order.objects.filter(seller=organisation).select_related("listing", "buyer").order_by("-id")
    )
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(29, -1, -1)]
    per_day = {d: 0 for d in days}
    total = 0
    for order in sales:
        if order.settled_at and order.seller_received_fen:
            total += order.seller_received_fen
            day = timezone.localtime(order.settled_at).date()
            if day in per_day:
                per_day[day] += order.seller_received_fen
    peak = max(per_day.values()) or 1
    width = 20
    bars = [
        {
            "x": i * width,
            "height": round(150 * amount / peak),
            "y": 160 - round(150 * amount / peak),
            "day": day.isoformat(),
            "fen": amount,
        }
        for i, (day, amount) in enumerate(per_day.items())
    ]
    return sales, {"bars": bars, "total_fen": total, "width": width * len(bars), "bar": width - 4}


@login_required
def listing_create(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    form = forms.ListingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            listing = services.create_listing(
                actor=current_user(request), organisation=organisation, **form.cleaned_data
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(request, _("Listing created. Add a price plan and upload a version."))
            return redirect("portal:seller-listing", listing_id=listing.pk)
    return render(request, "portal/seller/listing_form.html", {"form": form, "listing": None})


@login_required
def listing_edit(request: HttpRequest, listing_id: int) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    listing = _own_listing(request, listing_id)
    form = forms.ListingForm(request.POST or None, initial=forms.ListingForm.initial_from(listing))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_listing(
                actor=current_user(request),
                organisation=organisation,
                listing=listing,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(request, _("Listing saved."))
            return redirect("portal:seller-listing", listing_id=listing.pk)
    return render(request, "portal/seller/listing_form.html", {"form": form, "listing": listing})


@login_required
def listing_manage(request: HttpRequest, listing_id: int) -> HttpResponse:
    listing = _own_listing(request, listing_id)
    plan_form = forms.PricePlanForm(listing=listing)
    return _manage_page(request, listing, plan_form)


def _manage_page(
    request: HttpRequest, listing: Listing, plan_form: forms.PricePlanForm
) -> HttpResponse:
    from licensing.selectors import active_offer

    versions = list(listing.versions.order_by("-number").prefetch_related("uploads"))
    plans = [
        {"plan": p, "offer": active_offer(p)}
        for p in listing.price_plans.order_by("-active", "price_fen")
    ]
    return render(
        request,
        "portal/seller/listing_manage.html",
        {
            "listing": listing,
            "versions": versions,
            "plans": plans,
            "plan_form": plan_form,
            "version_form": forms.VersionForm(),
            "can_add_version": listing.status not in ("retired", "suspended")
            and not any(
                v.status == ListingVersion.Status.DRAFT
                and v.pipeline_status != ListingVersion.PipelineStatus.PUBLISHED
                for v in versions
            ),
        },
    )


@login_required
@require_POST
def plan_create(request: HttpRequest, listing_id: int) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    listing = _own_listing(request, listing_id)
    form = forms.PricePlanForm(request.POST, listing=listing)
    if form.is_valid():
        data = form.cleaned_data
        user = current_user(request)
        try:
            with transaction.atomic():
                plan = services.create_price_plan(
                    actor=user,
                    organisation=organisation,
                    listing=listing,
                    kind=data["kind"],
                    price_fen=forms.yuan_to_fen(data["price_yuan"]),
                    term_months=data.get("term_months") or None,
                    acceptance_window_hours=data["acceptance_window_hours"],
                    name=data.get("name") or "",
                )
                # The plan is offered under the chosen licence template at its defaults: the
                # seller accepts every contract generated from this offer.
                licensing.create_offer(
                    actor=user,
                    price_plan=plan,
                    template=data["template"],
                    allowed={},
                    ip=request.META.get("REMOTE_ADDR"),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(request, _("Price plan added and offered under the licence."))
            return redirect("portal:seller-listing", listing_id=listing.pk)
    return _manage_page(request, listing, form)


@login_required
@require_POST
def version_create(request: HttpRequest, listing_id: int) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    listing = _own_listing(request, listing_id)
    form = forms.VersionForm(request.POST)
    form.is_valid()
    try:
        version = services.create_version(
            actor=current_user(request),
            organisation=organisation,
            listing=listing,
            release_notes=form.cleaned_data.get("release_notes", ""),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("portal:seller-listing", listing_id=listing.pk)
    policy = request.POST.get("policy")
    if policy:
        request.session[f"policy_{version.pk}"] = policy[:20000]
    return redirect("portal:seller-version", version_id=version.pk)


def upload_labels() -> dict[str, Any]:
    """The upload script's words, translated here so the script itself holds none."""
    return {
        "bytes": _("%(sent)s of %(total)s uploaded"),
        "failed": _("Processing failed."),
        "transfer_failed": _("The transfer failed"),
        "statuses": {
            "awaiting_upload": _("Uploading…"),
            "uploaded": _("Uploaded, waiting for the pipeline"),
            "processing": _("Processing"),
            "published": _("Published"),
            "rejected": _("Rejected"),
            "failed": _("Failed"),
        },
        "stages": {
            "upload": _("Upload"),
            "validate": _("Validate"),
            "profile": _("Profile"),
            "anonymise": _("Anonymise"),
            "publish": _("Publish"),
            "done": _("Done"),
        },
    }


def _upload_state(upload: Upload | None) -> dict[str, Any] | None:
    if upload is None:
        return None
    return {
        "id": str(upload.pk),
        "display_name": upload.display_name,
        "status": upload.status,
        "stage": upload.stage,
        "progress": upload.progress,
        "chunks_total": upload.chunks_total,
        "declared_size": upload.declared_size,
        "size": upload.size,
        "error_code": upload.error_code,
        "error_reason": upload.error_reason,
        "finished": upload.is_finished,
    }


@login_required
def version_page(request: HttpRequest, version_id: int) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    version = _own_version(request, version_id)
    upload = version.uploads.order_by("-created_at").first()
    upload_form = forms.UploadForm(
        request.POST or None,
        request.FILES or None,
        initial={"policy": request.session.get(f"policy_{version.pk}", "")},
    )
    if request.method == "POST" and upload_form.is_valid():
        # The no-script path: the file came through the web tier (small files only).
        file = upload_form.cleaned_data["file"]
        try:
            pipeline.receive_small_upload(
                actor=current_user(request),
                organisation=organisation,
                version=version,
                filename=file.name,
                fileobj=file,
                size=file.size,
                policy=upload_form.cleaned_data.get("policy"),
            )
        except ValidationError as exc:
            forms.add_service_errors(upload_form, exc)
        else:
            messages.success(request, _("File received: the pipeline is processing it."))
            return redirect("portal:seller-version", version_id=version.pk)
    report = version.cleaning_report or (upload.report if upload else None) or {}
    summary = report_summary(report)
    policy_form = forms.ColumnPolicyForm(columns=summary["columns"]) if summary["columns"] else None
    busy = bool(upload and upload.status in (Upload.Status.UPLOADED, Upload.Status.PROCESSING))
    return render(
        request,
        "portal/seller/version.html",
        {
            "listing": version.listing,
            "version": version,
            "upload": upload,
            "upload_state_json": json.dumps(_upload_state(upload)),
            "upload_form": upload_form,
            "can_upload": version.status == ListingVersion.Status.DRAFT
            and version.pipeline_status != ListingVersion.PipelineStatus.PUBLISHED
            and not busy,
            "busy": busy,
            "can_submit": version.pipeline_status == ListingVersion.PipelineStatus.PUBLISHED
            and version.status in (ListingVersion.Status.DRAFT, ListingVersion.Status.REJECTED),
            "summary": summary,
            "policy_form": policy_form,
            "stages": STAGES[1:-1],
            "upload_labels": upload_labels(),
            "files": list(version.files.all()),
        },
    )


def _json_error(exc: ValidationError | PermissionDenied, status: int = 400) -> JsonResponse:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        errors = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
        message = "; ".join(m for ms in errors.values() for m in ms)
    else:
        errors = {}
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    return JsonResponse({"message": message, "field_errors": errors}, status=status)


@login_required
@require_POST
def upload_start(request: HttpRequest, version_id: int) -> JsonResponse:
    """Register an upload and return where to send the bytes (presigned PUT or parts)."""
    organisation = require_organisation(request, sell=True)
    version = _own_version(request, version_id)
    try:
        body = json.loads(request.body or b"{}")
        size = int(body.get("size") or 0)
        filename = str(body.get("filename") or "")
        policy = forms.parse_policy(str(body.get("policy") or ""))
    except (ValueError, TypeError):
        return JsonResponse({"message": _("Malformed request.")}, status=400)
    except ValidationError as exc:
        return _json_error(ValidationError({"policy": exc.messages}))
    try:
        upload, instructions = pipeline.start_upload(
            actor=current_user(request),
            organisation=organisation,
            version=version,
            filename=filename,
            size=size,
            content_type=None,
            policy=policy,
        )
    except (ValidationError, PermissionDenied) as exc:
        return _json_error(exc, 400 if isinstance(exc, ValidationError) else 403)
    return JsonResponse(
        {
            "upload": _upload_state(upload),
            "method": instructions.method,
            "url": instructions.url,
            "part_size": instructions.part_size,
            "parts": instructions.parts,
        },
        status=201,
    )


def _own_upload(request: HttpRequest, upload_id: str) -> Upload:
    organisation = require_organisation(request, sell=True)
    return get_object_or_404(
        Upload.objects.select_related("version"), pk=upload_id, organisation=organisation
    )


@login_required
@require_POST
def upload_complete(request: HttpRequest, upload_id: str) -> JsonResponse:
    upload = _own_upload(request, upload_id)
    parts = None
    try:
        body = json.loads(request.body or b"{}")
        if body.get("parts"):
            parts = [(int(p["part_number"]), str(p["etag"])) for p in body["parts"]]
    except (ValueError, TypeError, KeyError):
        return JsonResponse({"message": _("Malformed request.")}, status=400)
    try:
        upload = pipeline.complete_upload(actor=current_user(request), upload=upload, parts=parts)
    except (ValidationError, PermissionDenied) as exc:
        return _json_error(exc, 400 if isinstance(exc, ValidationError) else 403)
    return JsonResponse({"upload": _upload_state(upload)})


@login_required
@require_GET
def upload_status(request: HttpRequest, upload_id: str) -> JsonResponse:
    upload = _own_upload(request, upload_id)
    response = JsonResponse({"upload": _upload_state(upload)})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def version_submit(request: HttpRequest, version_id: int) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    version = _own_version(request, version_id)
    try:
        services.submit_version(
            actor=current_user(request), organisation=organisation, version=version
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Submitted for review. A regulator or operator decides next."))
    return redirect("portal:seller-version", version_id=version.pk)


@login_required
@require_POST
def version_rerun(request: HttpRequest, version_id: int) -> HttpResponse:
    """Adjust the cleaning policy from the report and run the pipeline again: a published
    version is never changed, so the adjusted policy goes to a new draft version, whose upload
    page opens with the policy filled in."""
    organisation = require_organisation(request, sell=True)
    version = _own_version(request, version_id)
    report = version.cleaning_report or {}
    upload = version.uploads.order_by("-created_at").first()
    if not report and upload and upload.report:
        report = upload.report
    columns = report_summary(report)["columns"]
    form = forms.ColumnPolicyForm(request.POST, columns=columns)
    if not form.is_valid():
        messages.error(request, _("The policy could not be read."))
        return redirect("portal:seller-version", version_id=version.pk)
    policy = json.dumps(form.policy(), ensure_ascii=False)
    target = version
    if version.pipeline_status == ListingVersion.PipelineStatus.PUBLISHED:
        try:
            target = services.create_version(
                actor=current_user(request),
                organisation=organisation,
                listing=version.listing,
                release_notes=_("Re-run with an adjusted cleaning policy."),
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("portal:seller-version", version_id=version.pk)
    request.session[f"policy_{target.pk}"] = policy
    messages.info(request, _("Policy adjusted: upload the file again to run the pipeline with it."))
    return redirect("portal:seller-version", version_id=target.pk)


# --- sales and disputes ------------------------------------------------------------------------


@login_required
def sales(request: HttpRequest) -> HttpResponse:
    organisation = require_organisation(request, sell=True)
    orders, _earnings = _sales_and_earnings(organisation)
    return render(request, "portal/seller/sales.html", {"orders": orders})


@login_required
def dispute_respond(request: HttpRequest, order_id: int) -> HttpResponse:
    from exchange.trading import selectors as trading_selectors
    from exchange.trading import services as trading

    organisation = require_organisation(request, sell=True)
    user = current_user(request)
    order = trading_selectors.get_order(user, organisation, order_id)
    if order.seller_id != organisation.pk:
        raise Http404("No such order.")
    dispute = getattr(order, "dispute", None)
    if dispute is None:
        raise Http404("No dispute on this order.")
    form = forms.DisputeResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            trading.respond_to_dispute(
                actor=user,
                organisation=organisation,
                dispute=dispute,
                response=form.cleaned_data["reason"],
                evidence=form.evidence_items(),
            )
        except ValidationError as exc:
            forms.add_service_errors(form, exc)
        else:
            messages.success(request, _("Your response was sent to the reviewers."))
            return redirect("portal:seller-dispute", order_id=order.pk)
    return render(
        request,
        "portal/seller/dispute.html",
        {"order": order, "dispute": dispute, "form": form},
    )
