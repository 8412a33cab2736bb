"""Text-input list filters for the audit log (actor, organisation, object, period): the log is
too large for the admin's usual list of every distinct value."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class InputFilter(admin.ListFilter):
    template = "console/input_filter.html"
    # (query parameter, label, HTML input type)
    inputs: tuple[tuple[str, str | Promise, str], ...] = ()

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, admin: Any):
        super().__init__(request, params, model, admin)
        self.values: dict[str, str] = {}
        for name, _label, _type in self.inputs:
            if name in params:
                raw = params.pop(name)
                value = str(raw[-1] if isinstance(raw, list) else raw).strip()
                self.used_parameters[name] = value
                if value:
                    self.values[name] = value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [name for name, _label, _type in self.inputs]

    def choices(self, changelist: Any) -> Any:
        mine = {name for name, _label, _type in self.inputs}
        other = [(k, v) for k, v in changelist.params.items() if k not in mine and k != "p"]
        yield {
            "other_params": other,
            "inputs": [
                {"name": n, "label": label, "type": t, "value": self.values.get(n, "")}
                for n, label, t in self.inputs
            ],
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return self.filter(queryset) if self.values else queryset

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        raise NotImplementedError


class ActorFilter(InputFilter):
    title = _("actor")
    inputs = (("actor", _("id or e-mail"), "text"),)

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.values["actor"]
        if value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset.filter(actor_label__icontains=value)


class OrganisationFilter(InputFilter):
    title = _("organisation")
    inputs = (("organisation", _("id or name"), "text"),)

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        from exchange.participants.models import Organisation

        value = self.values["organisation"]
        if value.isdigit():
            return queryset.filter(organisation_id=int(value))
        ids = Organisation.objects.filter(name__icontains=value).values_list("pk", flat=True)
        return queryset.filter(organisation_id__in=list(ids[:1000]))


class ObjectFilter(InputFilter):
    title = _("object")
    inputs = (("object", _("type:id, type or id"), "text"),)

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.values["object"]
        if ":" in value:
            object_type, object_id = value.split(":", 1)
            query = Q(object_type=object_type.strip().lower())
            if object_id.strip():
                query &= Q(object_id=object_id.strip())
            return queryset.filter(query)
        if "." in value:
            return queryset.filter(object_type=value.lower())
        return queryset.filter(object_id=value)


class PeriodFilter(InputFilter):
    title = _("time")
    inputs = (("from", _("from"), "date"), ("to", _("to (inclusive)"), "date"))

    def filter(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        start, end = _date(self.values.get("from")), _date(self.values.get("to"))
        if start:
            queryset = queryset.filter(created_at__date__gte=start)
        if end:
            queryset = queryset.filter(created_at__date__lte=end)
        return queryset


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
