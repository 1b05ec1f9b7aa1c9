from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import (
    Activity,
    Agreement,
    Deal,
    DealStage,
    Handoff,
    HandoffStatus,
    Lead,
    Notification,
    Persona,
    RepProfile,
    Stage,
)
from leads.sales.worklog import lead_accept
from smarketing.lib.periods import month_first
from tests.leads.sales.helpers import assigned_lead, pooled_lead, rule_to, team_with

pytestmark = pytest.mark.django_db

CLAIM = "/api/v1/queue/claim/"
QUEUE = "/api/v1/queue/"
DEALS = "/api/v1/deals/"
AGREEMENT = "/api/v1/agreement/"


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def lead_url(lead: Lead, action: str) -> str:
    return f"/api/v1/leads/{lead.pk}/{action}/"


def deal_url(deal: Deal, action: str = "") -> str:
    return f"/api/v1/deals/{deal.pk}/" + (f"{action}/" if action else "")


def tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


# --- Claim ------------------------------------------------------------------------------


def test_claim_gives_the_rep_the_best_pooled_lead(rep):
    pooled_lead(score=5)
    best = pooled_lead(score=70, first_name="Ana", company="Acme Ltda")
    response = api(rep).post(CLAIM)
    assert response.status_code == 200
    body = response.json()
    assert body["lead"]["id"] == best.pk and body["lead"]["company"] == "Acme Ltda"
    assert body["status"] == "assigned" and body["overdue"] is False and body["seconds_left"] > 0
    assert Lead.objects.get(pk=best.pk).owner == rep


def test_claim_with_nothing_pooled_is_204(rep):
    response = api(rep).post(CLAIM)
    assert response.status_code == 204 and response.content == b""


def test_claim_at_capacity_is_409_with_a_message(rep):
    RepProfile.objects.create(user=rep, capacity=0)
    pooled_lead()
    response = api(rep).post(CLAIM)
    assert response.status_code == 409
    assert "capacity" in response.json()["non_field_errors"][0]


@pytest.mark.parametrize("who", ["marketer", "manager", "nobody"])
def test_only_reps_claim(who, request):
    pooled_lead()
    assert api(request.getfixturevalue(who)).post(CLAIM).status_code == 403
    assert Handoff.objects.get().status == HandoffStatus.POOLED


def test_claim_needs_authentication():
    assert api().post(CLAIM).status_code in (401, 403)


