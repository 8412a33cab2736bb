"""Template helpers: money in yuan from integer fen, byte sizes, accessible form fields."""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BoundField
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

register = template.Library()

# The cleaning report speaks in the engine's codes (listings/cleaning/policy.py); sellers and
# buyers read words. Unknown codes are shown as they are rather than hidden.
CLASSIFICATION_LABELS = {
    "identifier": _("direct identifier"),
    "quasi_identifier": _("quasi-identifier"),
    "free_text": _("free text"),
    "other": _("other"),
}
PII_TYPE_LABELS = {
    "name": _("personal name"),
    "id_card": _("resident ID number"),
    "mobile": _("mobile number"),
    "landline": _("landline number"),
    "bank_card": _("bank card number"),
    "email": _("email address"),
    "ip": _("IP address"),
    "passport": _("passport number"),
    "plate": _("vehicle plate"),
    "uscc": _("unified social credit code"),
    "address": _("address"),
    "mixed": _("mixed personal data"),
    "birth_date": _("date of birth"),
    "age": _("age"),
    "gender": _("gender"),
    "postcode": _("postcode"),
    "district": _("district"),
    "ethnicity": _("ethnicity"),
    "occupation": _("occupation"),
}


@register.filter
def classification_label(code: Any) -> str:
    return str(CLASSIFICATION_LABELS.get(str(code), code or ""))


@register.filter
def pii_label(code: Any) -> str:
    return str(PII_TYPE_LABELS.get(str(code), code or ""))


@register.filter
def yuan(fen: Any) -> str:
    """12345 → "¥123.45", by integer arithmetic (money is never a float)."""
    if fen is None or fen == "":
        return ""
    value = int(fen)
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}¥{value // 100:,}.{value % 100:02d}"


@register.filter
def filesize(size: Any) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.inclusion_tag("portal/_field.html")
def field(bound: BoundField, **extra: Any) -> dict[str, Any]:
    """Label, widget, help and errors, tied together with aria-describedby / aria-invalid so a
    screen reader announces the error with the field. The widget keeps what was typed."""
    widget_id = bound.auto_id or f"id_{bound.html_name}"
    described = []
    if bound.help_text:
        described.append(f"{widget_id}_help")
    if bound.errors:
        described.append(f"{widget_id}_error")
    attrs: dict[str, Any] = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if bound.errors:
        attrs["aria-invalid"] = "true"
    if bound.field.required:
        attrs["aria-required"] = "true"
    widget: SafeString = bound.as_widget(attrs=attrs)
    return {
        "bound": bound,
        "widget": widget,
        "widget_id": widget_id,
        "is_check": bound.widget_type in ("checkbox",),
        "is_multi": bound.widget_type in ("checkboxselectmultiple", "radioselect"),
        **extra,
    }


@register.simple_tag
def stage_class(current: str, stage: str, order: list[str]) -> str:
    if current not in order or stage not in order:
        return ""
    i, j = order.index(current), order.index(stage)
    return "done" if j < i else ("current" if j == i else "")


@register.simple_tag
def badge(text: str, kind: str = "") -> SafeString:
    return format_html('<span class="badge {}">{}</span>', kind, text)


@register.simple_tag(takes_context=True)
def acting_org(context: Any) -> Any:
    """The organisation the page's user acts for (None when anonymous or without one)."""
    from exchange.portal.context import acting_organisation

    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    if "_portal_org" not in context:
        context["_portal_org"] = acting_organisation(request)
    return context["_portal_org"]


@register.simple_tag(takes_context=True)
def user_memberships(context: Any) -> list[Any]:
    from exchange.portal.context import memberships_of

    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return memberships_of(request.user)
