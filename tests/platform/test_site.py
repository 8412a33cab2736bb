import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_home_admin_and_api_root_answer(client) -> None:
    assert client.get("/").status_code == 200
    admin = client.get("/admin/", follow=True)
    assert admin.status_code == 200 and b"password" in admin.content.lower()
    api = client.get("/api/v1/")
    assert api.status_code == 200 and "schema" in api.json()
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_the_openapi_schema_is_generated(client) -> None:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert b"/api/v1/api-keys/" in response.content


def test_check_deploy_is_clean_with_the_production_profile() -> None:
    env = {
        **os.environ,
        "EXCHANGE_PROFILE": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "exchange.example.cn",
        "WEBHOOK_SECRET_KEYS": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_secret() -> None:
    env = {**os.environ, "EXCHANGE_PROFILE": "production"}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_requires_its_own_webhook_secret_keys() -> None:
    # Not derived from DJANGO_SECRET_KEY there: rotating that key must not lose every webhook
    # secret (see WEBHOOK_SECRET_KEYS in settings.py).
    env = {
        **os.environ,
        "EXCHANGE_PROFILE": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    }
    env.pop("WEBHOOK_SECRET_KEYS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "WEBHOOK_SECRET_KEYS must be set" in result.stderr


@pytest.mark.django_db
def test_signup_then_login_by_email(client) -> None:
    response = client.post(
        "/signup/", {"email": "New.User@Example.test", "password": "a long passphrase 2026"}
    )
    assert response.status_code == 302
    client.logout()
    bad = client.post("/login/", {"username": "new.user@example.test", "password": "wrong"})
    # The refusal is shown as an alert and the typed email is kept in the form.
    assert bad.status_code == 200 and b'class="form-errors" role="alert"' in bad.content
    assert b'value="new.user@example.test"' in bad.content
    ok = client.post(
        "/login/", {"username": "new.user@example.test", "password": "a long passphrase 2026"}
    )
    assert ok.status_code == 302


@pytest.mark.django_db
def test_signup_errors_keep_what_was_typed(client) -> None:
    response = client.post("/signup/", {"email": "keep@example.test", "password": "123"})
    assert response.status_code == 200
    assert b'value="keep@example.test"' in response.content and b"errorlist" in response.content
