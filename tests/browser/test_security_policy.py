"""The Content-Security-Policy in a real browser: what the policy refuses Chromium logs to the
console, so a page that needed an inline script or style would show it here. The pages themselves
are checked by test_every_page.py; these are the ones it leaves out or that need more: the API
docs (Swagger UI), Django's admin and a message's HTML in its sandboxed frame.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import TIMEOUT_MS, csp_refusals, login, screenshot
from tests.browser.pages_world import World, build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def world(transactional_db: None, settings: Any, tmp_path: Path) -> World:
    settings.MEDIA_ROOT = tmp_path
    return build_world()


def test_the_policy_refuses_an_inline_script_and_the_console_says_so(page: Page, live_server: LiveServer) -> None:
    # The proof that the listener hears a refusal: the other tests' empty lists mean something.
    refused = csp_refusals(page)
    page.goto(reverse("login"))
    with pytest.raises(PlaywrightError, match="Content Security Policy"):
        page.add_script_tag(content="document.body.dataset.injected = 'yes'")
    expect(page.locator("body")).not_to_have_attribute("data-injected", "yes")
    assert any("inline script" in text and "Content Security Policy" in text for text in refused), refused


def test_the_api_docs_run_under_their_policy(page: Page, live_server: LiveServer, marketer: User) -> None:
    refused = csp_refusals(page)
    login(page, live_server, "marketer", "pw-marketer")
    page.goto(reverse("api-docs"))
    expect(page.locator(".opblock").first).to_be_visible()
    operation = page.locator(".opblock-summary", has_text="/api/v1/leads/").first
    operation.click()
    page.get_by_role("button", name="Try it out").first.click()
    page.get_by_role("button", name="Execute").first.click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("200")
    screenshot(page, "security-api-docs")
    assert refused == []


def test_the_admin_runs_under_the_policy(page: Page, live_server: LiveServer, db: None) -> None:
    User.objects.create_superuser("admin", "admin@example.com", "pw-admin")
    refused = csp_refusals(page)
    page.goto(reverse("admin:login"))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("pw-admin")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    for url in (
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[User.objects.get().pk]),
        reverse("admin:auth_user_add"),
    ):
        page.goto(url)
        expect(page.locator("#content")).to_be_visible()
    # django-celery-beat's form, its script moved out of the page: the crontab's help in words.
    CrontabSchedule.objects.create(minute="15", hour="3")
    page.goto(reverse("admin:django_celery_beat_periodictask_add"))
    page.locator("#id_crontab").select_option(index=1)
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: At 03:15")
    page.goto(reverse("admin:auth_user_changelist"))
    page.locator("select[name=action]").select_option("delete_selected")  # the actions' script at work
    page.locator("input.action-select").first.check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    screenshot(page, "security-admin")
    assert refused == []


def test_a_message_shows_its_own_styles_in_its_frame_and_nothing_is_refused(
    page: Page, live_server: LiveServer, world: World
) -> None:
    refused = csp_refusals(page)
    login(page, live_server, "marketer", "pw-marketer")
    for url in (
        reverse("playbooks:outbox-email", args=[world.outbox_email]),
        reverse("playbooks:email-template-preview", args=[world.email_template]),
    ):
        page.goto(url)
        heading = page.frame_locator("iframe.email-frame").get_by_role("heading", name="Hello")
        expect(heading).to_be_visible()
        # The message's own <style> (h1 { color: #234; }) holds inside its frame.
        expect(heading).to_have_css("color", "rgb(34, 51, 68)")
        screenshot(page, f"security-email-frame-{url.strip('/').replace('/', '-')}")
    assert refused == []
