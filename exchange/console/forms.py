"""Forms of the console's actions and exports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=500
    )

    def __init__(self, *args: Any, reason_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


class DisputeResolutionForm(forms.Form):
    OUTCOMES = [
        ("refund", _("Refund the buyer (licence revoked)")),
        ("release", _("Release to the seller (minus the platform fee)")),
        ("split", _("Split between seller and buyer")),
    ]
    outcome = forms.ChoiceField(label=_("Outcome"), choices=OUTCOMES, widget=forms.RadioSelect)
    to_seller_fen = forms.IntegerField(
        label=_("To the seller (fen, before the fee)"), min_value=0, required=False
    )
    to_buyer_fen = forms.IntegerField(label=_("To the buyer (fen)"), min_value=0, required=False)
    reason = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=True, max_length=5000
    )

    def __init__(self, *args: Any, reason_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("outcome") == "split":
            for name in ("to_seller_fen", "to_buyer_fen"):
                if data.get(name) is None:
                    self.add_error(name, _("Required for a split."))
        return data


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea
    )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the version is rejected."))
        return data


class PeriodForm(forms.Form):
    """A closed period of calendar days in the platform's time zone."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    MAX_DAYS = 3660  # exports: ten years at a time

    @classmethod
    def default_initial(cls) -> dict[str, date]:
        today = timezone.localdate()
        return {"start": today - timedelta(days=29), "end": today}

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                self.add_error("end", _("The period ends before it starts."))
            elif (end - start).days >= self.MAX_DAYS:
                message = ngettext(
                    "At most %(n)d day at a time.", "At most %(n)d days at a time.", self.MAX_DAYS
                )
                self.add_error("end", message % {"n": self.MAX_DAYS})
        return data


class DashboardPeriodForm(PeriodForm):
    MAX_DAYS = 366  # one bar a day: a year is the most a chart can show legibly
