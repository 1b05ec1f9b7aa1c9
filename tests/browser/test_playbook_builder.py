"""The seed's playbook, built in the browser: a marketer builds it step by step, dry-runs it,
activates it and enrols the newsletter list; the worker's runs send the newsletter over a real
SMTP server; the lead becomes an opportunity, leaves the newsletter, moves lists and gets
conversion content instead; the lead's page shows both playbooks and the emails.

Screenshots go to artifacts/screenshots/playbook-*.png.
"""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from conftest import make_user
from leads.history import lead_change_stage
from leads.models import HistoryReader, Stage, StageChange
from playbooks.email import services as email
from playbooks.engine import runner, services, triggers
from playbooks.lists import services as lists
from playbooks.lists.selectors import lead_on_list
from playbooks.models import Enrollment, OutboundEmail, TemplateKind
from smarketing.roles import Role
from tests.browser.conftest import login, screenshot
from tests.factories import LeadFactory
from tests.playbooks.smtp import Inbox, smtp_server

pytestmark = pytest.mark.browser
PASSWORD = "a-long-browser-password"


def template(name: str, kind: str, by) -> object:
    body = f"<style>.cta {{ color: #2f5bea; }}</style><p>Hi {{{{ first_name }}}}.</p><p><a class='cta' href='https://example.com/{kind}'>{name}</a></p>"
    return email.template_save(
        data={"name": name, "kind": kind, "subject": f"{name}, {{{{ first_name }}}}", "body": body}, by=by
    )


def worker_runs(now=None) -> None:
    """What the worker and beat do: read the history, run what is due, send the outbox. On
    PostgreSQL the history's reader takes a row once no older transaction is still running
    anywhere on the server (leads.history), so it is asked again until it has read them all."""
    last = StageChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    deadline = time.monotonic() + 30
    while True:
        triggers.enrolments_follow_history()
        place = HistoryReader.objects.filter(name=triggers.HISTORY_READER).values_list("last_id", flat=True).first()
        if (place or 0) >= last or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    triggers.enrolments_follow_rows()
    runner.enrolments_run_due(now=now)
    queued = OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).values_list("pk", flat=True)
    email.outbox_send_many(email_ids=list(queued))


@pytest.fixture
def inbox(settings):
    mail = Inbox()
    with smtp_server(mail) as port:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        yield mail


def test_a_marketer_builds_the_seeds_playbook_and_a_lead_moves_through_it(
    page: Page, live_server: LiveServer, transactional_db: None, inbox: Inbox
) -> None:
    marketer = make_user("marketer", Role.MARKETING)
    marketer.set_password(PASSWORD)
    marketer.save()
    newsletter = template("Monthly newsletter", TemplateKind.PROMOTIONAL, marketer)
    template("Customer case study", TemplateKind.CONVERSION, marketer)
    subscribers = lists.list_save(data={"name": "Newsletter", "kind": "static"}, by=marketer)
    opportunities = lists.list_save(data={"name": "Opportunities", "kind": "static"}, by=marketer)
    case_study = email.EmailTemplate.objects.get(name="Customer case study")
    conversion = services.playbook_save(
        data={
            "name": "Conversion content",
            "trigger": {"type": "manual"},
            "steps": [{"type": "email", "template": case_study.pk}],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=conversion)
    ana = LeadFactory(first_name="Ana", last_name="Pérez", email="ana@acme.example", consent=True, stage=Stage.MQL)
    lists.list_add_leads(lead_list=subscribers, lead_ids=[ana.pk], source="manual")

    # Build it: a list trigger, the newsletter, a week's wait, the newsletter again; leave on becoming an opportunity.
    login(page, live_server, "marketer", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Playbooks").click()
    page.get_by_role("link", name="New playbook").first.click()
    page.get_by_label("Name", exact=True).fill("Newsletter nurture")
    page.get_by_label("When a lead…").select_option("list_joined")
    page.get_by_label("List", exact=True).select_option(str(subscribers.pk))
    for kind in ("email", "wait", "email"):
        page.get_by_label("Add a step").select_option(kind)
        page.get_by_role("button", name="Add step").click()
    page.locator("#s0-template").select_option(str(newsletter.pk))
    page.locator("#s1-days").fill("7")
    page.locator("#s2-template").select_option(str(newsletter.pk))
    page.get_by_label("When the lead reaches").select_option("opportunity")
    screenshot(page, "playbook-1-builder")
    page.get_by_role("button", name="Create playbook").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Newsletter nurture")
    steps = page.locator(".playbook-steps li")
    expect(steps).to_have_count(3)
    expect(steps.first).to_contain_text("Send “Monthly newsletter”")

    # The dry run: Ana, a member of the list, would get the newsletter twice in 30 days.
    page.get_by_role("link", name="Dry run").click()
    expect(page.locator("#dry-run-entering")).to_have_text("1")
    expect(page.locator(".dry-run-lead")).to_contain_text("Ana Pérez")
    expect(page.locator(".dry-run-lead li", has_text="would be sent")).to_have_count(2)
    screenshot(page, "playbook-2-dry-run")
    assert not OutboundEmail.objects.exists()

    # Activate, enrol the list: the worker sends the newsletter over SMTP.
    page.get_by_role("link", name="Back to the playbook").click()
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".messages")).to_contain_text("is active")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("List or segment").select_option(str(subscribers.pk))
    page.get_by_role("button", name="Enrol its leads").click()
    expect(page.locator(".messages")).to_contain_text("1 leads of “Newsletter” enrolled")
    worker_runs()
    assert [(to, message["Subject"]) for _, to, message in inbox.messages] == [
        (["ana@acme.example"], "Monthly newsletter, Ana")
    ]
    assert inbox.messages[0][2]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Sales accepts her: an opportunity. She leaves the newsletter, moves lists, gets conversion content.
    ana.refresh_from_db()
    lead_change_stage(lead=ana, to_stage=Stage.OPPORTUNITY)
    worker_runs(now=timezone.now() + timedelta(days=8))  # the newsletter's second issue would be due
    subjects = [message["Subject"] for _, _, message in inbox.messages]
    assert subjects == ["Monthly newsletter, Ana", "Customer case study, Ana"]
    assert not lead_on_list(subscribers, ana) and lead_on_list(opportunities, ana)
    nurture = Enrollment.objects.get(lead=ana, playbook__name="Newsletter nurture")
    assert (nurture.status, nurture.exit_reason) == ("exited", "stage policy")

    # Her page: both playbooks, and the emails in the timeline.
    page.goto(live_server.url + reverse("leads:detail", args=[ana.pk]))
    panel = page.locator("section[aria-labelledby=playbooks-title]")
    expect(panel).to_contain_text("Newsletter nurture")
    expect(panel).to_contain_text("Exited: stage policy")
    expect(panel).to_contain_text("Conversion content")
    expect(panel.locator(".lead-lists")).to_have_text("Lists: Opportunities")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Customer case study")
    screenshot(page, "playbook-3-lead")
    page.goto(live_server.url + reverse("playbooks:playbook", args=[nurture.playbook_id]))
    expect(page.locator(".playbook-steps li").first).to_contain_text("1 emailed")
