"""The first run, as a new user meets it: the demo seeded as `make run` seeds it, then the rep
claims a lead and takes it to a won deal, and the manager changes a team and reads the agreement.

Screenshots of each step go to artifacts/screenshots/first-run-*.png.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from leads.demo.world import DEMO_PASSWORD, REP_CAPACITY
from leads.models import AssignmentLog, Handoff, HandoffStatus, RepProfile, Stage
from tests.browser.conftest import login, logout, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db: None) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_first_run_tells_the_whole_story(page: Page, live_server: LiveServer, demo: str) -> None:
    # The rep lands on their leads, with both sides of the agreement.
    login(page, live_server, "rep", DEMO_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your leads")
    expect(page.get_by_text("Marketing → Sales")).to_be_visible()
    screenshot(page, "first-run-1-rep-home")

    # My queue holds leads, and the pools leads to claim.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My queue").click()
    page.wait_for_url(live_server.url + reverse("leads:queue"))
    rows = page.locator("#queue-table tbody tr")
    expect(rows.first).to_be_visible()
    held = rows.count()
    assert 5 <= held <= 15, held
    expect(page.locator(".queue-waiting")).to_have_text(re.compile(r"^\d[\d,]* waiting in your pools$"))
    expect(page.locator("#queue-table")).to_contain_text("overdue")
    screenshot(page, "first-run-2-queue")

    # One click claims the best pooled lead; it is the first row, with why it is here.
    page.get_by_role("button", name="Claim next lead ▸").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Claimed ")
    claim = AssignmentLog.objects.filter(action=AssignmentLog.Action.CLAIMED, to_rep__username="rep").latest("id")
    claimed_lead = claim.lead
    assert Handoff.objects.filter(status=HandoffStatus.ASSIGNED, assigned_to__username="rep").count() == held + 1
    expect(status).to_contain_text(f"Claimed {claimed_lead.full_name}")
    screenshot(page, "first-run-3-claimed")

    # Two more clicks: the lead, then log the call.
    page.locator("#queue-table").get_by_role("link", name=claimed_lead.full_name or claimed_lead.email).click()
    page.wait_for_url(live_server.url + reverse("leads:detail", args=[claimed_lead.pk]))
    expect(page.locator(".lead-why")).to_contain_text("under v2")
    form = page.locator("#log-activity")
    form.get_by_label("Kind").select_option("call")
    form.get_by_label("Outcome").fill("Spoke with them after the webinar: wants a demo")
    form.get_by_role("button", name="Log activity").click()
    panel = page.locator("#sales-panel")
    expect(panel.get_by_role("status")).to_contain_text("Logged a call.")
    screenshot(page, "first-run-4-call")

    # Accept: an opportunity with a deal, which the rep wins.
    panel.get_by_role("button", name="Accept and open a deal").click()
    expect(panel.get_by_role("status")).to_contain_text("Accepted: the lead is an opportunity")
    expect(page.locator("#lead-stage")).to_have_text("Opportunity")
    page.locator("#lead-open-deal").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/leads/deals/\d+/$"))
    page.get_by_label("Amount", exact=True).fill("24000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    page.get_by_role("button", name="Mark won").click()
    expect(page.get_by_role("status")).to_contain_text("is now a customer")
    screenshot(page, "first-run-5-won")
    claimed_lead.refresh_from_db()
    assert claimed_lead.stage == Stage.CUSTOMER
    logout(page, live_server)

    # The manager lands on the dashboard, changes a rep's capacity in a team, reads the agreement.
    login(page, live_server, "manager", DEMO_PASSWORD)
    expect(page.get_by_text("Sales → Marketing")).to_be_visible()
    screenshot(page, "first-run-6-manager-home")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Teams").click()
    page.wait_for_url(live_server.url + reverse("leads:teams"))
    page.get_by_role("link", name="EMEA", exact=True).click()
    page.wait_for_url(re.compile(r"/leads/teams/\d+/$"))
    rep3 = RepProfile.objects.get(user__username="rep3")
    row_form = page.get_by_role("form", name=re.compile("^Capacity and time away of Hannah"))
    row_form.get_by_label("Capacity").fill(str(REP_CAPACITY + 3))
    row_form.get_by_role("button", name="Save").click()
    expect(page.locator("#reps")).to_contain_text(f"/ {REP_CAPACITY + 3}")
    rep3.refresh_from_db()
    assert rep3.capacity == REP_CAPACITY + 3
    screenshot(page, "first-run-7-team")

    nav.get_by_role("link", name="Agreement").click()
    page.wait_for_url(live_server.url + reverse("reports:agreement"))
    expect(page.get_by_text("MQLs delivered")).to_be_visible()
    expect(page.locator(".attainment")).to_contain_text("handed over")
    screenshot(page, "first-run-8-agreement")
