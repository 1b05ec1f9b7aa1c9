"""A manager erases a lead at the person's request: the confirmation step refuses an unticked
box, then the lead's page says who erased it and shows nothing of the person."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.models import Lead, LeadErasure
from smarketing.roles import Role
from tests.browser.conftest import login, screenshot
from tests.factories import LeadFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def manager(transactional_db: None) -> User:
    return make_user("manager", Role.MANAGER, first_name="Mona", last_name="Ager")


def test_a_manager_confirms_and_erases_a_leads_personal_data(page: Page, live_server: LiveServer, manager: User):
    lead = LeadFactory(email="ana.perez@acme.io", first_name="Ana", last_name="Pérez", company="Acme")
    login(page, live_server, "manager", "pw-manager")
    page.goto(live_server.url + reverse("leads:detail", args=[lead.pk]))
    expect(page.get_by_role("link", name="Download data (JSON)")).to_be_visible()
    page.get_by_role("link", name="Erase personal data…").click()
    page.wait_for_url(live_server.url + reverse("leads:data_erase", args=[lead.pk]))
    expect(page.get_by_text("ana.perez@acme.io")).to_be_visible()
    page.get_by_role("button", name="Erase personal data").click()  # the browser asks for the tick first
    assert not LeadErasure.objects.exists()
    page.get_by_label("I understand").check()
    screenshot(page, "lead-erasure-1-confirm")
    page.get_by_role("button", name="Erase personal data").click()
    page.wait_for_url(live_server.url + reverse("leads:detail", args=[lead.pk]))
    expect(page.get_by_role("status").first).to_contain_text("Erased this lead's personal data.")
    expect(page.locator("main")).to_contain_text("erased at the person's request")
    expect(page.locator("main")).not_to_contain_text("Pérez")
    expect(page.get_by_role("link", name="Erase personal data…")).to_have_count(0)
    screenshot(page, "lead-erasure-2-erased")
    assert Lead.objects.get(pk=lead.pk).email == f"erased-{lead.pk}@erased.invalid"
    assert LeadErasure.objects.get().erased_by == manager
