"""Mass assignment: fields the product decides (a lead's owner, stage, scores, author, creation
time and unsubscribe state; a playbook's status; a record's author; a deal's owner and outcome)
cannot be set by sending them. Each is ignored, or refused with a 4xx naming it where the
field is one the caller may send but not with that value."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Activity, Campaign, CaptureForm, Deal, DealStage, Lead, Stage
from leads.sales.worklog import lead_accept
from playbooks.models import EmailTemplate, LeadList, Playbook
from tests.bad_input import LEAD_PROTECTED
from tests.factories import LeadFactory
from tests.leads.sales.helpers import assigned_lead

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def protected_for(user) -> dict:
    return {**LEAD_PROTECTED, "owner": user.pk, "owner_id": user.pk, "created_by": user.pk}


def assert_untouched(lead: Lead) -> None:
    lead.refresh_from_db()
    assert lead.owner_id is None and lead.stage in (Stage.SUBSCRIBER, Stage.LEAD)
    assert (lead.score, lead.fit_score, lead.engagement_score) == (0, 0, 0)
    assert lead.pk != LEAD_PROTECTED["id"] and lead.created_at > timezone.now() - timedelta(minutes=5)


def test_creating_a_lead_through_the_api_ignores_what_the_product_decides(marketer, rep):
    response = api(marketer).post("/api/v1/leads/", {"email": "new@example.com", **protected_for(rep)}, format="json")
    assert response.status_code == 201
    lead = Lead.objects.get(email="new@example.com")
    assert_untouched(lead)
    body = response.json()
    assert (body["owner"], body["score"], body["id"]) == (None, 0, lead.pk)


def test_merging_into_a_known_lead_cannot_resubscribe_or_move_it(marketer, rep):
    known = LeadFactory(email="known@example.com", unsubscribed_at=timezone.now(), consent=True)
    body = {"email": "KNOWN@example.com ", **protected_for(rep), "consent": False}
    assert api(marketer).post("/api/v1/leads/", body, format="json").status_code == 200
    known_before = known.unsubscribed_at
    assert_untouched(known)
    assert known.unsubscribed_at == known_before and known.consent  # false never withdraws; nothing resubscribes


def test_an_events_lead_facts_cannot_carry_what_the_product_decides(marketer, rep):
    event = {
        "idempotency_key": "k1",
        "email": "ev@example.com",
        "type": "page_viewed",
        "occurred_at": timezone.now().isoformat(),
        "lead": {"company": "Acme", **protected_for(rep)},
    }
    assert api(marketer).post("/api/v1/events/", event, format="json").status_code in (200, 201, 202)
    lead = Lead.objects.get(email="ev@example.com")
    assert lead.company == "Acme"
    assert lead.owner_id is None and lead.stage in (Stage.SUBSCRIBER, Stage.LEAD)


def test_the_public_capture_endpoint_ignores_what_the_product_decides(client, rep):
    form = CaptureForm.objects.create(name="Sign-up", key="sign-up", fields=["email"], required_fields=["email"])
    fields = {key: value for key, value in protected_for(rep).items() if not isinstance(value, list | None)}
    response = client.post(f"/api/v1/capture/{form.key}/", {"email": "cap@example.com", **fields})
    assert response.status_code == 303
    assert_untouched(Lead.objects.get(email="cap@example.com"))


def test_the_edit_page_ignores_owner_stage_and_scores(marketer_client, rep):
    lead = LeadFactory(first_name="Ana")
    data = {"first_name": "Ann", **{k: v for k, v in protected_for(rep).items() if not isinstance(v, list | None)}}
    response = marketer_client.post(f"/leads/{lead.pk}/edit/", data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_name == "Ann"
    assert_untouched(lead)


def test_records_are_authored_by_the_caller_whatever_the_body_says(marketer, manager):
    forged = {"created_by": manager.pk, "created_by_id": manager.pk, "id": 4242, "created_at": "2000-01-01T00:00:00Z"}
    client = api(marketer)
    campaign = {"name": "Spring", "channel": "webinar", "utm_campaign": "spring", "spend": "0", "leads": 99}
    assert client.post("/api/v1/campaigns/", {**campaign, **forged}, format="json").status_code == 201
    lead_list = {"name": "Newsletter", "kind": "static"}
    assert client.post("/api/v1/lists/", {**lead_list, **forged}, format="json").status_code == 201
    template = {"name": "Hi", "kind": "promotional", "subject": "Hi", "body": "<p>Hi</p>"}
    assert client.post("/api/v1/email-templates/", {**template, **forged}, format="json").status_code == 201
    for model in (Campaign, LeadList, EmailTemplate):
        row = model.objects.get()
        assert row.created_by_id == marketer.pk and row.pk != 4242, model
        assert row.created_at.year > 2000


def test_a_playbook_is_created_as_a_draft_whatever_its_status_says(marketer):
    body = {
        "name": "Nurture",
        "trigger": {"type": "stage_entered", "stage": "mql"},
        "steps": [{"type": "wait", "days": 1}],
        "status": "active",
        "activated_at": "2020-01-01T00:00:00Z",
        "promotional": False,
        "id": 777,
    }
    response = api(marketer).post("/api/v1/playbooks/", body, format="json")
    assert response.status_code == 201
    playbook = Playbook.objects.get()
    assert (playbook.status, playbook.activated_at, playbook.pk == 777) == ("draft", None, False)


def test_an_activity_is_the_callers_whatever_the_body_says(rep, other_rep):
    lead = assigned_lead(rep)
    body = {"kind": "call", "by": other_rep.pk, "user": other_rep.pk, "lead": 1, "created_by": other_rep.pk}
    assert api(rep).post(f"/api/v1/leads/{lead.pk}/activities/", body, format="json").status_code == 201
    activity = Activity.objects.get()
    assert activity.lead_id == lead.pk
    assert rep.pk in {getattr(activity, name, None) for name in ("by_id", "user_id", "created_by_id")}


@pytest.fixture
def deal(rep) -> Deal:
    return lead_accept(lead=assigned_lead(rep), by=rep)


def test_a_rep_cannot_hand_their_deal_to_another_rep_or_close_it_by_patching(rep, other_rep, deal):
    client = api(rep)
    handed = client.patch(f"/api/v1/deals/{deal.pk}/", {"owner": other_rep.pk}, format="json")
    assert handed.status_code == 403 and "owner" in handed.json()
    won = DealStage.objects.get(outcome=DealStage.Outcome.WON)
    closed = client.patch(f"/api/v1/deals/{deal.pk}/", {"stage": won.pk}, format="json")
    assert closed.status_code == 400 and "stage" in closed.json()
    forged = {"closed_at": "2020-01-01T00:00:00Z", "lead": 1, "won": True, "amount": "10.00"}
    assert client.patch(f"/api/v1/deals/{deal.pk}/", forged, format="json").status_code == 200
    deal.refresh_from_db()
    assert (deal.owner_id, deal.closed_at, deal.stage.outcome) == (rep.pk, None, DealStage.Outcome.OPEN)
    assert str(deal.amount) == "10.00"  # the one field the rep may set did change
