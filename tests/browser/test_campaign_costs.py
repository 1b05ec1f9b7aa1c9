"""A marketer's campaign in the browser: create it, add a cost in place (a refused one first),
and remove it after confirming — the page is never reloaded for a cost."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.models import Campaign, CampaignCost
from smarketing.roles import Role
from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def marketer(transactional_db: None) -> User:
    return make_user("marketer", Role.MARKETING, first_name="Mara", last_name="Keting")


def test_a_marketer_creates_a_campaign_and_adds_and_removes_a_cost_in_place(
    page: Page, live_server: LiveServer, marketer: User
) -> None:
    login(page, live_server, "marketer", "pw-marketer")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    page.get_by_role("link", name="Create the first one").click()
    page.wait_for_url(live_server.url + reverse("leads:campaign_new"))
    page.get_by_role("textbox", name="Name", exact=True).fill("Spring webinar")
    page.get_by_label("Channel").select_option("webinar")
    page.get_by_label("utm_campaign").fill("spring-24")
    page.get_by_label("Budget").fill("1000")
    page.get_by_role("button", name="Create campaign").click()
    campaign = Campaign.objects.get()
    page.wait_for_url(live_server.url + reverse("leads:campaign", args=[campaign.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spring webinar")

    costs = page.locator("#campaign-costs")
    amount = costs.get_by_label(re.compile("^Amount"))
    amount.fill("10.001")
    costs.get_by_role("button", name="Add cost").click()
    expect(costs.locator("#id_cost-amount_error")).to_have_text("Use at most 2 decimals (cents).")
    expect(costs.get_by_label(re.compile("^Amount"))).to_be_focused()  # swapped in, focus on the field at fault
    costs.get_by_label(re.compile("^Amount")).fill("600")
    costs.get_by_label("Note").fill("Sponsorship")
    costs.get_by_role("button", name="Add cost").click()
    expect(costs.get_by_role("status")).to_contain_text("Added USD 600.00")
    expect(costs).to_contain_text("USD 400.00 left.")
    expect(costs.get_by_role("cell", name="Sponsorship")).to_be_visible()
    screenshot(page, "campaign-1-cost-added")

    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm asks first
    costs.get_by_role("button", name=re.compile("^Remove")).click()
    expect(costs.get_by_role("status")).to_contain_text("Removed USD 600.00")
    expect(costs).to_contain_text("No costs yet.")
    assert not CampaignCost.objects.exists()
    screenshot(page, "campaign-2-cost-removed")

    page.get_by_role("link", name="Campaigns", exact=True).first.click()
    page.wait_for_url(live_server.url + reverse("leads:campaigns"))
    expect(page.get_by_role("row", name=re.compile("^Spring webinar Webinar spring-24"))).to_contain_text("USD 0.00")
    screenshot(page, "campaign-3-list")
