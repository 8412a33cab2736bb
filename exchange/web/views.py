from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import login
from django.contrib.auth.password_validation import validate_password
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from exchange.participants.models import Organisation, User, validate_uscc
from exchange.participants.services import register_organisation
from exchange.portal.views.public import home as portal_home


def home(request: HttpRequest) -> HttpResponse:
    return portal_home(request)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    display_name = forms.CharField(label=_("Your name"), max_length=120, required=False)
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    organisation_name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        required=False,
        help_text=_("Optional now: register the company you sell or buy for."),
    )
    organisation_kind = forms.ChoiceField(
        label=_("Organisation kind"),
        choices=[("seller", _("seller")), ("buyer", _("buyer")), ("both", _("seller and buyer"))],
        required=False,
    )
    uscc = forms.CharField(label=_("Unified Social Credit Code"), max_length=18, required=False)

    def clean_uscc(self) -> str:
        value = (self.cleaned_data.get("uscc") or "").strip().upper()
        if value:
            validate_uscc(value)
            if Organisation.objects.filter(uscc=value).exists():
                raise forms.ValidationError(_("This organisation is already registered."))
        return value

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(_("An account with this email already exists."))
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password"):
            try:
                validate_password(data["password"], User(email=data.get("email", "")))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        if data.get("organisation_name"):
            if not data.get("uscc") and "uscc" not in self.errors:
                self.add_error("uscc", _("Give the organisation's code."))
            if not data.get("organisation_kind"):
                self.add_error("organisation_kind", _("Say whether it sells, buys or both."))
        elif data.get("uscc"):
            self.add_error("organisation_name", _("Give the organisation's name."))
        return data


class SignupView(FormView[SignupForm]):
    template_name = "registration/signup.html"
    form_class = SignupForm
    success_url = reverse_lazy("home")

    def form_valid(self, form: SignupForm) -> HttpResponse:
        user = User.objects.create_user(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            display_name=form.cleaned_data["display_name"],
        )
        data = form.cleaned_data
        if data.get("organisation_name"):
            organisation = register_organisation(
                user=user,
                name=data["organisation_name"],
                kind=data["organisation_kind"],
                uscc=data["uscc"],
            )
            self.success_url = reverse_lazy(
                "portal:seller-dashboard" if organisation.can_sell else "portal:catalogue"
            )
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return super().form_valid(form)
