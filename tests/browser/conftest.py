"""Browser fixtures: Playwright's sync API driving Debian's Chromium against `live_server`.

Chromium comes from Debian (`apt-get install chromium`), never from `playwright install`.
Without it these tests are skipped, unless SMARKETING_REQUIRE_BROWSER=1 (CI) makes that a
failure. Screenshots go to artifacts/screenshots/ (SMARKETING_ARTIFACTS moves artifacts/).
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

# Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from
# a thread with a running loop unless told that this is safe (it is: the loop never awaits them).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("SMARKETING_CHROMIUM", "/usr/bin/chromium"))
# As root Chromium needs --no-sandbox; the rest keep it off the network it would otherwise
# call (updates, sync, Google's hosts), which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def artifacts_dir() -> Path:
    return Path(os.environ.get("SMARKETING_ARTIFACTS") or Path(settings.BASE_DIR) / "artifacts")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as artifacts/screenshots/<name>.png and return its path."""
    path = artifacts_dir() / "screenshots" / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Keep each phase's report on the test, so the page fixture knows whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run browser tests"
        if os.environ.get("SMARKETING_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (SMARKETING_REQUIRE_BROWSER=1 forbids skipping them)", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context (no cookies) per test; a failing test leaves a screenshot behind."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"failed-{request.node.name}")
    context.close()


# What Chromium logs when the Content-Security-Policy refuses something, in a page or its frames.
CSP_REFUSED = ("Content Security Policy", "Refused to")


def csp_refusals(page: Page) -> list[str]:
    """What the Content-Security-Policy refuses on `page` from now on, collected as it is logged."""
    refused: list[str] = []

    def hear(message: ConsoleMessage) -> None:
        if any(words in message.text for words in CSP_REFUSED):
            refused.append(message.text)

    page.on("console", hear)
    return refused


def login(page: Page, live_server: LiveServer, username: str, password: str) -> None:
    """Log in through the login form and wait for the home page."""
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + reverse("home"))


def logout(page: Page, live_server: LiveServer) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + reverse("login"))
