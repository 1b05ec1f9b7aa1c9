"""Each role logs in through the form and lands on its own page of real figures."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.models import AssignmentLog, Lead, Stage
from smarketing.roles import Role
from tests.browser.conftest import login, logout, screenshot
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def team(transactional_db: None) -> dict[str, User]:
    """One user per role, two leads of the rep's, four unowned, two campaigns."""
    users = {
        "marketer": make_user("marketer", Role.MARKETING, first_name="Mara", last_name="Keting"),
        "rep": make_user("rep", Role.SALES, first_name="Rafa", last_name="Sales"),
        "manager": make_user("manager", Role.MANAGER, first_name="Mona", last_name="Ager"),
    }
    for first in ("Sofia", "Samir"):  # handed to the rep this month
        lead = LeadFactory(owner=users["rep"], stage=Stage.SQL, first_name=first, last_name="Owned")
        AssignmentLog.objects.create(lead=lead, action=AssignmentLog.Action.ASSIGNED, to_rep=users["rep"])
    LeadFactory.create_batch(3, stage=Stage.MQL)
    LeadFactory(stage=Stage.CUSTOMER, first_name="Carla", last_name="Unowned")
    CampaignFactory.create_batch(2)
    return users


def kpi(page: Page, label: str) -> str:
    """The value shown beside a KPI label on the landing page."""
    exact = re.compile(f"^{re.escape(label)}$")
    card = page.locator(".kpi").filter(has=page.locator(".kpi-label", has_text=exact))
    return card.locator(".kpi-value").inner_text()


# What each role's landing page shows for `team`: its heading and KPI cards (label: value).
LANDINGS = [
    ("marketer", "Marketing overview", {"Leads": "6", "MQLs": "3", "SQLs": "2", "Customers": "1", "Campaigns": "2"}),
    ("rep", "Your leads", {"Your leads": "2", "SQLs": "2", "Handed to you this month": "2"}),
]


@pytest.mark.parametrize(("username", "heading", "figures"), LANDINGS)
def test_each_role_logs_in_and_lands_on_its_own_figures(
    page: Page, live_server: LiveServer, team: dict[str, User], username: str, heading: str, figures: dict[str, str]
) -> None:
    login(page, live_server, username, f"pw-{username}")

    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator(".user-menu .username")).to_have_text(team[username].get_full_name())
    for label, value in figures.items():
        assert kpi(page, label) == value, label
    stages = page.get_by_role("figure", name="Leads by stage")
    expect(stages.get_by_role("row", name="SQL")).to_contain_text("2")
    screenshot(page, f"landing-{username}")

    logout(page, live_server)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.goto(live_server.url + reverse("home"))
    expect(page).to_have_url(f"{live_server.url}{reverse('login')}?next={reverse('home')}")


def test_the_manager_logs_in_and_lands_on_the_alignment_dashboard(
    page: Page, live_server: LiveServer, team: dict[str, User]
) -> None:
    from reports.attribution.services import rollups_rebuild

    rollups_rebuild()  # what beat keeps current: the dashboard reads the rollups
    login(page, live_server, "manager", "pw-manager")

    expect(page.get_by_role("heading", level=1)).to_have_text("Alignment dashboard")
    expect(page.locator(".user-menu .username")).to_have_text(team["manager"].get_full_name())
    expect(page.get_by_role("heading", name="Marketing → Sales")).to_be_visible()
    expect(page.get_by_role("heading", name="Sales → Marketing")).to_be_visible()
    cohorts = page.get_by_role("region", name="Funnel by cohort")
    expect(cohorts.get_by_role("row").nth(1).get_by_role("cell").first).to_have_text("6")  # this month's leads
    screenshot(page, "landing-manager")

    logout(page, live_server)
    page.goto(live_server.url + reverse("home"))
    expect(page).to_have_url(f"{live_server.url}{reverse('login')}?next={reverse('home')}")


def test_rep_sees_only_their_own_leads_in_recent_leads(
    page: Page, live_server: LiveServer, team: dict[str, User]
) -> None:
    login(page, live_server, "rep", "pw-rep")

    recent = page.get_by_role("region", name="Recent leads")
    expect(recent.get_by_role("link", name="Sofia Owned")).to_be_visible()
    expect(recent.get_by_role("link", name="Samir Owned")).to_be_visible()
    expect(recent.get_by_role("link", name="Carla Unowned")).to_have_count(0)
    assert Lead.objects.filter(owner=team["rep"]).count() == 2


def test_wrong_password_keeps_the_user_on_the_login_form(
    page: Page, live_server: LiveServer, team: dict[str, User]
) -> None:
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("rep")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(live_server.url + reverse("login"))
    screenshot(page, "login-refused")
