"""The role policy every registered ModelAdmin is wrapped in (by ConsoleSite.register).

Being structural is the point: an app registering a new model with a plain ModelAdmin still gets
read-only pages for regulators, and every change an operator makes through a form is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import unquote
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse

from exchange.audit.services import record
from exchange.console.roles import role_of


def _deny(*_args: Any, **_kwargs: Any) -> bool:
    return False


def _organisation_of(obj: models.Model) -> Any:
    """The organisation an object belongs to, when it says so plainly (for the audit event)."""
    from exchange.participants.models import Organisation

    if isinstance(obj, Organisation):
        return obj.pk
    for name in ("organisation_id", "seller_id", "buyer_id"):
        value = getattr(obj, name, None)
        if isinstance(value, int):
            return value
    return None


def _audit(request: HttpRequest, action: str, obj: models.Model, changes: dict[str, Any]) -> None:
    # A savepoint when the admin view is already atomic (change and delete views are), a
    # transaction of its own otherwise (bulk actions): the event never outlives a rollback.
    with transaction.atomic():
        record(
            action,
            obj,
            actor=request.user,
            organisation=_organisation_of(obj),
            changes=changes,
        )


def _changed_fields(request: HttpRequest, message: Any) -> list[str]:
    """Names of the changed fields (names only: values may be personal data). The form's own
    field names when construct_change_message saw the form, else the labels in the message."""
    names: list[str] = list(getattr(request, "_console_changed_fields", []))
    if not names and isinstance(message, list):
        for entry in message:
            for detail in entry.values() if isinstance(entry, dict) else ():
                names.extend(str(f) for f in detail.get("fields", []))
    return sorted(set(names))


class ConsolePolicy:
    """Mixed in front of every ModelAdmin registered on the console site."""

    # --- permissions ---------------------------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        if role_of(request).platform_staff:
            return True
        return super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Regulators read everything registered; so do operators (their wider rights are writes).
        if role_of(request).platform_staff:
            return True
        return super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if role_of(request).read_only:
            return False
        return super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if role_of(request).read_only:
            return False
        return super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if role_of(request).read_only:
            return False
        return super().has_delete_permission(request, obj)  # type: ignore[misc]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        inlines: list[InlineModelAdmin[Any, Any]] = super().get_inline_instances(  # type: ignore[misc]
            request, obj
        )
        if role_of(request).read_only:
            for inline in inlines:
                inline.has_add_permission = _deny  # type: ignore[method-assign]
                inline.has_change_permission = _deny  # type: ignore[method-assign]
                inline.has_delete_permission = _deny  # type: ignore[method-assign]
                inline.max_num = 0
        return inlines

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)  # type: ignore[misc]
        if role_of(request).read_only:
            # Bulk actions change things; regulators act one object at a time, with a reason.
            return {}
        return actions

    # --- the console's object actions (verify, freeze, revoke...) on the detail page -------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        from exchange.console.actions import buttons_for

        context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if obj is not None:
            context["console_actions"] = buttons_for(request, obj)
        return super().change_view(  # type: ignore[misc]
            request, object_id, form_url, extra_context=context
        )

    # --- every write through a form is audited, beside Django's own LogEntry -------------------

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        changed = list(form.changed_data)
        for formset in formsets or ():
            for inline_form in formset.forms:
                prefix = inline_form._meta.model._meta.model_name
                changed.extend(f"{prefix}.{name}" for name in inline_form.changed_data)
        request._console_changed_fields = changed  # type: ignore[attr-defined]
        return super().construct_change_message(  # type: ignore[misc]
            request, form, formsets, add
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        _audit(request, "console.object_added", obj, {"model": obj._meta.label_lower})
        return entry

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        _audit(
            request,
            "console.object_changed",
            obj,
            {"model": obj._meta.label_lower, "fields": _changed_fields(request, message)},
        )
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        entries = super().log_deletions(request, queryset)  # type: ignore[misc]
        for obj in queryset:
            _audit(request, "console.object_deleted", obj, {"model": obj._meta.label_lower})
        return entries
