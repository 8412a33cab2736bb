"""The console's object actions: the only way a regulator changes anything.

Each action shows a form (a reason, or a dispute's outcome), then calls the owning app's service,
which checks the role again, locks, changes and writes the audit event in one transaction. The
console itself never writes a model field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exchange.console.forms import DisputeResolutionForm, ReasonForm
from exchange.console.roles import ConsoleRole, role_of

Perform = Callable[[Any, Any, dict[str, Any]], str]


@dataclass(frozen=True)
class ObjectAction:
    key: str
    label: str | Promise  # lazy: translated when shown
    model: str  # app_label.model_name
    available: Callable[[Any], bool]
    perform: Perform
    reason_required: bool = True
    form_class: type[forms.Form] = ReasonForm
    # Who sees the button. The service decides for real; this only avoids offering a dead end.
    allowed: Callable[[ConsoleRole], bool] = field(default=lambda role: role.platform_staff)
    danger: bool = False


# --- performers: thin calls into the services ----------------------------------------------------


def _verify_org(actor: Any, org: Any, data: dict[str, Any]) -> str:
    from exchange.participants.services import verify_organisation

    verify_organisation(actor=actor, organisation=org, reason=data.get("reason", ""))
    return _("Organisation “%(name)s” verified.") % {"name": org.name}


def _freeze_org(actor: Any, org: Any, data: dict[str, Any]) -> str:
    from exchange.participants.services import freeze_organisation

    freeze_organisation(actor=actor, organisation=org, reason=data["reason"])
    return _("Organisation “%(name)s” frozen.") % {"name": org.name}


def _unfreeze_org(actor: Any, org: Any, data: dict[str, Any]) -> str:
    from exchange.participants.services import unfreeze_organisation

    unfreeze_organisation(actor=actor, organisation=org, reason=data["reason"])
    return _("Organisation “%(name)s” unfrozen.") % {"name": org.name}


def _revoke_key(actor: Any, key: Any, data: dict[str, Any]) -> str:
    from exchange.participants.services import revoke_api_key

    revoke_api_key(actor=actor, key=key, reason=data.get("reason", ""))
    return _("API key %(prefix)s… revoked.") % {"prefix": key.prefix}


def _suspend_listing(actor: Any, listing: Any, data: dict[str, Any]) -> str:
    from listings.services import suspend_listing

    suspend_listing(actor=actor, listing=listing, reason=data["reason"])
    return _("Listing suspended.")


def _reinstate_listing(actor: Any, listing: Any, data: dict[str, Any]) -> str:
    from listings.services import reinstate_listing

    reinstate_listing(actor=actor, listing=listing, reason=data.get("reason", ""))
    return _("Listing reinstated.")


def _revoke_licence(actor: Any, licence: Any, data: dict[str, Any]) -> str:
    from licensing.services import revoke_licence

    revoke_licence(licence=licence, actor=actor, reason=data["reason"])
    return _("Licence revoked.")


def _resolve_dispute(actor: Any, dispute: Any, data: dict[str, Any]) -> str:
    # Imported here so the console still loads if trading is not installed.
    from exchange.trading.services import resolve_dispute

    outcome = data["outcome"]
    split = outcome == "split"
    resolve_dispute(
        actor=actor,
        dispute=dispute,
        outcome=outcome,
        to_seller_fen=data.get("to_seller_fen") if split else None,
        to_buyer_fen=data.get("to_buyer_fen") if split else None,
        note=data.get("reason", ""),
    )
    labels = dict(type(dispute).Outcome.choices)
    return _("Dispute #%(id)s resolved: %(outcome)s.") % {
        "id": dispute.pk,
        "outcome": labels.get(outcome, outcome),
    }


def _regulator_only(role: ConsoleRole) -> bool:
    # listings.services lets only regulators suspend and reinstate listings.
    return role.regulator


ACTIONS: dict[str, ObjectAction] = {
    a.key: a
    for a in [
        ObjectAction(
            "organisation-verify",
            gettext_lazy("Verify organisation"),
            "participants.organisation",
            available=lambda o: o.status == "pending",
            perform=_verify_org,
            reason_required=False,
        ),
        ObjectAction(
            "organisation-freeze",
            gettext_lazy("Freeze organisation"),
            "participants.organisation",
            available=lambda o: o.status != "frozen",
            perform=_freeze_org,
            danger=True,
        ),
        ObjectAction(
            "organisation-unfreeze",
            gettext_lazy("Unfreeze organisation"),
            "participants.organisation",
            available=lambda o: o.status == "frozen",
            perform=_unfreeze_org,
        ),
        ObjectAction(
            "apikey-revoke",
            gettext_lazy("Revoke API key"),
            "participants.apikey",
            available=lambda k: k.revoked_at is None,
            perform=_revoke_key,
            reason_required=False,
            danger=True,
        ),
        ObjectAction(
            "listing-suspend",
            gettext_lazy("Suspend listing"),
            "listings.listing",
            available=lambda li: li.status == "listed",
            perform=_suspend_listing,
            allowed=_regulator_only,
            danger=True,
        ),
        ObjectAction(
            "listing-reinstate",
            gettext_lazy("Reinstate listing"),
            "listings.listing",
            available=lambda li: li.status == "suspended",
            perform=_reinstate_listing,
            reason_required=False,
            allowed=_regulator_only,
        ),
        ObjectAction(
            "licence-revoke",
            gettext_lazy("Revoke licence"),
            "licensing.licence",
            available=lambda lic: lic.status == "active",
            perform=_revoke_licence,
            danger=True,
        ),
        ObjectAction(
            "dispute-resolve",
            gettext_lazy("Resolve dispute"),
            "trading.dispute",
            available=lambda d: d.status in ("open", "responded"),
            perform=_resolve_dispute,
            form_class=DisputeResolutionForm,
        ),
    ]
}


def action_url(action: ObjectAction, obj: Any) -> str:
    return reverse("admin:console_object_action", args=[action.key, obj.pk])


def buttons_for(request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
    """The action buttons to show on an object's detail page."""
    role = role_of(request)
    label = obj._meta.label_lower
    buttons = [
        {"label": a.label, "url": action_url(a, obj), "danger": a.danger}
        for a in ACTIONS.values()
        if a.model == label and a.allowed(role) and a.available(obj)
    ]
    if label == "listings.listingversion" and obj.status == "submitted" and role.platform_staff:
        buttons.append(
            {
                "label": _("Review this version"),
                "url": reverse("admin:console_review", args=[obj.pk]),
                "danger": False,
            }
        )
    return buttons
