"""Playwright in Debian's Chromium against pytest-django's live server: one browser per session,
one context per actor; every page is checked for console errors and requests to other hosts,
and screenshots land in var/test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Browser-test-pass-42"


@dataclass
class Watch:
    """What a context saw that it must not: console errors, page errors, outside requests."""

    host: str
    # Other hosts a test expects the page to talk to (the S3 store of a direct upload).
    allowed_hosts: set[str] = field(default_factory=set)
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.host and parts.netloc not in self.allowed_hosts:
            self.outside_requests.append(request.url)

    def on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def assert_clean(self) -> None:
        assert self.outside_requests == [], self.outside_requests
        assert self.console_errors == [], self.console_errors


@pytest.fixture(scope="module")
def chromium(django_db_setup: None) -> Iterator[Any]:
    """Module-scoped: while Playwright runs, this thread has an event loop, which the rest of the
    suite's ORM calls must not see. The test database exists before it starts."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions (and the database flush after each) are still synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_env(settings: Any, tmp_path: Path, live_server: Any) -> Iterator[Any]:
    """Local storage whose signed links point at the live server; the pipeline runs eagerly
    in the live server's thread (same process, so the Celery app setting reaches it)."""
    from exchange.portal import demo
    from exchange.storage import reset_storage_cache

    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_LOCAL_ROOT = tmp_path / "storage"
    settings.STORAGE_LOCAL_BASE_URL = live_server.url
    settings.SITE_URL = live_server.url
    reset_storage_cache()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with demo.eager_pipeline():
        yield live_server
    reset_storage_cache()


class Actor:
    """One person's browser context (own cookies, own language)."""

    def __init__(self, browser: Any, server: Any, locale: str, name: str) -> None:
        self.server = server
        self.name = name
        self.locale = locale
        self.watch = Watch(host=urlsplit(server.url).netloc)
        self.context = browser.new_context(
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
            viewport={"width": 1200, "height": 900},
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.page.on("request", self.watch.on_request)
        self.page.on("console", self.watch.on_console)
        self.page.on("pageerror", lambda exc: self.watch.console_errors.append(str(exc)))

    def go(self, path: str) -> Any:
        response = self.page.goto(self.server.url + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        return response

    def shot(self, label: str) -> None:
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.locale}-{self.name}-{label}.png"), full_page=True
        )

    def login(self, email: str, password: str = PASSWORD) -> None:
        self.go("/login/")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", password)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_load_state()

    def close(self) -> None:
        self.watch.assert_clean()
        self.context.close()
