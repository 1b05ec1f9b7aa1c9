"""A marketer opens a campaign's page: its figures load into the page from the reports, a month
picked in the panel updates it in place, and its link opens the ROI page at the campaign's row;
there, rows per definition version say which version's leads made the money. The figures are
tests/reports/attribution/world.py's March, worked out by hand."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.models import Lead
from reports.attribution.services import milestones_refresh
from smarketing.lib.periods import month_first
from smarketing.roles import Role
from tests.browser.conftest import login, screenshot
from tests.reports.attribution.world import World, build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db: None) -> World:
    make_user("marketer", Role.MARKETING)
    built = build_world()
    webinar_leads = list(Lead.objects.filter(first_campaign=built.webinar).values_list("pk", flat=True))
    Lead.objects.filter(pk__in=webinar_leads).update(qualified_version=3)
    milestones_refresh(webinar_leads)  # as the rollups do when they read a qualification move
    return built


def test_the_campaign_page_shows_its_own_figures_for_a_chosen_month(page: Page, live_server: LiveServer, world: World):
    user: User = User.objects.get(username="marketer")
    login(page, live_server, user.username, "pw-marketer")
    page.goto(reverse("leads:campaign", args=[world.webinar.pk]))
    panel = page.locator("#campaign-roi")
    expect(panel.get_by_role("heading", level=2)).to_have_text(f"Return on investment · {month_first():%B %Y}")

    panel.get_by_label("Month", exact=True).select_option(label="March 2026")
    panel.get_by_role("button", name="Show").click()
    expect(panel.get_by_role("heading", level=2)).to_have_text("Return on investment · March 2026")
    assert page.url.endswith(reverse("leads:campaign", args=[world.webinar.pk]))  # updated in place
    table = panel.get_by_role("region", name="Attributed revenue and ROI under each model")
    expect(table.get_by_role("row", name="Linear 1 USD 666.67 122.2%")).to_be_visible()
    expect(table.get_by_role("row", name="First touch 1 USD 1,000.00 233.3%")).to_be_visible()
    screenshot(page, "campaign-roi-panel")

    panel.get_by_role("link", name="Beside the other campaigns on the ROI page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ROI · March 2026")
    expect(page.locator(f"#roi-campaign-{world.webinar.pk}")).to_contain_text("Spring webinar")

    page.get_by_label("Rows per").select_option(label="Definition version")
    page.get_by_role("button", name="Show").click()
    rows = page.get_by_role("region", name="ROI per definition version")
    expect(rows.get_by_role("row", name="Version 3")).to_contain_text("1,000.00")
    expect(rows.get_by_role("row", name="(not qualified by a definition)")).to_contain_text("250.50")
    screenshot(page, "roi-per-version")
