"""The manager opens the alignment dashboard: Chart.js (served by the app) draws every chart
beside its table; choosing a period and a campaign changes the figures, and a figure's link
lists the leads behind it. The figures are world.py's, worked out by hand."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from smarketing.roles import Role
from tests.browser.conftest import login, screenshot
from tests.reports.dashboard.world import build_world

pytestmark = pytest.mark.browser

CHARTS = ("marketing", "sales", "funnel", "velocity", "pipeline", "reasons")

# Per chart: drawn by Chart.js, its canvas's size, and how many of its pixels are painted.
DRAWN = """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {name: canvas.dataset.chart, chart: Boolean(window.Chart.getChart(canvas)),
          width: canvas.width, height: canvas.height, painted};
})"""


@pytest.fixture
def manager(transactional_db: None) -> User:
    user = make_user("manager", Role.MANAGER, first_name="Mona", last_name="Ager")
    build_world(make_user("rep", Role.SALES))
    return user


def test_the_manager_reads_the_charts_and_tables_and_narrows_them(page: Page, live_server: LiveServer, manager: User):
    login(page, live_server, "manager", "pw-manager")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alignment dashboard")

    # A custom period holds the world's January; the charts are drawn, each beside its table.
    page.get_by_label("Period", exact=True).select_option(label="From … to …")
    expect(page.get_by_label("Month", exact=True)).to_be_hidden()
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="1 Jan 2026 to 31 Jan 2026")).to_be_visible()
    drawn = {chart["name"]: chart for chart in page.evaluate(DRAWN)}
    assert set(drawn) == set(CHARTS)
    for name, chart in drawn.items():
        assert chart["chart"] and chart["width"] > 0 and chart["height"] > 0, name
        assert chart["painted"] > 0, f"the {name} chart is blank"
    for table in ("Marketing → Sales by month", "Sales → Marketing by month", "Velocity", "Pipeline"):
        expect(page.get_by_role("region", name=table).get_by_role("table")).to_be_visible()
    entries = page.get_by_role("region", name="Funnel by period")
    expect(entries.get_by_role("row", name="MQL 3")).to_be_visible()
    screenshot(page, "dashboard-january")

    # Only the Webinar campaign's leads: A and C.
    page.get_by_label("Campaign", exact=True).select_option(label="Webinar")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="1 Jan 2026 to 31 Jan 2026 · filtered")).to_be_visible()
    expect(entries.get_by_role("row", name="MQL 2")).to_be_visible()
    assert page.evaluate(DRAWN)[2]["chart"]  # drawn again from the new figures
    screenshot(page, "dashboard-january-webinar")

    # The figure's link lists the leads behind it.
    entries.get_by_role("row", name="MQL 2").get_by_role("link", name="2").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Leads that first entered MQL from 1 Jan 2026 to 31 Jan 2026"
    )
    expect(page.get_by_role("link", name="Ana A")).to_be_visible()
    expect(page.get_by_role("link", name="Carla C")).to_be_visible()
    expect(page.get_by_role("link", name="Bruno B")).to_have_count(0)


def test_charts_fit_a_phone_and_the_tables_stay(browser, live_server: LiveServer, manager: User):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 800})
    page = context.new_page()
    login(page, live_server, "manager", "pw-manager")
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " ...[...document.querySelectorAll('canvas[data-chart]')].map((c) => c.getBoundingClientRect().width)]"
    )
    scroll, inner, *canvases = widths
    assert scroll <= inner and all(0 < width <= inner for width in canvases)
    expect(page.get_by_role("region", name="Funnel by cohort").get_by_role("table")).to_be_visible()
    screenshot(page, "dashboard-phone")
    context.close()
