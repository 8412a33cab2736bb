"""Browser forms. Each maps onto one service call; a service's ValidationError is put back onto
the form (`add_service_errors`) so the message shows next to the field it is about."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exchange.participants.models import ApiKeyScope
from exchange.trading import webhooks
from exchange.trading.models import WebhookEvent
from licensing.models import LicenceTemplate
from listings.cleaning.policy import TRANSFORMS
from listings.models import Category, LicenceFamily, Listing, PricePlan, UpdateFrequency, Visibility

LANGUAGE_CHOICES = [("zh", _("Chinese")), ("en", _("English"))]

# Service field names that a form shows under another name.
FIELD_ALIASES = {
    "price_fen": "price_yuan",
    "amount_fen": "amount_yuan",
    "response": "reason",
    "expires_at": "expires_on",
}


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form: keyed errors next to their field when the
    form has it, everything else at the top."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            name = FIELD_ALIASES.get(key, key)
            target = name if name in form.fields else None
            for error in errors:
                form.add_error(target, error.messages if hasattr(error, "messages") else error)
    else:
        form.add_error(None, exc.messages)


def _words(value: str) -> list[str]:
    parts = value.replace("，", ",").replace("、", ",").split(",")
    return [p.strip() for p in parts if p.strip()]


class ListingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"), max_length=500, required=False, help_text=_("One or two sentences.")
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown: what the data holds, how it was collected, known limits."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    keywords = forms.CharField(
        label=_("Keywords"), required=False, help_text=_("Separated by commas.")
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages of the data"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    spatial_coverage = forms.CharField(label=_("Spatial coverage"), max_length=200, required=False)
    temporal_start = forms.DateField(
        label=_("Covers from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    temporal_end = forms.DateField(
        label=_("Covers until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    update_frequency = forms.ChoiceField(
        label=_("Update frequency"), choices=UpdateFrequency.choices
    )
    licence_family = forms.ChoiceField(label=_("Licence family"), choices=LicenceFamily.choices)
    visibility = forms.ChoiceField(
        label=_("Visibility"), choices=[(Visibility.PUBLIC, _("public"))], initial="public"
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=120, required=False)
    contact_email = forms.EmailField(label=_("Contact email"), required=False)

    def clean_keywords(self) -> list[str]:
        return _words(self.cleaned_data.get("keywords") or "")[:30]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("temporal_start"), data.get("temporal_end")
        if start and end and start > end:
            self.add_error("temporal_end", _("The end date must not be before the start date."))
        return data

    @classmethod
    def initial_from(cls, listing: Listing) -> dict[str, Any]:
        return {
            "title": listing.title,
            "summary": listing.summary,
            "description": listing.description,
            "category": listing.category,
            "keywords": ", ".join(listing.keywords or []),
            "languages": listing.languages or [],
            "spatial_coverage": listing.spatial_coverage,
            "temporal_start": listing.temporal_start,
            "temporal_end": listing.temporal_end,
            "update_frequency": listing.update_frequency,
            "licence_family": listing.licence_family,
            "visibility": listing.visibility,
            "contact_name": listing.contact_name,
            "contact_email": listing.contact_email,
        }


def yuan_to_fen(value: Decimal) -> int:
    return int((value * 100).to_integral_value())


class YuanField(forms.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)


class PricePlanForm(forms.Form):
    name = forms.CharField(label=_("Plan name"), max_length=100, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=PricePlan.Kind.choices)
    price_yuan = YuanField(label=_("Price (CNY)"), initial=Decimal("0"))
    term_months = forms.IntegerField(
        label=_("Term (months)"),
        required=False,
        min_value=1,
        max_value=120,
        help_text=_("Subscriptions only."),
    )
    acceptance_window_hours = forms.IntegerField(
        label=_("Acceptance window (hours)"), min_value=1, max_value=24 * 30, initial=72
    )
    template = forms.ModelChoiceField(
        label=_("Licence template"), queryset=LicenceTemplate.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, listing: Listing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        templates = LicenceTemplate.objects.filter(is_current=True).order_by("key")
        family = listing.licence_family
        if family:
            templates = templates.filter(family=family)
        self.fields["template"].queryset = templates  # type: ignore[attr-defined]
        self.fields["template"].label_from_instance = (  # type: ignore[attr-defined]
            lambda t: f"{t.name_zh} / {t.name_en}"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        price = data.get("price_yuan")
        if kind == PricePlan.Kind.FREE:
            if price:
                self.add_error("price_yuan", _("A free plan costs 0."))
        elif price is not None and price <= 0:
            self.add_error("price_yuan", _("A paid plan costs more than 0."))
        if kind == PricePlan.Kind.SUBSCRIPTION and not data.get("term_months"):
            self.add_error("term_months", _("A subscription needs a term in months."))
        if kind != PricePlan.Kind.SUBSCRIPTION and data.get("term_months"):
            self.add_error("term_months", _("Only subscriptions have a term."))
        return data


class VersionForm(forms.Form):
    release_notes = forms.CharField(
        label=_("Release notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class UploadForm(forms.Form):
    """The no-script fallback posts the file here; with scripts the page sends it directly to
    storage with a progress bar, and only the policy is read from this form."""

    file = forms.FileField(
        label=_("Data file"),
        help_text=_("CSV, XLSX, JSON, JSON Lines or Parquet, optionally zipped."),
    )
    policy = forms.CharField(
        label=_("Cleaning policy adjustments (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_('Optional, e.g. {"columns": {"备注": {"transform": "drop"}}}.'),
    )

    def clean_policy(self) -> dict[str, Any] | None:
        return parse_policy(self.cleaned_data.get("policy") or "")


def parse_policy(text: str) -> dict[str, Any] | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError(_("This is not valid JSON.")) from None
    if not isinstance(value, dict):
        raise ValidationError(_("The policy is a JSON object."))
    return value


class ColumnPolicyForm(forms.Form):
    """One select per reported column: keep the pipeline's choice or force a transform."""

    def __init__(self, *args: Any, columns: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("as detected"))] + [(t, t) for t in TRANSFORMS]
        self.column_names: list[str] = []
        for i, column in enumerate(columns):
            name = str(column.get("name", ""))
            self.column_names.append(name)
            self.fields[f"col_{i}"] = forms.ChoiceField(label=name, choices=choices, required=False)
        self.fields["k"] = forms.IntegerField(
            label=_("k-anonymity target k"), min_value=2, max_value=100, required=False
        )

    def policy(self) -> dict[str, Any]:
        columns = {}
        for i, name in enumerate(self.column_names):
            transform = self.cleaned_data.get(f"col_{i}")
            if transform:
                columns[name] = {"transform": transform}
        policy: dict[str, Any] = {"columns": columns}
        if self.cleaned_data.get("k"):
            policy["k_anonymity"] = {"enabled": True, "k": self.cleaned_data["k"]}
        return policy