def test_a_claim_takes_six_statements(rep):
    """Token, roles, claim (capacity checked in it), owner, log, read back: persona and owner cost none."""
    pooled_lead(score=40, persona=Persona.objects.create(name="Finance lead"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rep).key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(CLAIM)
    assert response.status_code == 200
    lead = response.json()["lead"]
    assert (lead["persona"]["name"], lead["owner"]["username"]) == ("Finance lead", "rep")
    # The test's own transaction turns the claim's into a savepoint: not a statement of the claim.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 6, statements


# --- Queue ------------------------------------------------------------------------------


def test_the_queue_lists_the_reps_leads_overdue_first(rep, other_rep):
    later = assigned_lead(rep, due_in=timedelta(hours=3))
    overdue = assigned_lead(rep, due_in=timedelta(hours=-1))
    assigned_lead(other_rep)
    pooled_lead()
    body = api(rep).get(QUEUE).json()
    assert [row["lead"]["id"] for row in body["results"]] == [overdue.pk, later.pk]
    assert body["results"][0]["overdue"] is True
    assert (body["open"], body["capacity"], body["waiting_in_pools"]) == (2, 25, 1)


def test_a_manager_reads_the_queue_of_a_rep_in_their_team_only(rep, other_rep, manager):
    team_with("Iberia", rep, manager=manager)
    team_with("Nordics", other_rep)
    mine = assigned_lead(rep)
    client = api(manager)
    assert [r["lead"]["id"] for r in client.get(QUEUE, {"rep": rep.pk}).json()["results"]] == [mine.pk]
    assert client.get(QUEUE, {"rep": other_rep.pk}).status_code == 404
    assert client.get(QUEUE).status_code == 400


def test_a_rep_cannot_read_another_reps_queue(rep, other_rep):
    assert api(rep).get(QUEUE, {"rep": other_rep.pk}).status_code == 404


def test_the_queue_refuses_marketers_and_bad_input(marketer, rep):
    assert api(marketer).get(QUEUE).status_code == 403
    response = api(rep).get(QUEUE, {"rep": "abc"})
    assert response.status_code == 400 and "rep" in response.json()


# --- Accept / reject / recycle ----------------------------------------------------------


def test_accept_answers_with_the_opportunity_and_its_deal(rep):
    lead = assigned_lead(rep)
    response = api(rep).post(lead_url(lead, "accept"), {"note": "Good fit"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["lead"]["stage"] == Stage.OPPORTUNITY and body["deal"]["stage"]["name"] == "Discovery"
    assert Deal.objects.get().lead_id == lead.pk


def test_a_rep_cannot_accept_reject_or_recycle_another_reps_lead(rep, other_rep):
    theirs = assigned_lead(other_rep)
    client = api(rep)
    assert client.post(lead_url(theirs, "accept")).status_code == 404
    assert client.post(lead_url(theirs, "reject"), {"reason": "spam"}).status_code == 404
    assert client.post(lead_url(theirs, "recycle"), {"reason": "timing", "revisit_on": tomorrow()}).status_code == 404
    assert Lead.objects.get(pk=theirs.pk).stage == Stage.MQL


@pytest.mark.parametrize("action", ["accept", "reject", "recycle", "activities"])
def test_marketers_do_not_work_leads(marketer, rep, action):
    lead = assigned_lead(rep)
    body = {"reason": "spam", "revisit_on": tomorrow(), "kind": "call"}
    assert api(marketer).post(lead_url(lead, action), body, format="json").status_code == 403


def test_a_manager_works_their_teams_leads_not_others(rep, other_rep, manager):
    team_with("Iberia", rep, manager=manager)
    mine, theirs = assigned_lead(rep), assigned_lead(other_rep)
    client = api(manager)
    assert client.post(lead_url(theirs, "accept")).status_code == 404
    assert client.post(lead_url(mine, "accept")).status_code == 200
    assert Deal.objects.get().owner == rep  # the deal is the rep's, whoever accepted


def test_accepting_a_pooled_lead_is_400_with_a_message(rep, manager):
    team = team_with("Iberia", rep, manager=manager, capacity=0)
    rule_to(team=team)
    lead = pooled_lead()
    response = api(manager).post(lead_url(lead, "accept"))
    assert response.status_code == 400 and "claim it first" in response.json()["non_field_errors"][0]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "reason"), ({"reason": "rude"}, "reason"), ({"reason": "other"}, "text"), ({"reason": ""}, "reason")],
)
def test_reject_without_a_good_reason_is_400_per_field(rep, body, field):
    lead = assigned_lead(rep)
    response = api(rep).post(lead_url(lead, "reject"), body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_reject_with_a_reason_disqualifies(rep):
    lead = assigned_lead(rep)
    response = api(rep).post(lead_url(lead, "reject"), {"reason": "other", "text": "Student"}, format="json")
    assert response.status_code == 200
    assert response.json()["reason"] == "Other" and response.json()["lead"]["stage"] == Stage.DISQUALIFIED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "timing"}, "revisit_on"),
        ({"reason": "timing", "revisit_on": "next week"}, "revisit_on"),
        ({"reason": "timing", "revisit_on": timezone.localdate().isoformat()}, "revisit_on"),
        ({"revisit_on": "2999-01-01"}, "reason"),
    ],
)
def test_recycle_without_reason_or_future_date_is_400(rep, body, field):
    response = api(rep).post(lead_url(assigned_lead(rep), "recycle"), body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_recycle_sends_the_lead_back_with_its_date(rep):
    lead = assigned_lead(rep)
    body = {"reason": "timing", "revisit_on": tomorrow(), "text": "Call after the summer"}
    response = api(rep).post(lead_url(lead, "recycle"), body, format="json")
    assert response.status_code == 200 and response.json()["lead"]["stage"] == Stage.RECYCLED
    assert Handoff.objects.get(lead=lead).revisit_on.isoformat() == tomorrow()


def test_verdicts_on_an_unknown_lead_are_404(rep):
    assert api(rep).post("/api/v1/leads/999999/accept/").status_code == 404


# --- Activities -------------------------------------------------------------------------


def test_logging_an_activity_twice_with_one_token_makes_one(rep):
    lead = assigned_lead(rep)
    body = {"kind": "call", "outcome": "Reached", "next_step_on": tomorrow(), "client_token": "abc-1"}
    first = api(rep).post(lead_url(lead, "activities"), body, format="json")
    again = api(rep).post(lead_url(lead, "activities"), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Activity.objects.count() == 1
    assert Handoff.objects.get(lead=lead).first_touch_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "kind"),
        ({"kind": "lunch"}, "kind"),
        ({"kind": "call", "next_step_on": "soon"}, "next_step_on"),
        ({"kind": "call", "next_step_on": "2000-01-01"}, "next_step_on"),
        ({"kind": "call", "client_token": "x" * 65}, "client_token"),
    ],
)
def test_a_bad_activity_is_400_per_field(rep, body, field):
    response = api(rep).post(lead_url(assigned_lead(rep), "activities"), body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_activities_are_listed_for_those_who_may_see_the_lead(rep, other_rep, marketer):
    lead = assigned_lead(rep)
    api(rep).post(lead_url(lead, "activities"), {"kind": "email"}, format="json")
    assert api(rep).get(lead_url(lead, "activities")).json()["results"][0]["kind"] == "email"
    assert api(marketer).get(lead_url(lead, "activities")).json()["count"] == 1  # marketers read, not work
    assert api(other_rep).get(lead_url(lead, "activities")).status_code == 404
    assert api(other_rep).post(lead_url(lead, "activities"), {"kind": "call"}).status_code == 404


def test_users_without_a_role_see_no_activities(nobody, rep):
    assert api(nobody).get(lead_url(assigned_lead(rep), "activities")).status_code == 403


# --- Deals ------------------------------------------------------------------------------


@pytest.fixture
def deal(rep) -> Deal:
    return lead_accept(lead=assigned_lead(rep), by=rep)


def test_deals_list_shows_only_the_reps_own(deal, rep, other_rep):
    lead_accept(lead=assigned_lead(other_rep), by=other_rep)
    body = api(rep).get(DEALS).json()
    assert [d["id"] for d in body["results"]] == [deal.pk]
    assert body["results"][0]["currency"] == "USD"
    assert api(rep).get(DEALS, {"open": "false"}).json()["count"] == 0


def test_a_deal_of_another_rep_is_404_everywhere(deal, other_rep):
    client = api(other_rep)
    assert client.get(deal_url(deal)).status_code == 404
    assert client.patch(deal_url(deal), {"amount": "5"}, format="json").status_code == 404
    assert client.post(deal_url(deal, "won")).status_code == 404
    assert client.post(deal_url(deal, "lost"), {"reason": "price"}).status_code == 404


@pytest.mark.parametrize("action", ["", "won/", "lost/", "reopen/"])
def test_marketers_are_refused_deals(marketer, deal, action):
    url = deal_url(deal) + action
    assert api(marketer).get(DEALS).status_code == 403
    assert api(marketer).get(url).status_code == 403
    assert api(marketer).post(url, {"reason": "price"}, format="json").status_code == 403
    assert api(marketer).patch(url, {"amount": "1"}, format="json").status_code == 403
    deal.refresh_from_db()
    assert deal.closed_at is None and deal.amount is None


def test_a_manager_sees_their_teams_deals_and_not_another_teams(deal, rep, other_rep, manager):
    team_with("Iberia", rep, manager=manager)
    theirs = lead_accept(lead=assigned_lead(other_rep), by=other_rep)
    client = api(manager)
    assert [d["id"] for d in client.get(DEALS).json()["results"]] == [deal.pk]
    assert client.get(deal_url(theirs)).status_code == 404
    assert client.post(deal_url(theirs, "won")).status_code == 404


@pytest.mark.parametrize("url", ["/api/v1/deals/stages/", "/api/v1/reasons/", AGREEMENT, QUEUE, DEALS])
def test_users_without_a_role_are_refused(nobody, url):
    assert api(nobody).get(url).status_code == 403


@pytest.mark.parametrize("url", ["/api/v1/notifications/", QUEUE, DEALS, AGREEMENT, "/api/v1/reasons/"])
def test_anonymous_callers_are_refused(url):
    assert api().get(url).status_code in (401, 403)


@pytest.mark.parametrize("amount", ["-5", "abc", "1e400", "12345678901234567"])
def test_a_negative_or_non_numeric_amount_is_400(deal, rep, amount):
    response = api(rep).patch(deal_url(deal), {"amount": amount}, format="json")
    assert response.status_code == 400 and "amount" in response.json()


def test_moving_a_deal_along_the_pipeline(deal, rep):
    demo = DealStage.objects.get(name="Demo")
    body = {"stage": demo.pk, "amount": "1500.00", "expected_close_on": tomorrow()}
    response = api(rep).patch(deal_url(deal), body, format="json")
    assert response.status_code == 200
    assert response.json()["stage"]["name"] == "Demo" and response.json()["amount"] == "1500.00"
    assert deal.changes.filter(action="changed").count() == 1


def test_closing_by_patch_is_400_pointing_to_won_and_lost(deal, rep):
    won = DealStage.objects.get(outcome="won")
    response = api(rep).patch(deal_url(deal), {"stage": won.pk}, format="json")
    assert response.status_code == 400 and "won or lost" in response.json()["stage"][0]


def test_won_makes_a_customer(deal, rep):
    response = api(rep).post(deal_url(deal, "won"), {"amount": "900"}, format="json")
    assert response.status_code == 200 and response.json()["stage"]["outcome"] == "won"
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.CUSTOMER


def test_lost_without_a_reason_is_400_and_with_one_closes(deal, rep):
    assert api(rep).post(deal_url(deal, "lost"), {}, format="json").status_code == 400
    response = api(rep).post(deal_url(deal, "lost"), {"reason": "price"}, format="json")
    assert response.status_code == 200 and response.json()["lost_reason"] == "price"


def test_reopening_a_won_deal_needs_a_manager(deal, rep, manager):
    team_with("Iberia", rep, manager=manager)
    api(rep).post(deal_url(deal, "won"))
    refused = api(rep).post(deal_url(deal, "reopen"))
    assert refused.status_code == 403 and "manager" in refused.json()["non_field_errors"][0]
    assert api(rep).patch(deal_url(deal), {"amount": "1"}, format="json").status_code == 403
    reopened = api(manager).post(deal_url(deal, "reopen"), {"note": "Typo"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["closed_at"] is None


def test_opening_a_deal_by_api(rep):
    lead = assigned_lead(rep)
    lead_accept(lead=lead, by=rep)
    Deal.objects.update(closed_at=timezone.now(), stage=DealStage.objects.get(outcome="won"))
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CUSTOMER)
    response = api(rep).post(DEALS, {"lead": lead.pk, "name": "Upsell", "amount": "300"}, format="json")
    assert response.status_code == 201 and response.json()["name"] == "Upsell"
    again = api(rep).post(DEALS, {"lead": lead.pk}, format="json")
    assert again.status_code == 400 and "lead" in again.json()


def test_opening_a_deal_on_another_reps_lead_is_404(rep, other_rep):
    lead = assigned_lead(other_rep)
    assert api(rep).post(DEALS, {"lead": lead.pk}, format="json").status_code == 404


def test_stages_and_reasons_are_listed(rep):
    assert [s["name"] for s in api(rep).get("/api/v1/deals/stages/").json()][:2] == ["Discovery", "Demo"]
    codes = [r["code"] for r in api(rep).get("/api/v1/reasons/", {"kind": "reject"}).json()]
    assert codes == ["bad_fit", "no_budget", "no_authority", "no_need", "wrong_contact", "duplicate", "spam", "other"]
    assert api(rep).get("/api/v1/reasons/", {"kind": "nope"}).status_code == 400


# --- Agreement --------------------------------------------------------------------------


def test_every_role_reads_the_agreement_and_its_attainment(marketer, rep, manager, nobody):
    for user in (marketer, rep, manager):
        body = api(user).get(AGREEMENT).json()
        assert body["agreement"]["mql_target"] == 20 and body["agreement"]["saved"] is False
        assert body["attainment"]["mql_delivered"] == 0
    assert api(nobody).get(AGREEMENT).status_code == 403


def test_a_manager_sets_next_months_agreement(manager):
    following = (month_first() + timedelta(days=40)).replace(day=1)
    body = {"month": following.strftime("%Y-%m"), "mql_target": 25, "handoff_stage": "sql"}
    created = api(manager).post(AGREEMENT, body, format="json")
    assert created.status_code == 201 and created.json()["agreement"]["mql_target"] == 25
    updated = api(manager).put(AGREEMENT, {**body, "close_quota": 6}, format="json")
    assert updated.status_code == 200
    saved = Agreement.objects.get(month=following)
    assert (saved.mql_target, saved.close_quota, saved.handoff_stage) == (25, 6, "sql")
    read = api(manager).get(AGREEMENT, {"month": following.strftime("%Y-%m")}).json()
    assert read["agreement"]["handoff_stage"] == "sql"


@pytest.mark.parametrize("who", ["rep", "marketer"])
def test_only_managers_set_the_agreement(who, request):
    body = {"month": month_first().strftime("%Y-%m"), "mql_target": 1}
    assert api(request.getfixturevalue(who)).post(AGREEMENT, body, format="json").status_code == 403
    assert not Agreement.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"month": "2001-01"}, "month"),
        ({"month": "January"}, "month"),
        ({}, "month"),
        ({"month": "2999-01", "mql_target": -1}, "mql_target"),
        ({"month": "2999-01", "handoff_stage": "customer"}, "handoff_stage"),
        ({"month": "2999-01", "speed_to_lead_hours": 0}, "speed_to_lead_hours"),
    ],
)
def test_bad_agreement_input_is_400_per_field(manager, body, field):
    response = api(manager).post(AGREEMENT, body, format="json")
    assert response.status_code == 400 and field in response.json()


