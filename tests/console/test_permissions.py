"""Read-only for regulators, wider for operators: checked on every registered model, so a model
registered later cannot slip through."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.urls import reverse

from exchange.audit.models import AuditEvent
from exchange.console.site import ConsoleSite
from exchange.participants.models import Organisation, User
from exchange.participants.roles import OPERATOR_READ_ONLY_APPS
from tests.console.conftest import client_for
from tests.console.factories import Platform
from tests.console.test_quarantine import FORBIDDEN
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def registered() -> list[tuple[type[Model], Any]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def url(model: type[Model], view: str, *args: Any) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def first(model: type[Model]) -> Model:
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, (
        f"the console test platform has no {model._meta.label} row: add one to "
        "tests/console/factories.py so its pages are checked too"
    )
    return obj


def test_every_registered_model_is_checked(platform: Platform) -> None:
    # The generic checks below need a row of every model; this names any that has none.
    missing = [m._meta.label for m, _ in registered() if not m._default_manager.exists()]
    assert missing == []
    assert len(registered()) >= 25


def test_regulator_reads_every_list_and_detail_but_changes_nothing(platform: Platform) -> None:
    client = client_for(platform.regulator)
    counts_before = {m: m._default_manager.count() for m, _ in registered()}
    for model, _model_admin in registered():
        label = model._meta.label
        page = client.get(url(model, "changelist"))
        assert page.status_code == 200, label
        assert url(model, "add") not in page.content.decode(), f"{label}: add link shown"

        obj = first(model)
        detail = client.get(url(model, "change", obj.pk))
        assert detail.status_code == 200, label
        html = detail.content.decode()
        for needle in FORBIDDEN:
            assert needle not in html + page.content.decode(), f"{label} shows {needle!r}"
        assert 'name="_save"' not in html, f"{label}: save button shown to a regulator"
        assert url(model, "delete", obj.pk) not in html, f"{label}: delete link shown"

        assert client.post(url(model, "change", obj.pk), {}).status_code == 403, label
        assert client.get(url(model, "add")).status_code == 403, label
        assert client.post(url(model, "add"), {}).status_code == 403, label
        assert client.get(url(model, "delete", obj.pk)).status_code == 403, label
        assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403, label
        # Bulk actions are gone too (delete_selected above all).
        client.post(
            url(model, "changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
    counts_after = {m: m._default_manager.count() for m, _ in registered()}
    audit = counts_after.pop(AuditEvent) - counts_before.pop(AuditEvent)
    assert counts_after == counts_before
    assert audit == 0  # nothing happened, so nothing was recorded


def test_regulator_policy_is_structural(platform: Platform) -> None:
    """Even a ModelAdmin that would allow everything is read-only for a regulator once it is on
    the console site."""

    class Wide(admin.ModelAdmin[Any]):
        def has_add_permission(self, request: Any) -> bool:
            return True

        def has_change_permission(self, request: Any, obj: Any = None) -> bool:
            return True

        def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
            return True

    site = ConsoleSite(name="probe")
    site.register(Organisation, Wide)
    wrapped = site._registry[Organisation]
    request = type("R", (), {"user": platform.regulator})()
    assert wrapped.has_view_permission(request)
    assert not wrapped.has_add_permission(request)
    assert not wrapped.has_change_permission(request, platform.pending_org)
    assert not wrapped.has_delete_permission(request, platform.pending_org)
    request = type("R", (), {"user": UserFactory(is_superuser=True, is_staff=True)})()
    assert wrapped.has_change_permission(request, platform.pending_org)


def test_operator_reads_everything_never_deletes_and_never_edits_money_or_audit(
    platform: Platform,
) -> None:
    client = client_for(platform.ops)
    for model, _model_admin in registered():
        label = model._meta.label
        obj = first(model)
        assert client.get(url(model, "changelist")).status_code == 200, label
        assert client.get(url(model, "change", obj.pk)).status_code == 200, label
        assert client.get(url(model, "delete", obj.pk)).status_code == 403, label
        if model._meta.app_label in OPERATOR_READ_ONLY_APPS:
            # History and money change only through services.
            assert client.post(url(model, "change", obj.pk), {}).status_code == 403, label
            assert client.get(url(model, "add")).status_code == 403, label


def test_operator_has_wider_rights_than_a_regulator(platform: Platform) -> None:
    """An operator manages accounts and memberships through the forms; a regulator cannot."""
    person = UserFactory(display_name="Old name")
    membership = MembershipFactory(organisation=platform.pending_org, role="member")
    form = {
        "email": person.email,
        "display_name": "New name",
        "is_active": "on",
        "is_superuser": "on",  # ignored: privilege fields are read-only for non-superusers
        "is_staff": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": person.date_joined.astimezone().strftime("%Y-%m-%d"),
        "date_joined_1": person.date_joined.astimezone().strftime("%H:%M:%S"),
    }
    regulator = client_for(platform.regulator)
    assert regulator.post(url(User, "change", person.pk), form).status_code == 403

    operator = client_for(platform.ops)
    response = operator.post(url(User, "change", person.pk), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.display_name == "New name"
    assert not person.is_superuser and not person.is_staff
    event = AuditEvent.objects.get(action="console.object_changed", object_id=str(person.pk))
    assert event.actor_id == platform.ops.pk
    assert event.changes["model"] == "participants.user"
    assert "display_name" in event.changes["fields"]
    assert "is_superuser" not in event.changes["fields"]

    # Staff accounts are a platform administrator's business.
    assert operator.post(url(User, "change", platform.regulator.pk), form).status_code == 403

    from exchange.participants.models import Membership

    response = operator.post(
        url(Membership, "change", membership.pk),
        {"user": membership.user_id, "organisation": membership.organisation_id, "role": "admin"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "admin"
    assert AuditEvent.objects.filter(
        action="console.object_changed",
        object_type="participants.membership",
        actor_id=platform.ops.pk,
        organisation_id=platform.pending_org.pk,
    ).exists()


def test_only_platform_staff_enter_the_console(platform: Platform) -> None:
    staff_seller = platform.seller.user
    staff_seller.is_staff = True
    staff_seller.save()
    response = client_for(staff_seller).get(reverse("admin:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client_for(platform.regulator).get(reverse("admin:console_review_queue"))
    assert response.status_code == 200
    anonymous = client_for(UserFactory()).get(reverse("admin:console_exports"))
    assert anonymous.status_code == 302
