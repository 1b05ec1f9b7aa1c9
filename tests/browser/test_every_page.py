"""Every page of the app, as each role that may open it, on a desktop and on a phone.

The pages are read from the URL configuration: each named route is either listed in PAGES (who
opens it, with which ids) or in SKIPPED (with why it is no page): a page added later fails
`test_every_route_is_a_listed_page_or_skipped_for_a_reason` until it is listed, and is then
visited with the rest. On each page axe-core (WCAG 2.1 A and AA) must find no serious or critical violation,
and nothing may scroll sideways, on a phone (390 px) as on a desktop (1280 px), and the
Content-Security-Policy may refuse nothing (Chromium logs each refusal to the console: an inline
script, style or handler would be one). A screenshot of
each page at each width is saved as artifacts/screenshots/every-page-<width>-<role>-<page>.png.
Moderate and minor violations do not fail the test; they are listed in its failure message.

This module is also a URLConf (`settings.ROOT_URLCONF = __name__`): the product's routes plus
two that answer 400 and 500, so the error pages are checked as a visitor really meets them.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django.live_server_helper import LiveServer

from reports.pack.selectors import last_week
from reports.pack.services import meeting_pack_build
from smarketing import urls as product_urls
from tests.browser.conftest import TIMEOUT_MS, csp_refusals, login, screenshot
from tests.browser.pages_world import IMPORT_CSV, World, build_world

pytestmark = pytest.mark.browser


# --- A URLConf with the two error pages no product route can be made to answer ---------------


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug, for the 500 page")


def bad_input(request: HttpRequest) -> HttpResponse:
    raise BadRequest("for the 400 page")


urlpatterns = [
    path("test/crash/", crash, name="test-500"),
    path("test/bad-request/", bad_input, name="test-400"),
    *product_urls.urlpatterns,
]
handler400 = product_urls.handler400
handler403 = product_urls.handler403
handler404 = product_urls.handler404
handler500 = product_urls.handler500


# --- Who opens what -------------------------------------------------------------------------

MARKETER, REP, MANAGER, VISITOR = "marketer", "rep", "manager", "visitor"
STAFF = (MARKETER, REP, MANAGER)
EDITORS = (MARKETER, MANAGER)
SALES = (REP, MANAGER)
EVERYONE = (*STAFF, VISITOR)
WIDTHS = {"desktop": 1280, "phone": 390}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")


@dataclass(frozen=True)
class Visit:
    """Who opens a page, the path parameters from the fixture's ids, and the status it answers."""

    roles: tuple[str, ...]
    kwargs: Callable[[World], dict[str, Any]] = lambda world: {}
    status: int = 200
    reach: Callable[[Page], None] | None = None  # for a page only a step before it leads to


def upload_a_csv(page: Page) -> None:
    """The mapping page exists only for a file this user just uploaded."""
    page.goto(reverse("leads:import_new"))
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "trade-show contacts.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Upload and map columns").click()
    assert "/map/" in page.url, page.url


def open_the_leads_behind_a_figure(page: Page) -> None:
    """The list exists for a figure of the dashboard: the leads created in the last year."""
    today = timezone.localdate()
    days = f"from={today - timedelta(days=365):%Y-%m-%d}&to={today:%Y-%m-%d}"
    page.goto(f"{reverse('reports:dashboard-leads')}?figure=created&{days}")


def meeting_pack_week() -> dict[str, Any]:
    """Last week's pack, built as beat builds it (the same row again at each visit)."""
    return {"week": meeting_pack_build(monday=last_week(), email=False).week}


def lead(world: World) -> dict[str, Any]:
    return {"pk": world.lead}