# --- Notifications ----------------------------------------------------------------------


def test_a_user_reads_and_clears_only_their_notifications(rep, other_rep):
    mine = Notification.objects.create(user=rep, text="Overdue")
    Notification.objects.create(user=other_rep, text="Not yours")
    body = api(rep).get("/api/v1/notifications/", {"unread": "1"}).json()
    assert [n["id"] for n in body["results"]] == [mine.pk]
    assert api(rep).post("/api/v1/notifications/read/", {}, format="json").json() == {"marked": 1}
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_an_id_larger_than_any_row_id_is_a_400_not_a_500(rep):
    Notification.objects.create(user=rep, text="Overdue")
    response = api(rep).post("/api/v1/notifications/read/", {"ids": [94724371015891615744]}, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_a_deal_stage_filter_larger_than_any_row_id_is_a_400_not_a_500(rep):
    response = api(rep).get(DEALS, {"stage": "1484105674528603266823097417728"})
    assert response.status_code == 400
    assert "stage" in response.json()


def test_a_month_before_the_year_1000_still_reads_as_yyyy_mm(manager):
    body = api(manager).get(AGREEMENT, {"month": "0030-03"}).json()
    assert body["agreement"]["month"] == "0030-03"
    assert body["attainment"]["month"] == "0030-03"
    assert body["attainment"]["previous"]["month"] == "0030-02"


# --- Schema -----------------------------------------------------------------------------


def test_every_sales_endpoint_is_in_the_schema(manager):
    schema = api(manager).get("/api/schema/", {"format": "json"}).json()
    for path in [
        "/api/v1/queue/",
        "/api/v1/queue/claim/",
        "/api/v1/leads/{id}/accept/",
        "/api/v1/leads/{id}/reject/",
        "/api/v1/leads/{id}/recycle/",
        "/api/v1/leads/{id}/activities/",
        "/api/v1/deals/",
        "/api/v1/deals/{id}/",
        "/api/v1/deals/{id}/won/",
        "/api/v1/deals/{id}/lost/",
        "/api/v1/deals/{id}/reopen/",
        "/api/v1/agreement/",
    ]:
        assert path in schema["paths"], path


# --- One shape for a lead ---------------------------------------------------------------


def test_a_lead_has_one_shape_everywhere_in_the_api(rep, manager):
    """The lead list, a rep's queue, a deal and a verdict's reply show a lead the same way."""
    team_with("Iberia", rep, manager=manager)
    queued = assigned_lead(rep, company="Acme Ltda")
    accepted = assigned_lead(rep, company="Nube SAS")
    reply = api(rep).post(lead_url(accepted, "accept"), {}, format="json").json()

    shapes = {
        "list": api(manager).get("/api/v1/leads/").json()["results"][0],
        "detail": api(rep).get(f"/api/v1/leads/{queued.pk}/").json(),
        "queue": api(rep).get(QUEUE).json()["results"][0]["lead"],
        "deal": api(rep).get(DEALS).json()["results"][0]["lead"],
        "accept": reply["lead"],
    }

    list_keys = set(shapes["list"])
    assert all(set(shape) == list_keys for name, shape in shapes.items() if name != "detail")
    assert list_keys < set(shapes["detail"])  # the detail adds the reasons, in the same shape
    assert shapes["queue"]["owner"] == shapes["detail"]["owner"] == {"id": rep.pk, "username": "rep"}
