"""Playbooks through the API and the builder page: bad input gets a 400 naming each field and
nothing is stored; a marketer builds, dry-runs and activates; who may do what."""

import html

import pytest
from django.urls import reverse

from leads.models import Stage
from playbooks.engine import runner, services
from playbooks.models import Enrollment, Playbook
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/playbooks/"


def test_the_api_creates_activates_dry_runs_and_pauses(seed, marketer_client):
    body = {
        "name": "Trial nurture",
        "trigger": {"type": "stage_entered", "stage": "mql"},
        "steps": [
            {"type": "email", "template": seed.newsletter.pk},
            {"type": "wait", "days": 2},
            {"type": "email", "template": seed.case_study.pk},
        ],
        "exits": [{"type": "stage_reached", "stage": "opportunity"}],
    }
    created = marketer_client.post(API, body, content_type="application/json")
    assert created.status_code == 201, created.content
    playbook = created.json()
    assert playbook["status"] == "draft" and [s["key"] for s in playbook["steps"]] == ["s1", "s2", "s3"]
    assert playbook["promotional"] is True

    LeadFactory(stage=Stage.MQL, consent=True)
    run = marketer_client.get(f"{API}{playbook['id']}/dry-run/")
    assert run.status_code == 200
    plan = run.json()
    assert plan["entering"] == 1 and plan["horizon_days"] == 30
    assert [step["type"] for step in plan["leads"][0]["steps"]] == ["email", "wait", "email"]
    assert plan["emails_among_shown"] == {"Monthly newsletter": 1, "Customer case study": 1}
    assert not Enrollment.objects.exists()

    assert marketer_client.post(f"{API}{playbook['id']}/activate/").json()["status"] == "active"
    assert marketer_client.post(f"{API}{playbook['id']}/pause/").json()["status"] == "paused"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": [{"type": "email", "template": 999999}]}, "steps.0.template"),
        ({"steps": [{"type": "teleport"}]}, "steps.0.type"),
        (
            {
                "steps": [
                    {"key": "a", "type": "wait", "days": 1},
                    {"key": "b", "type": "branch", "condition": {"op": "score_gte", "value": 5}, "then": "a"},
                ]
            },
            "steps.1.then",
        ),
        ({"steps": [{"type": "wait", "days": -1}]}, "steps.0.days"),
        ({"steps": [{"type": "branch", "condition": {"op": "has_event", "event": "Bad Name"}}]}, "steps.0.condition"),
        ({"trigger": {"type": "stage_entered", "stage": "heaven"}}, "trigger.stage"),
        ({"trigger": {"type": "event", "event": "x y"}}, "trigger.event"),
        ({"name": ""}, "name"),
        ({"reentry": "after_days"}, "reentry_days"),
        ({"exits": [{"type": "goal", "condition": {"op": "nope"}}]}, "exits.0.condition"),
        ({"steps": [{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}]}, "steps.0.url"),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_is_stored(seed, marketer_client, change, field):
    body = {"name": "Bad", "trigger": {"type": "manual"}, "steps": [{"type": "wait", "days": 1}], **change}
    answer = marketer_client.post(API, body, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert not Playbook.objects.filter(name="Bad").exists()


def test_a_playbook_that_loops_is_refused(seed, marketer_client):
    body = {
        "name": "Loop",
        "trigger": {"type": "list_joined", "list": seed.newsletter_list.pk},
        "reentry": "after_exit",
        "steps": [
            {"type": "list_remove", "list": seed.newsletter_list.pk},
            {"type": "list_add", "list": seed.newsletter_list.pk},
        ],
    }
    answer = marketer_client.post(API, body, content_type="application/json")
    assert answer.status_code == 400
    assert "loop" in answer.json()["steps"][0]
    assert not Playbook.objects.filter(name="Loop").exists()


def test_reps_may_not_touch_playbooks_but_read_their_leads_enrolments(seed, rep, rep_client, marketer):
    assert rep_client.get(API).status_code == 403
    assert rep_client.get(reverse("playbooks:playbooks")).status_code == 403
    mine, theirs = LeadFactory(owner=rep, consent=True), LeadFactory(consent=True)
    for lead in (mine, theirs):
        services.lead_enrol(playbook=seed.conversion, lead=lead, by=marketer)
    runner.enrolments_run_due()
    answer = rep_client.get(f"/api/v1/leads/{mine.pk}/enrollments/")
    assert answer.status_code == 200
    assert [(e["playbook_name"], [r["outcome"] for r in e["step_runs"]]) for e in answer.json()] == [
        ("Conversion content", ["emailed", "waiting"])
    ]
    assert rep_client.get(f"/api/v1/leads/{theirs.pk}/enrollments/").status_code == 404
    panel = rep_client.get(reverse("playbooks:lead-playbooks", args=[mine.pk]))
    assert panel.status_code == 200 and b"Conversion content" in panel.content and b"Enrol in" not in panel.content
    enrol = rep_client.post(reverse("playbooks:lead-playbooks", args=[mine.pk]), {"playbook": seed.nurture.pk})
    assert enrol.status_code == 403
    assert Enrollment.objects.filter(lead=mine).count() == 1


def builder_post(client, url, fields, action="save"):
    return client.post(url, {**fields, "action": action})


def test_a_marketer_builds_a_playbook_step_by_step_in_the_page(seed, marketer_client):
    url = reverse("playbooks:playbook-new")
    assert b"<title>New playbook \xc2\xb7 smarketing</title>" in marketer_client.get(url).content
    base = {
        "name": "Built by hand",
        "trigger_type": "list_joined",
        "trigger_list": seed.newsletter_list.pk,
        "reentry": "never",
        "step_count": 0,
    }
    page = builder_post(marketer_client, url, {**base, "new_type": "email"}, action="add")
    assert page.status_code == 200 and b"s0-template" in page.content
    fields = {**base, "step_count": 1, "s0-type": "email", "s0-key": "", "s0-template": ""}
    refused = builder_post(marketer_client, url, fields)
    assert refused.status_code == 400 and b"Choose one of the email templates." in refused.content
    fields["s0-template"] = seed.newsletter.pk
    page = builder_post(marketer_client, url, {**fields, "new_type": "wait"}, action="add")
    assert b"s1-days" in page.content
    fields.update({"step_count": 2, "s1-type": "wait", "s1-key": "", "s1-days": 3, "s1-hours": 0})
    page = builder_post(marketer_client, url, fields, action="up-1")
    assert page.content.index(b'name="s0-days"') < page.content.index(b'name="s1-template"')
    saved = builder_post(marketer_client, url, fields)
    assert saved.status_code == 302
    playbook = Playbook.objects.get(name="Built by hand")
    assert [(s["type"], s.get("template"), s.get("days")) for s in playbook.steps] == [
        ("email", seed.newsletter.pk, None),
        ("wait", None, 3),
    ]
    detail = marketer_client.get(saved["Location"])
    assert "Send “Monthly newsletter”".encode() in detail.content
    edit = marketer_client.get(reverse("playbooks:playbook-edit", args=[playbook.pk]))
    assert edit.status_code == 200 and b'value="s1"' in edit.content


def test_pages_answer_with_few_queries(seed, marketer, marketer_client, django_assert_max_num_queries):
    for _ in range(5):
        services.lead_enrol(playbook=seed.conversion, lead=LeadFactory(consent=True), by=marketer)
    runner.enrolments_run_due()
    with django_assert_max_num_queries(12):
        assert marketer_client.get(reverse("playbooks:playbooks")).status_code == 200
    with django_assert_max_num_queries(14):
        assert marketer_client.get(reverse("playbooks:playbook", args=[seed.conversion.pk])).status_code == 200
    page = marketer_client.get(reverse("playbooks:playbook-dry-run", args=[seed.nurture.pk]))
    assert page.status_code == 200 and b"would enter" in page.content


# --- A lead's playbooks panel ------------------------------------------------------------------


def panel_url(lead) -> str:
    return reverse("playbooks:lead-playbooks", args=[lead.pk])


def test_a_marketer_enrols_a_lead_from_its_panel(seed, marketer_client):
    lead = LeadFactory(consent=True)
    panel = marketer_client.get(panel_url(lead)).content.decode()
    assert '<label for="enrol-playbook">Enrol in</label>' in panel
    assert f'<option value="{seed.conversion.pk}">Conversion content</option>' in panel
    answer = marketer_client.post(panel_url(lead), {"playbook": seed.conversion.pk}, follow=True)
    assert answer.redirect_chain == [(reverse("leads:detail", args=[lead.pk]), 302)]
    assert "Enrolled in “Conversion content”." in answer.content.decode()
    assert list(Enrollment.objects.filter(lead=lead).values_list("playbook__name", flat=True)) == ["Conversion content"]


def pause(playbook: Playbook, by) -> str:
    services.playbook_pause(playbook=playbook, by=by)
    return str(playbook.pk)


NOT_LISTED = "Choose one of the active playbooks listed: that one does not exist or is not active."


@pytest.mark.parametrize(
    ("playbook", "message"),
    [
        (None, "Choose a playbook to enrol the lead in."),
        ("", "Choose a playbook to enrol the lead in."),
        ("999999", NOT_LISTED),
        ("99999999999999999999999", NOT_LISTED),
        ("nurture", NOT_LISTED),
        ("1\x00", "Null characters are not allowed."),
        ("paused", NOT_LISTED),
    ],
    ids=["missing", "empty", "unknown", "too-big", "not-a-number", "nul", "paused"],
)
def test_an_enrolment_without_an_active_playbook_is_a_400_on_the_playbook_field(
    seed, marketer, manager_client, playbook, message
):
    lead = LeadFactory(consent=True)
    if playbook == "paused":
        playbook = pause(seed.conversion, marketer)
    answer = manager_client.post(panel_url(lead), {} if playbook is None else {"playbook": playbook})
    assert answer.status_code == 400
    assert answer.context["enrol_form"].errors == {"playbook": [message]}
    page = answer.content.decode()
    # The panel on a page of its own: the message tied to the select, the way back to the lead.
    assert 'aria-invalid="true" aria-describedby="enrol-playbook_error"' in page
    assert f'<ul class="errorlist" id="enrol-playbook_error"><li>{html.escape(message)}</li></ul>' in page
    assert f'href="{reverse("leads:detail", args=[lead.pk])}"' in page
    assert not Enrollment.objects.filter(lead=lead).exists()


def test_the_refusal_shows_when_no_playbook_is_active_any_more(seed, marketer, marketer_client):
    lead = LeadFactory(consent=True)
    for playbook in (seed.nurture, seed.conversion):
        pause(playbook, marketer)
    assert b"Enrol in" not in marketer_client.get(panel_url(lead)).content  # nothing to offer
    answer = marketer_client.post(panel_url(lead), {"playbook": seed.conversion.pk})
    assert answer.status_code == 400
    assert html.escape(NOT_LISTED) in answer.content.decode()
    assert not Enrollment.objects.exists()


def test_a_rep_posting_to_another_reps_lead_finds_nothing_whatever_it_sends(seed, rep_client, other_rep):
    theirs = LeadFactory(owner=other_rep, consent=True)
    for data in ({}, {"playbook": "999999"}, {"playbook": seed.conversion.pk}):
        assert rep_client.post(panel_url(theirs), data).status_code == 404
    assert not Enrollment.objects.exists()


def test_the_panel_and_its_refusal_take_few_queries_whatever_the_leads_enrolments(
    seed, marketer, marketer_client, django_assert_max_num_queries
):
    lead = LeadFactory(consent=True)
    for playbook in (seed.nurture, seed.conversion):
        services.lead_enrol(playbook=playbook, lead=lead, by=marketer)
    runner.enrolments_run_due()
    # The login's 3, the lead, its enrolments and their steps, its lists, the form's playbooks.
    with django_assert_max_num_queries(10):
        assert marketer_client.get(panel_url(lead)).content.count(b'<ol class="enrolment-steps">') == 2
    with django_assert_max_num_queries(10):
        assert marketer_client.post(panel_url(lead), {}).status_code == 400
