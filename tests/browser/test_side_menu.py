"""On a phone the side menu folds away behind a button, so a page's own content starts in the
first screen; the keyboard opens and closes it, and the button says whether it is open."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import TIMEOUT_MS, login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_on_a_phone_the_menu_folds_away_behind_a_button_the_keyboard_opens(
    phone: Page, live_server: LiveServer, manager: User
) -> None:
    page = phone
    login(page, live_server, "manager", "pw-manager")
    nav = page.get_by_role("navigation", name="Main")
    button = nav.get_by_role("button", name="Menu")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Teams")).to_be_hidden()
    heading = page.get_by_role("heading", level=1)
    assert heading.bounding_box()["y"] < 400, "the page's own content starts in the first screen"
    screenshot(page, "menu-390-closed")

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
    screenshot(page, "menu-390-open")
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()

    page.set_viewport_size({"width": 1280, "height": 800})  # wide again: the menu is always there
    expect(button).to_be_hidden()
    expect(nav.get_by_role("link", name="Teams")).to_be_visible()