PAGES: dict[str, Visit] = {
    "home": Visit(STAFF),
    "login": Visit((VISITOR,)),
    "password_change": Visit(STAFF),
    "password_change_done": Visit(STAFF),
    "accounts:password-reset": Visit((VISITOR,)),
    "accounts:password-reset-done": Visit((VISITOR,)),
    "accounts:password-reset-confirm": Visit((VISITOR,), lambda w: {"uidb64": "MQ", "token": "used-up"}),
    "accounts:password-reset-complete": Visit((VISITOR,)),
    "accounts:logins": Visit((MANAGER,)),
    "audit:changes": Visit((MANAGER,)),
    "capture-page": Visit((VISITOR,), lambda w: {"key": w.form_key}),
    "capture-thanks": Visit((VISITOR,), lambda w: {"key": w.form_key}),
    "leads:list": Visit(STAFF),
    "leads:detail": Visit(STAFF, lead),
    "leads:edit": Visit(EDITORS, lead),
    "leads:merge": Visit(EDITORS, lead),
    "leads:merge_confirm": Visit(EDITORS, lambda w: {"pk": w.lead, "other_pk": w.other_lead}),
    "leads:data_erase": Visit((MANAGER,), lead),
    "leads:imports": Visit(EDITORS),
    "leads:import_new": Visit(EDITORS),
    "leads:import_map": Visit(EDITORS, reach=upload_a_csv),
    "leads:import_detail": Visit(EDITORS, lambda w: {"pk": w.import_job}),
    "leads:campaigns": Visit(EDITORS),
    "leads:campaign_new": Visit(EDITORS),
    "leads:campaign": Visit(EDITORS, lambda w: {"pk": w.campaign}),
    "leads:campaign_edit": Visit(EDITORS, lambda w: {"pk": w.campaign}),
    "leads:campaign_cost_remove": Visit(EDITORS, lambda w: {"pk": w.campaign, "cost_pk": w.cost}),
    "leads:personas": Visit(EDITORS),
    "leads:persona_create": Visit(EDITORS),
    "leads:persona_edit": Visit(EDITORS, lambda w: {"pk": w.persona}),
    "leads:persona_active": Visit(EDITORS, lambda w: {"pk": w.persona}),
    "leads:scoring": Visit(EDITORS),
    "leads:rule_create": Visit(EDITORS),
    "leads:rule_edit": Visit(EDITORS, lambda w: {"pk": w.rule}),
    "leads:rule_active": Visit(EDITORS, lambda w: {"pk": w.rule}),
    "leads:definitions": Visit(STAFF),
    "leads:definition_new": Visit(EDITORS),
    "leads:definition": Visit(STAFF, lambda w: {"pk": w.draft}),
    "leads:definition_edit": Visit(EDITORS, lambda w: {"pk": w.draft}),
    "leads:definition_retire": Visit((MANAGER,), lambda w: {"pk": w.active}),
    "leads:definition_review": Visit(STAFF, lambda w: {"pk": w.draft}),
    "leads:forms": Visit(EDITORS),
    "leads:form_new": Visit(EDITORS),
    "leads:form_detail": Visit(EDITORS, lambda w: {"pk": w.form}),
    "leads:form_edit": Visit(EDITORS, lambda w: {"pk": w.form}),
    "leads:queue": Visit(SALES),
    "leads:deals": Visit(SALES),
    "leads:deal_list": Visit(SALES),
    "leads:deal": Visit(SALES, lambda w: {"pk": w.deal}),
    "leads:notifications": Visit(STAFF),
    "leads:teams": Visit((MANAGER,)),
    "leads:team": Visit((MANAGER,), lambda w: {"pk": w.team}),
    "leads:assignment_rule_new": Visit((MANAGER,)),
    "leads:assignment_rule_edit": Visit((MANAGER,), lambda w: {"pk": w.assignment_rule}),
    "reports:agreement": Visit(STAFF),
    "reports:agreement_edit": Visit((MANAGER,)),
    "reports:roi": Visit(EDITORS),
    "reports:campaign-roi": Visit(EDITORS, lambda w: {"pk": w.campaign}),
    "reports:win-loss": Visit(EDITORS),
    "reports:funnel": Visit(EDITORS),
    "reports:meeting-packs": Visit(EDITORS),
    "reports:meeting-pack": Visit(EDITORS, lambda w: meeting_pack_week()),
    "reports:dashboard": Visit(STAFF),
    "reports:dashboard-leads": Visit(STAFF, reach=lambda page: open_the_leads_behind_a_figure(page)),
    "playbooks:playbooks": Visit(EDITORS),
    "playbooks:playbook-new": Visit(EDITORS),
    "playbooks:playbook": Visit(EDITORS, lambda w: {"pk": w.playbook}),
    "playbooks:playbook-edit": Visit(EDITORS, lambda w: {"pk": w.playbook}),
    "playbooks:playbook-dry-run": Visit(EDITORS, lambda w: {"pk": w.playbook}),
    "playbooks:email-templates": Visit(EDITORS),
    "playbooks:email-template-new": Visit(EDITORS),
    "playbooks:email-template": Visit(EDITORS, lambda w: {"pk": w.email_template}),
    "playbooks:email-template-preview": Visit(EDITORS, lambda w: {"pk": w.email_template}),
    "playbooks:outbox": Visit(EDITORS),
    "playbooks:outbox-email": Visit(EDITORS, lambda w: {"pk": w.outbox_email}),
    "playbooks:lists": Visit(EDITORS),
    "playbooks:list-new": Visit(EDITORS),
    "playbooks:list": Visit(EDITORS, lambda w: {"pk": w.lead_list}),
    "playbooks:list-edit": Visit(EDITORS, lambda w: {"pk": w.segment}),
    "playbooks:list-delete": Visit(EDITORS, lambda w: {"pk": w.segment}),
    "playbooks:list-member-remove": Visit(EDITORS, lambda w: {"pk": w.lead_list, "lead_pk": w.lead}),
    "playbooks:list-import": Visit(EDITORS, lambda w: {"pk": w.lead_list}),
    "playbooks:referrals": Visit(EDITORS),
    "playbooks:referral-pay": Visit(EDITORS, lambda w: {"pk": w.referral}),
    "referrals:landing": Visit((VISITOR,), lambda w: {"code": w.referral_code}),
    "referrals:thanks": Visit((VISITOR,), lambda w: {"code": w.referral_code}),
    "referrals:nps": Visit((VISITOR,), lambda w: {"token": w.nps_token}),
    "test-400": Visit(EVERYONE, status=400),
    "test-500": Visit(EVERYONE, status=500),
}

