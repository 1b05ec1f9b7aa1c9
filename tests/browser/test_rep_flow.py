"""A rep's day in the browser: land, open My queue, claim the best pooled lead, see why it
qualified, log a call, accept it, and win its deal — the lead ends up a customer.

The data is made through the ORM: this month's agreement, a rep in a team with capacity, and
pooled handoffs of MQLs whose stage change records the definition rules that qualified them.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.models import (
    Activity,
    Agreement,
    ChangeSource,
    Deal,
    Handoff,
    HandoffStatus,
    Lead,
    RepProfile,
    Stage,
    StageChange,
    Team,
)
from leads.sales.assignment import leads_hand_off
from smarketing.lib.periods import month_first
from smarketing.roles import Role
from tests.browser.conftest import login, screenshot
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser

MQL_RULES = ["has event webinar_registered", "webinar_attended after webinar_registered"]
COUNTDOWN = re.compile(r"^in 3h \d\dm$")  # the agreement gives four hours to the first touch


def has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def qualified(first: str, last: str, company: str, score: int) -> Lead:
    """An MQL whose move to MQL records the rules that held, as qualification writes it."""
    lead = LeadFactory(first_name=first, last_name=last, company=company, stage=Stage.MQL, score=score)
    StageChange.objects.create(
        lead=lead,
        from_stage=Stage.LEAD,
        to_stage=Stage.MQL,
        changed_at=timezone.now() - timedelta(hours=2),
        source=ChangeSource.RULE,
        definition_version=3,
        matched_rules=MQL_RULES,
    )
    return lead


@pytest.fixture
def rep(transactional_db: None) -> User:
    Agreement.objects.create(month=month_first(), mql_target=20, close_quota=5, speed_to_lead_hours=4)
    rep = make_user("rep", Role.SALES, first_name="Rafa", last_name="Sales")
    manager = make_user("manager", Role.MANAGER)
    RepProfile.objects.create(user=rep, team=Team.objects.create(name="Iberia", manager=manager), capacity=5)
    leads = [
        qualified("Ana", "Pérez", "Acme Ltda", 78),
        qualified("Luis", "Gómez", "Nube SAS", 64),
        qualified("Marta", "Ruiz", "Kilo SL", 40),
    ]
    leads_hand_off(lead_ids=[lead.pk for lead in leads], stage=Stage.MQL)
    assert Handoff.objects.filter(status=HandoffStatus.POOLED).count() == 3
    return rep


def test_rep_claims_a_lead_works_it_and_wins_the_deal(page: Page, live_server: LiveServer, rep: User) -> None:
    login(page, live_server, "rep", "pw-rep")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your leads")
    expect(page.get_by_text("Marketing → Sales")).to_be_visible()
    screenshot(page, "rep-flow-1-home")

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator("li a").first).to_have_text("My queue")
    nav.get_by_role("link", name="My queue").click()
    page.wait_for_url(live_server.url + reverse("leads:queue"))
    expect(page.get_by_text("Your queue is clear — claim the next lead.")).to_be_visible()
    expect(page.locator(".queue-waiting")).to_have_text("3 waiting in your pools")
    expect(page.locator(".agreement-banner")).to_contain_text("open leads 0 / 5")
    screenshot(page, "rep-flow-2-queue-empty")

    page.get_by_role("button", name="Claim next lead ▸").click()
    expect(page.get_by_role("status")).to_contain_text("Claimed Ana Pérez (Acme Ltda).")
    row = page.locator("#queue-table tbody tr").first
    expect(row).to_contain_text("Ana Pérez")
    expect(row).to_contain_text("has event webinar_registered")
    expect(row.locator("time[data-countdown]")).to_have_text(COUNTDOWN)
    expect(page.locator(".queue-waiting")).to_have_text("2 waiting in your pools")
    screenshot(page, "rep-flow-3-claimed")

    row.get_by_role("link", name="Ana Pérez").click()
    lead = Lead.objects.get(first_name="Ana")
    page.wait_for_url(live_server.url + reverse("leads:detail", args=[lead.pk]))
    why = page.locator(".lead-why")
    expect(why).to_contain_text("MQL under v3")
    for rule in MQL_RULES:
        expect(why).to_contain_text(rule)
    expect(page.locator("#sales-panel")).to_contain_text("first touch due")
    screenshot(page, "rep-flow-4-lead")

    form = page.locator("#log-activity")
    form.get_by_label("Kind").select_option("call")
    form.get_by_label("Outcome").fill("Spoke with Ana: wants a demo")
    form.get_by_label("Note", exact=True).fill("Budget approved for Q1.")
    form.get_by_role("button", name="Log activity").click()
    panel = page.locator("#sales-panel")
    expect(panel.get_by_role("status")).to_contain_text("Logged a call. The speed-to-lead clock has stopped.")
    expect(panel.locator(".sales-activities")).to_contain_text("Spoke with Ana: wants a demo")
    assert Activity.objects.filter(lead=lead, kind="call").count() == 1
    assert Handoff.objects.get(lead=lead).first_touch_at is not None
    screenshot(page, "rep-flow-5-call-logged")

    panel.get_by_role("button", name="Accept and open a deal").click()
    expect(panel.get_by_role("status")).to_contain_text("Accepted: the lead is an opportunity")
    expect(page.locator("#lead-stage")).to_have_text("Opportunity")
    expect(page.locator("#timeline")).to_contain_text("Opportunity")  # reloaded in place
    open_deal = page.locator("#lead-open-deal")
    expect(open_deal).to_contain_text("Discovery")
    screenshot(page, "rep-flow-6-accepted")

    open_deal.get_by_role("link", name="Acme Ltda").click()
    deal = Deal.objects.get(lead=lead)
    page.wait_for_url(live_server.url + reverse("leads:deal", args=[deal.pk]))
    page.get_by_label("Amount", exact=True).fill("12000")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved “Acme Ltda”")
    screenshot(page, "rep-flow-7-deal")

    # On the board, the card moves to Demo by its select and button (no dragging).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals").click()
    page.wait_for_url(live_server.url + reverse("leads:deals"))
    card = page.get_by_role("article", name="Acme Ltda")
    expect(card).to_contain_text("USD 12,000.00")
    card.get_by_label("Move Acme Ltda to").select_option(label="Demo")
    card.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status")).to_contain_text("Moved “Acme Ltda” to Demo.")
    demo = page.get_by_role("region", name=re.compile("^Demo"))
    expect(demo.get_by_role("article", name="Acme Ltda")).to_be_visible()
    screenshot(page, "rep-flow-7b-board")
    demo.get_by_role("link", name="Acme Ltda").click()
    page.wait_for_url(live_server.url + reverse("leads:deal", args=[deal.pk]))

    page.get_by_role("button", name="Mark won").click()
    expect(page.get_by_role("status")).to_contain_text("Ana Pérez is now a customer")
    expect(page.locator("#deal-history-title")).to_be_visible()
    expect(page.locator(".deal-detail .timeline")).to_contain_text("Won")
    screenshot(page, "rep-flow-8-won")

    page.locator(".deal-detail header").get_by_role("link", name="Ana Pérez").click()
    page.wait_for_url(live_server.url + reverse("leads:detail", args=[lead.pk]))
    expect(page.locator("#lead-stage")).to_have_text("Customer")
    screenshot(page, "rep-flow-9-customer")
    lead.refresh_from_db()
    assert lead.stage == Stage.CUSTOMER


def test_queue_keyboard_and_ticking_countdowns(page: Page, live_server: LiveServer, rep: User) -> None:
    login(page, live_server, "rep", "pw-rep")
    page.goto(live_server.url + reverse("leads:queue"))

    page.keyboard.press("c")  # claim
    expect(page.get_by_role("status")).to_contain_text("Claimed Ana Pérez")
    page.keyboard.press("c")
    expect(page.get_by_role("status")).to_contain_text("Claimed Luis Gómez")
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(2)

    # Make the first lead overdue: the countdown says so and the row is marked, without a reload.
    Handoff.objects.filter(lead__first_name="Ana").update(due_at=timezone.now() + timedelta(seconds=2))
    page.reload()
    first = page.locator("#queue-table tbody tr").first
    expect(first).to_contain_text("Ana Pérez")
    expect(first.locator("time[data-countdown]")).to_contain_text("overdue", timeout=6_000)
    expect(first).to_have_class(has_class("overdue"))
    screenshot(page, "rep-flow-keyboard-overdue")

    page.keyboard.press("j")
    expect(page.locator("#queue-table tbody tr").first).to_have_class(has_class("is-selected"))
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Luis Gómez")).to_be_focused()
    page.keyboard.press("k")
    expect(page.get_by_role("link", name="Ana Pérez")).to_be_focused()
    page.keyboard.press("l")  # log a call on the selected lead
    ana = Lead.objects.get(first_name="Ana")
    page.wait_for_url(f"{live_server.url}{reverse('leads:detail', args=[ana.pk])}?log=call")
    expect(page.locator("#log-activity").get_by_label("Kind")).to_have_value("call")
    expect(page.locator("#log-activity").get_by_label("Outcome")).to_be_focused()
    page.keyboard.type("c and j are just letters here")  # typing does not trigger shortcuts
    expect(page.locator("#log-activity").get_by_label("Outcome")).to_have_value("c and j are just letters here")
