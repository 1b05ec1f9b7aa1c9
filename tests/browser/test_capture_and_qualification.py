"""From a capture form to a qualified lead, clicked through in a real browser.

A marketer builds a form; an anonymous visitor fills in its hosted page from a newsletter
link; the marketer finds the new lead, sees its score explained and its source; marketing
and sales sign a new qualification definition, the marketer activates it, and the
requalification job promotes the lead. Each step is checked on the page and in the database.
"""

import json
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.demo.scoring import ARTICLE_SQL
from leads.models import (
    CaptureForm,
    DefinitionStatus,
    Event,
    Job,
    Lead,
    Persona,
    QualificationDefinition,
    ScoringRule,
    Stage,
)
from leads.qualification import services as qualification
from smarketing.roles import Role
from tests.browser.conftest import TIMEOUT_MS, login, logout, screenshot

pytestmark = pytest.mark.browser

# Characters that must come back as text, never as markup.
FORM_NAME = "Pricing webinar & <trial> sign-up"
CONSENT = "Send me the price list & webinar invitations."
EMAIL = "ana.perez@acme-ltda.example"
COMPANY = "Acme <Ltda> & Co"
TITLE = "Head of Operations"
PERSONA_FIT = 75  # title (2) and company (1) of the persona's 4 weights match


@pytest.fixture
def team(transactional_db: None) -> dict[str, User]:
    """What nobody clicks for this flow: the two users, one engagement rule, one persona."""
    ScoringRule.objects.create(name="Form submitted", event_type="form_submitted", points=10)
    Persona.objects.create(
        name="Ops lead",
        conditions=[
            {"field": "title", "op": "contains", "value": "operations", "weight": 2},
            {"field": "company", "op": "present", "weight": 1},
            {"field": "industry", "op": "eq", "value": "SaaS", "weight": 1},
        ],
    )
    return {
        "marketer": make_user("marketer", Role.MARKETING, first_name="Mara", last_name="Keting"),
        "rep": make_user("rep", Role.SALES, first_name="Rafa", last_name="Sales"),
    }