# Error pages no route names: (label, path, roles, status).
ERROR_PAGES = [
    ("404", "/no/such/page/", EVERYONE, 404),
    ("403", "/leads/personas/", (REP,), 403),  # marketing and managers only
]

POST_ONLY = "POST only: an action, not a page"
SKIPPED: dict[str, str] = {
    "logout": POST_ONLY,
    "accounts:logins-unlock": POST_ONLY,
    "leads:export": "a CSV download",
    "leads:data_export": "a JSON download",
    "leads:import_errors": "a CSV download",
    "leads:bulk_owner": POST_ONLY,
    "leads:view_save": POST_ONLY,
    "leads:view_delete": POST_ONLY,
    "leads:import_status": "htmx partial: the import page polls it for progress",
    "leads:campaign_cost_add": POST_ONLY,
    "leads:job": "htmx partial: a job's progress bar, polled",
    "leads:definition_propose": POST_ONLY,
    "leads:definition_sign": POST_ONLY,
    "leads:definition_activate": POST_ONLY,
    "leads:definition_backtest": POST_ONLY,
    "leads:definition_job": "htmx partial: a definition's job, polled; shown on the definition page",
    "leads:queue_claim": POST_ONLY,
    "leads:lead_activity": POST_ONLY,
    "leads:lead_accept": POST_ONLY,
    "leads:lead_reject": POST_ONLY,
    "leads:lead_recycle": POST_ONLY,
    "leads:lead_hand_off": POST_ONLY,
    "leads:deal_move": POST_ONLY,
    "leads:deal_edit": POST_ONLY,
    "leads:deal_won": POST_ONLY,
    "leads:deal_lost": POST_ONLY,
    "leads:deal_reopen": POST_ONLY,
    "leads:notifications_read": POST_ONLY,
    "leads:notification_bell": "htmx partial: the top bar's bell, loaded after each page",
    "leads:team_rep_add": POST_ONLY,
    "leads:team_rep_update": POST_ONLY,
    "leads:team_rep_remove": POST_ONLY,
    "leads:assignment_rule_delete": POST_ONLY,
    "leads:assignment_rule_move": POST_ONLY,
    "playbooks:email-template-test": POST_ONLY,
    "playbooks:playbook-activate": POST_ONLY,
    "playbooks:playbook-pause": POST_ONLY,
    "playbooks:playbook-enrol-list": POST_ONLY,
    "playbooks:playbook-delete": POST_ONLY,
    "playbooks:enrolment-remove": POST_ONLY,
    "playbooks:lead-playbooks": "htmx partial: a lead's playbooks, loaded into the lead page (tests/playbooks/engine)",
    "playbooks:outbox-retry": POST_ONLY,
    "playbooks:outbox-email-html": "a message's HTML, framed by its outbox page and checked there",
    "playbooks:email-template-preview-html": "a message's HTML, framed by the preview page and checked there",
    "reports:meeting-pack-csv": "a CSV download",
    "reports:meeting-pack-build": POST_ONLY,
    "reports:action-item-add": POST_ONLY,
    "reports:action-item-assign": POST_ONLY,
    "reports:action-item-close": POST_ONLY,
    "playbooks:list-members-add": POST_ONLY,
    "playbooks:list-export": "a CSV download",
    "playbooks:list-preview": "htmx partial: the live count beside a segment's condition",
    "email:open": "an email's open pixel: an image, reached from a message",
    "email:click": "an email's click redirect, reached from a message",
    "email:unsubscribe": "reached from a message with its signed token (tests/playbooks/test_email_sending.py)",
}
# The REST API and its docs; Django's admin; the email services' webhooks (machines post to them).
SKIPPED_PREFIXES = ("api/", "admin/", "email/webhooks/")