class OrderForm(forms.Form):
    plan = forms.IntegerField(widget=forms.HiddenInput)


class SignForm(forms.Form):
    agree = forms.BooleanField(label=_("I have read the contract and agree to it."))
    hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
    evidence = forms.CharField(
        label=_("Evidence (one note or link per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def evidence_items(self) -> list[dict[str, str]]:
        items = []
        for line in (self.cleaned_data.get("evidence") or "").splitlines():
            line = line.strip()
            if not line:
                continue
            key = "url" if line.startswith(("http://", "https://")) else "text"
            items.append({key: line[:500]})
        return items[:20]


class DisputeResponseForm(DisputeForm):
    reason = forms.CharField(
        label=_("The seller's position"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )


class AmountForm(forms.Form):
    amount_yuan = YuanField(label=_("Amount (CNY)"), min_value=Decimal("0.01"))

    def amount_fen(self) -> int:
        return yuan_to_fen(self.cleaned_data["amount_yuan"])


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("Endpoint URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    def clean_url(self) -> str:
        """Refuse private, loopback and link-local targets here, with words a person reads (the
        service checks again when it saves)."""
        url: str = self.cleaned_data["url"]
        try:
            webhooks.validate_target(url)
        except ValidationError as exc:
            found = exc.message_dict.get("url", exc.messages) if hasattr(exc, "error_dict") else []
            if any("public address" in m for m in found):
                raise ValidationError(
                    _(
                        "Webhooks are only sent to public internet addresses; this URL points "
                        "to a private, loopback or link-local address."
                    ),
                    code="private_target",
                ) from None
            raise ValidationError(found or exc.messages) from None
        return url

    def event_list(self) -> list[str]:
        return list(self.cleaned_data.get("events") or [])


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_on = forms.DateField(
        label=_("Expires"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_expires_on(self) -> date | None:
        day: date | None = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.localdate():
            raise ValidationError(_("Choose a day after today."), code="past")
        return day

    def expires_at(self) -> datetime | None:
        """The key stops working at the start of the chosen day (local time); empty: the
        platform's default lifetime."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.min))


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Organisation kind"),
        choices=[("seller", _("seller")), ("buyer", _("buyer")), ("both", _("seller and buyer"))],
    )
    uscc = forms.CharField(
        label=_("Unified Social Credit Code"),
        max_length=18,
        min_length=18,
        help_text=_("18 characters, as printed on the business licence."),
    )

    def clean_uscc(self) -> str:
        from exchange.participants.models import validate_uscc

        value = self.cleaned_data["uscc"].strip().upper()
        validate_uscc(value)
        return value


def decimal_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None
