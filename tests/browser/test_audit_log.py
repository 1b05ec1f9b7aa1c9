"""A manager follows "Audit log" from the menu, narrows it to personas and opens a change: the
marketer's edit, field by field, before and after, the rule's conditions as a line diff."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from leads.sales.services import agreement_set
from leads.scoring.rules import persona_save
from smarketing.lib.periods import month_first
from tests.browser.conftest import login, screenshot
from tests.browser.test_every_page import AXE_JS, FAILING_IMPACTS, axe_violations, describe

pytestmark = pytest.mark.browser

CTO = {"field": "title", "op": "contains", "value": "CTO", "weight": 3}
FINTECH = {"field": "industry", "op": "eq", "value": "Fintech", "weight": 1}


def test_a_manager_reads_who_changed_a_persona_and_how(
    page: Page, live_server: LiveServer, manager: User, marketer: User
) -> None:
    persona, _ = persona_save(by=marketer, name="CTO", description="", conditions=[CTO])
    persona_save(by=marketer, persona=persona, name="CTO", description="Tech buyers", conditions=[CTO, FINTECH])
    agreement_set(month=month_first(), by=manager, values={"mql_target": 30})
    page.context.add_init_script(path=str(AXE_JS))

    login(page, live_server, "manager", "pw-manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    rows = page.get_by_role("region", name="Configuration changes").locator("tbody > tr:has(details)")
    expect(rows).to_have_count(3)

    page.get_by_label("Kind").select_option(label="Persona")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)
    newest = rows.first
    expect(newest).to_contain_text("marketer")
    expect(newest).to_contain_text("Changed persona")
    newest.get_by_text("2 fields").click()
    expect(newest.locator("del.diff-removed")).to_have_text("—")  # the description was empty
    expect(newest.locator("ins.diff-added")).to_have_text("Tech buyers")
    expect(newest.locator(".diff li.diff-added", has_text='"value": "Fintech"')).to_have_count(1)
    expect(newest.locator(".diff li.diff-removed", has_text="Fintech")).to_have_count(0)
    screenshot(page, "audit-log-persona-change")

    serious = [describe(v) for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not serious, serious