@pytest.fixture
def visitor(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A second, separate browser context: an anonymous visitor with no cookies of the marketer's."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(page, f"failed-{request.node.name}-visitor")
    context.close()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Requalification jobs handed to Celery, recorded instead of sent.

    No worker runs here, and the embedded broker is a folder under var/ that a developer's own
    worker reads: a message left there would name a job of a test database long gone.
    """
    sent: list[int] = []

    def record(name: str, job_id: int) -> None:
        if name == "jobs.requalify":
            sent.append(job_id)

    monkeypatch.setattr("leads.jobs.task_send_on_commit", record)
    return sent


def nav(page: Page, label: str) -> None:
    """Follow a link of the left navigation and wait for its page."""
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(re.escape(href or "") + r"(\?.*)?$"))


def field(page: Page, label: str, *, required: bool = False) -> Locator:
    """A hosted-form text box by its label; a required one says so to screen readers."""
    suffix = " (required)" if required else ""
    return page.get_by_role("textbox", name=re.compile(f"^{re.escape(label + suffix)}$"))


def fact(section: Locator, term: str) -> Locator:
    """The value beside a term of a definition list (<dt>term</dt><dd>value</dd>)."""
    dt = section.get_by_role("term").filter(has_text=re.compile(f"^{re.escape(term)}$"))
    return dt.locator("xpath=following-sibling::dd[1]")


def messages(page: Page) -> Locator:
    """The page's flash messages (a live region)."""
    return page.get_by_role("status").filter(has=page.locator("li.message"))


# --- The steps ----------------------------------------------------------------------------


def marketer_builds_a_form(page: Page, live_server: LiveServer) -> CaptureForm:
    nav(page, "Forms")
    expect(page.get_by_role("heading", level=1)).to_have_text("Capture forms")
    expect(page.get_by_text("No capture forms yet.")).to_be_visible()
    screenshot(page, "capture-01-forms-empty")

    page.get_by_role("link", name="New form").click()
    page.wait_for_url(live_server.url + reverse("leads:form_new"))
    page.get_by_label("Name", exact=True).fill(FORM_NAME)
    shown = page.get_by_role("group", name="Fields shown")
    required = page.get_by_role("group", name="Required fields")
    for label in ("First name", "Last name", "Company", "Title"):
        shown.get_by_label(label, exact=True).check()
    for label in ("First name", "Company"):
        required.get_by_label(label, exact=True).check()
    page.get_by_label("Consent text").fill(CONSENT)
    expect(page.get_by_label("Accept submissions")).to_be_checked()
    screenshot(page, "capture-02-form-builder")
    page.get_by_role("button", name="Create form").click()

    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/leads/forms/\d+/$"))
    form = CaptureForm.objects.get()
    assert page.url == live_server.url + reverse("leads:form_detail", args=[form.pk])
    assert form.name == FORM_NAME and form.is_active and form.consent_text == CONSENT
    assert form.fields == ["email", "first_name", "last_name", "company", "title"]
    assert form.required_fields == ["email", "first_name", "company"]
    assert form.created_by.username == "marketer"

    expect(page.get_by_role("heading", level=1)).to_contain_text(FORM_NAME)
    expect(messages(page)).to_contain_text(f"Form “{FORM_NAME}” created.")
    settings = page.get_by_role("region", name="Settings")
    expect(settings).to_contain_text("Email, First name, Last name, Company, Job title")
    expect(settings).to_contain_text(CONSENT)
    page_url = live_server.url + reverse("capture-page", args=[form.key])
    expect(page.get_by_label("Hosted page")).to_have_value(page_url)
    expect(page.get_by_role("region", name="Share")).to_contain_text(f'action="{live_server.url}/api/v1/capture/')
    screenshot(page, "capture-03-form-detail")

    page.get_by_role("link", name="Open the page").click()
    page.wait_for_url(page_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(FORM_NAME)
    expect(field(page, "Email", required=True)).to_be_visible()
    screenshot(page, "capture-04-hosted-page-as-marketer")
    return form


def visitor_submits_the_form(visitor: Page, live_server: LiveServer, form: CaptureForm) -> Lead:
    page_url = live_server.url + reverse("capture-page", args=[form.key])
    visitor.goto(page_url + "?utm_source=newsletter&utm_campaign=x")
    expect(visitor.get_by_role("heading", level=1)).to_have_text(FORM_NAME)
    # The visitor sees the public layout: no navigation, no user menu.
    expect(visitor.get_by_role("navigation", name="Main")).to_have_count(0)
    email = field(visitor, "Email", required=True)
    expect(email).to_have_attribute("required", "")
    expect(field(visitor, "Job title")).not_to_have_attribute("required", "")
    email.fill(f"  {EMAIL.upper()} ")
    field(visitor, "First name", required=True).fill("Ana")
    field(visitor, "Last name").fill("Pérez")
    field(visitor, "Company", required=True).fill(COMPANY)
    field(visitor, "Job title").fill(TITLE)
    visitor.get_by_label(CONSENT).check()
    screenshot(visitor, "capture-05-hosted-page-filled")
    visitor.get_by_role("button", name="Send").click()

    visitor.wait_for_url(live_server.url + reverse("capture-thanks", args=[form.key]))
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(visitor.get_by_text(f"We have your details from “{FORM_NAME}”.")).to_be_visible()
    screenshot(visitor, "capture-06-thank-you")

    lead = Lead.objects.get()
    assert lead.email == EMAIL  # trimmed and case-folded
    assert (lead.first_name, lead.last_name, lead.company, lead.title) == ("Ana", "Pérez", COMPANY, TITLE)
    assert lead.consent and lead.source == "newsletter" and lead.stage == Stage.LEAD
    event = Event.objects.get(lead=lead)
    assert event.type == "form_submitted"
    assert event.properties == {"form": form.key, "utm_source": "newsletter", "utm_campaign": "x"}
    assert lead.persona.name == "Ops lead" and lead.fit_score == PERSONA_FIT
    assert lead.score == PERSONA_FIT + 10 > 0
    assert sum(lead.score_breakdown.values()) == lead.score
    return lead


def marketer_finds_the_lead(page: Page, live_server: LiveServer, lead: Lead) -> None:
    nav(page, "Leads")
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    filters = page.get_by_role("form", name="Filter leads")
    filters.get_by_label("Search", exact=True).fill(EMAIL)
    filters.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"[?&]q=" + re.escape("ana.perez%40acme-ltda.example")))
    expect(page.get_by_role("list", name="Active filters")).to_contain_text(f"Search: {EMAIL}")
    rows = page.locator(".lead-table tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    row = rows.first
    for text in (EMAIL, COMPANY, "newsletter", "Ops lead", str(lead.score)):
        expect(row).to_contain_text(text)
    screenshot(page, "capture-07-lead-list-search")

    row.get_by_role("link", name="Ana Pérez").click()
    page.wait_for_url(live_server.url + reverse("leads:detail", args=[lead.pk]))
    header = page.locator(".lead-header")
    expect(header.get_by_role("heading", level=1)).to_have_text("Ana Pérez")
    expect(header).to_contain_text(f"{TITLE} · {COMPANY}")
    expect(header.locator(".badge")).to_have_text("Lead")
    facts = page.get_by_role("region", name="Contact and company")
    expect(fact(facts, "Email")).to_have_text(EMAIL)
    expect(fact(facts, "First touch")).to_have_text("newsletter")
    expect(fact(facts, "Consent")).to_contain_text("Agreed")
    expect(facts).to_contain_text(f"Ops lead · fit {PERSONA_FIT}")
    expect(facts.locator("li.matched")).to_have_count(2)

    why = page.get_by_role("region", name="Why this score")
    breakdown = why.get_by_role("table")
    expect(breakdown.get_by_role("row", name=re.compile("^Form submitted"))).to_contain_text("+10")
    expect(breakdown.get_by_role("row", name=re.compile(r"^Fit \(Ops lead\)"))).to_contain_text(f"+{PERSONA_FIT}")
    expect(breakdown.get_by_role("row", name=re.compile("^Score"))).to_contain_text(str(lead.score))
    expect(why).to_contain_text("Not qualified by a definition yet.")

    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("form_submitted")
    expect(timeline).to_contain_text("utm_source: newsletter")
    screenshot(page, "capture-08-lead-page-scored")


def marketer_drafts_and_signs_a_definition(page: Page, live_server: LiveServer) -> QualificationDefinition:
    nav(page, "Definitions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Qualification definitions")
    expect(page.get_by_text("No definitions yet.")).to_be_visible()
    page.get_by_role("link", name="New draft from scratch").click()
    page.wait_for_url(live_server.url + reverse("leads:definition_new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New draft")

    page.get_by_role("textbox", name="Name (optional)").fill("Form, then webinar & trial")
    notes = "MQL: filled in a form. SQL: the article's price list and trial after the webinar."
    page.get_by_role("textbox", name="Notes (optional)").fill(notes)

    # MQL with the builder: start with a "Has event" rule, then name the event.
    mql = page.get_by_role("group", name="MQL criteria", exact=True)
    mql.get_by_label("Start with").select_option(label="Has event")
    mql.get_by_role("button", name="Add").click()
    event = mql.get_by_label("Event", exact=True)
    expect(event).to_be_visible()  # htmx swapped the builder in place
    event.fill("form_submitted")
    mql.get_by_label("within days").fill("30")

    # SQL through the advanced JSON box, with the article's tree.
    sql = page.get_by_role("group", name="SQL criteria", exact=True)
    sql.get_by_text("Advanced: edit the SQL tree as JSON").click()
    sql.get_by_label("SQL tree as JSON").fill(json.dumps(ARTICLE_SQL, indent=2))
    sql.get_by_role("button", name="Use this JSON").click()
    expect(sql.get_by_label("Event", exact=True)).to_have_count(2)  # the tree now shows both rules
    expect(mql.get_by_label("Event", exact=True)).to_have_value("form_submitted")  # kept while SQL changed
    screenshot(page, "capture-09-definition-builder")

    page.get_by_role("button", name="Save draft").click()
    definition = _wait_for_definition(page, live_server)
    assert definition.status == DefinitionStatus.DRAFT and definition.created_by.username == "marketer"
    assert definition.mql_rule == {
        "op": "all",
        "children": [{"op": "has_event", "event": "form_submitted", "within_days": 30}],
    }
    assert definition.sql_rule == ARTICLE_SQL
    v = f"v{definition.version}"
    expect(messages(page)).to_contain_text(f"Created draft {v}.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    mql_outline = page.get_by_role("region", name=re.compile("^MQL:")).get_by_role("listitem")
    expect(mql_outline).to_have_text(["all of:", "form submitted in the last 30 days"])
    sql_outline = page.get_by_role("region", name=re.compile("^SQL:")).get_by_role("listitem")
    expect(sql_outline).to_have_text(
        ["all of:", "pricing downloaded after webinar attended", "trial started after webinar attended"]
    )

    actions = page.get_by_role("group", name=f"Actions on {v}")
    actions.get_by_role("button", name="Propose for sign-off").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Proposed")
    expect(messages(page)).to_contain_text(f"Proposed {v}.")
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.PROPOSED

    expect(actions.get_by_role("button", name="Sign for sales")).to_have_count(0)  # not marketing's side
    actions.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_text("It now waits for the other side's signature.")).to_be_visible()
    expect(page.locator(".page-header")).to_contain_text("Marketing: Mara Keting ✓")
    expect(page.locator(".page-header")).to_contain_text("Sales: pending")
    expect(actions.get_by_role("button", name=re.compile("^Sign for"))).to_have_count(0)
    screenshot(page, "capture-10-definition-signed-by-marketing")
    definition.refresh_from_db()
    assert definition.marketing_signed_by.username == "marketer" and definition.sales_signed_by is None
    assert definition.status == DefinitionStatus.PROPOSED
    return definition


def _wait_for_definition(page: Page, live_server: LiveServer) -> QualificationDefinition:
    """After saving, the builder navigates to the new version's page."""
    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/leads/definitions/\d+/$"))
    pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
    return QualificationDefinition.objects.get(pk=pk)


def rep_signs_for_sales(page: Page, live_server: LiveServer, definition: QualificationDefinition) -> None:
    v = f"v{definition.version}"
    login(page, live_server, "rep", "pw-rep")
    nav(page, "Definitions")
    versions = page.get_by_role("table")
    expect(versions.get_by_role("row", name=re.compile(f"^{v} "))).to_contain_text("Proposed")
    versions.get_by_role("link", name=v, exact=True).click()
    page.wait_for_url(live_server.url + reverse("leads:definition", args=[definition.pk]))

    actions = page.get_by_role("group", name=f"Actions on {v}")
    expect(actions.get_by_role("button", name="Sign for marketing")).to_have_count(0)
    expect(actions.get_by_role("button", name=re.compile("^(Edit|Propose|Activate)"))).to_have_count(0)
    actions.get_by_role("button", name="Sign for sales").click()
    expect(page.get_by_text("Both sides have signed: it is approved and can be activated.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approved")
    expect(page.locator(".page-header")).to_contain_text("Sales: Rafa Sales ✓")
    screenshot(page, "capture-11-definition-approved-by-sales")
    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.APPROVED and definition.sales_signed_by.username == "rep"
    logout(page, live_server)


def marketer_activates(
    page: Page, live_server: LiveServer, definition: QualificationDefinition, lead: Lead, queued: list[int]
) -> None:
    v = f"v{definition.version}"
    login(page, live_server, "marketer", "pw-marketer")
    nav(page, "Definitions")
    page.get_by_role("table").get_by_role("link", name=v, exact=True).click()
    page.wait_for_url(live_server.url + reverse("leads:definition", args=[definition.pk]))
    page.get_by_role("group", name=f"Actions on {v}").get_by_role("button", name=f"Activate {v}").click()

    expect(page.get_by_text(f"Activated {v}. Requalifying 1 lead in the background")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
    job = Job.objects.latest("pk")
    assert job.kind == "requalify" and job.params == {"definition_id": definition.pk} and job.total == 1
    assert queued == [job.pk] and job.status == Job.Status.QUEUED
    progress = page.get_by_role("region", name="Requalification").get_by_role("progressbar")
    expect(progress).to_be_visible()
    expect(progress).to_have_accessible_name(re.compile(f"Requalifying 1 lead under {v}: (queued|running)"))
    screenshot(page, "capture-12-definition-activated-job-queued")

    # No Celery worker runs here: do the queued job's work as the worker would.
    job = qualification.requalify_run(job=job)
    assert job.status == Job.Status.DONE and job.result == {"promoted": {"mql": 1, "sql": 0}}

    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
    requalification = page.get_by_role("region", name="Requalification")
    expect(requalification.get_by_role("progressbar")).to_have_accessible_name(
        re.compile(f"Requalifying 1 lead under {v}: done \\(1 of 1\\)")
    )
    expect(requalification).to_contain_text("Promoted 1 to MQL and 0 to SQL.")
    actions = page.get_by_role("group", name=f"Actions on {v}")
    expect(actions.get_by_role("button", name=re.compile("^(Activate|Sign for|Propose)"))).to_have_count(0)
    expect(actions.get_by_role("link", name="Edit as a new draft")).to_be_visible()
    screenshot(page, "capture-13-definition-active")

    definition.refresh_from_db()
    assert definition.status == DefinitionStatus.ACTIVE and definition.activated_at is not None
    assert definition.marketing_signed_by.username == "marketer" and definition.sales_signed_by.username == "rep"
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.qualified_version == definition.version

    # The lead page now says why it qualified.
    page.goto(live_server.url + reverse("leads:detail", args=[lead.pk]))
    expect(page.locator(".lead-header .badge")).to_have_text("MQL")
    expect(page.locator(".lead-header")).to_contain_text(f"qualified under {v}")
    why = page.get_by_role("list", name="Why qualified")
    expect(why).to_contain_text(f"MQL under {v}")
    expect(why).to_contain_text("✓ form submitted in the last 30 days")
    screenshot(page, "capture-14-lead-page-qualified")


# --- The flow -----------------------------------------------------------------------------


def test_a_form_submission_becomes_a_scored_lead_that_an_agreed_definition_qualifies(
    page: Page, visitor: Page, live_server: LiveServer, team: dict[str, User], queued: list[int]
) -> None:
    login(page, live_server, "marketer", "pw-marketer")
    form = marketer_builds_a_form(page, live_server)

    lead = visitor_submits_the_form(visitor, live_server, form)
    marketer_finds_the_lead(page, live_server, lead)

    definition = marketer_drafts_and_signs_a_definition(page, live_server)
    logout(page, live_server)
    rep_signs_for_sales(page, live_server, definition)
    marketer_activates(page, live_server, definition, lead, queued)

    assert CaptureForm.objects.count() == 1 and Lead.objects.count() == 1
    assert QualificationDefinition.objects.filter(status=DefinitionStatus.ACTIVE).count() == 1
