"""A marketer enrols a lead from the playbooks panel of its page; a playbook paused while the
page was open is refused with a 400 that names the field, on an accessible page leading back."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from playbooks.engine import services
from playbooks.models import Enrollment, Playbook
from tests.browser.conftest import csp_refusals, login, screenshot
from tests.browser.test_every_page import AXE_JS, FAILING_IMPACTS, axe_violations, describe
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


def active_playbook(name: str, by: User) -> Playbook:
    data = {"name": name, "trigger": {"type": "manual"}, "steps": [{"type": "wait", "days": 3}]}
    playbook = services.playbook_save(data=data, by=by)
    return services.playbook_activate(playbook=playbook, by=by)


def test_a_marketer_enrols_a_lead_and_a_paused_playbook_is_refused_on_its_field(
    page: Page, live_server: LiveServer, marketer: User
) -> None:
    lead = LeadFactory(first_name="Ana", last_name="Ruiz", consent=True)
    welcome, webinar = active_playbook("Welcome", marketer), active_playbook("Webinar follow-up", marketer)
    page.context.add_init_script(path=str(AXE_JS))
    refused_by_csp = csp_refusals(page)
    login(page, live_server, "marketer", "pw-marketer")

    page.goto(reverse("leads:detail", args=[lead.pk]))
    panel = page.get_by_role("region", name="Playbooks")
    panel.get_by_label("Enrol in").select_option(label="Welcome")
    panel.get_by_role("button", name="Enrol").click()
    expect(page.get_by_text("Enrolled in “Welcome”.")).to_be_visible()
    expect(panel.get_by_role("link", name="Welcome")).to_be_visible()  # its enrolment

    services.playbook_pause(playbook=Playbook.objects.get(pk=webinar.pk), by=marketer)  # while the page is open
    panel.get_by_label("Enrol in").select_option(label="Webinar follow-up")
    with page.expect_navigation() as refused:
        panel.get_by_role("button", name="Enrol").click()
    assert refused.value.status == 400
    select = page.get_by_label("Enrol in")
    expect(select).to_have_attribute("aria-invalid", "true")
    expect(select).to_have_accessible_description(
        "Choose one of the active playbooks listed: that one does not exist or is not active."
    )
    screenshot(page, "lead-playbooks-refused")
    serious = [describe(v) for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not serious, serious
    assert not refused_by_csp
    assert list(Enrollment.objects.filter(lead=lead).values_list("playbook", flat=True)) == [welcome.pk]

    page.get_by_role("link", name="← Back to the lead").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ana Ruiz")