def routes(patterns: list[Any] | None = None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(route, name) of every pattern in the URL configuration, names with their namespace."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            yield route, f"{namespace}{pattern.name}" if pattern.name else ""


@pytest.fixture(autouse=True)
def _with_error_routes(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def world(transactional_db: None, settings: Any, tmp_path: Path) -> World:
    """Built for each test (a third of a second): a live-server test empties the tables after it."""
    settings.MEDIA_ROOT = tmp_path  # the import's files
    return build_world()


def test_every_route_is_a_listed_page_or_skipped_for_a_reason() -> None:
    names = {name: route for route, name in routes() if not route.startswith(SKIPPED_PREFIXES)}
    assert "" not in names, f"a route has no name, so it cannot be listed: {names['']}"
    unlisted = sorted(set(names) - set(PAGES) - set(SKIPPED))
    assert not unlisted, f"list these in PAGES (who opens them) or SKIPPED (why they are no page): {unlisted}"
    gone = sorted((set(PAGES) | set(SKIPPED)) - set(names))
    assert not gone, f"listed but no longer routed: {gone}"


# --- Checking one page ----------------------------------------------------------------------

# Elements wider than the screen, deepest first: what to fix when a page scrolls sideways.
OVERFLOWING = """() => {
  const width = window.innerWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.right > width + 1 && box.width > 0 && !clipped(el);
  });
  return wide.filter((el) => !wide.some((other) => other !== el && el.contains(other)))
    .slice(0, 5).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
      + ' ' + Math.round(el.getBoundingClientRect().right) + 'px');
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("(options) => axe.run(document, options).then((r) => r.violations)", options)


def describe(violation: dict[str, Any]) -> str:
    nodes = violation["nodes"]
    where = "; ".join(json.dumps(node["target"]) for node in nodes[:3])
    more = f" (+{len(nodes) - 3} more)" if len(nodes) > 3 else ""
    summary = nodes[0].get("failureSummary", "").replace("\n", " ") if nodes else ""
    return f"{violation['impact']} {violation['id']} on {len(nodes)} node(s): {where}{more} — {summary}"


def check(page: Page, label: str, width: int, problems: list[str], notes: list[str], refused: list[str]) -> None:
    problems.extend(f"{label}: the Content-Security-Policy refused: {text}" for text in refused)
    refused.clear()
    for violation in axe_violations(page):
        line = f"{label}: {describe(violation)}"
        (problems if violation["impact"] in FAILING_IMPACTS else notes).append(line)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{label}: {scroll - inner} px wider than the screen: {page.evaluate(OVERFLOWING)}")
    screenshot(page, f"every-page-{width}-{label}")


def visit(page: Page, url: str, status: int, label: str, problems: list[str]) -> bool:
    response = page.goto(url)
    if response is None or response.status != status:
        problems.append(f"{label}: answered {response and response.status}, expected {status}")
        return False
    return True


# --- The test -------------------------------------------------------------------------------


@pytest.fixture
def context(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    width = WIDTHS[request.node.callspec.params["width"]]
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(path=str(AXE_JS))  # axe-core in every page this context opens
    yield context
    context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("role", EVERYONE)
def test_every_page_is_accessible_and_fits_the_screen(
    context: BrowserContext, live_server: LiveServer, world: World, role: str, width: str
) -> None:
    page = context.new_page()
    csp_refused = csp_refusals(page)
    if role != VISITOR:
        login(page, live_server, role, f"pw-{role}")
    problems: list[str] = []
    notes: list[str] = []
    pixels = WIDTHS[width]
    for name, spec in PAGES.items():
        if role not in spec.roles:
            continue
        label = f"{role} {name}"
        if spec.reach is not None:
            spec.reach(page)
        elif not visit(page, reverse(name, kwargs=spec.kwargs(world)), spec.status, label, problems):
            continue
        check(page, label, pixels, problems, notes, csp_refused)
    for code, url, roles, status in ERROR_PAGES:
        if role in roles and visit(page, url, status, f"{role} {code}", problems):
            check(page, f"{role} {code}", pixels, problems, notes, csp_refused)
    if role == VISITOR:  # a form whose security token is gone: the CSRF failure page
        page.goto(reverse("login"))
        page.locator("input[name=csrfmiddlewaretoken]").evaluate("(input) => input.remove()")
        with page.expect_navigation() as refused:
            page.get_by_role("button", name="Log in").click()
        assert refused.value.status == 403
        check(page, f"{role} 403-csrf", pixels, problems, notes, csp_refused)
    message = "\n".join(problems + [f"(moderate or minor) {note}" for note in notes])
    assert not problems, f"{len(problems)} problem(s) at {pixels} px:\n{message}"
