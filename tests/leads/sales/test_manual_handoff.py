"""Handing a lead to sales by hand: the service, the lead page's card, POST /api/v1/leads/{id}/hand-off/,
and giving MQLs an owner from the lead list (which hands them over, or says why not)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import logged_in, make_user
from leads.models import (
    AssignmentLog,
    ChangeSource,
    Handoff,
    HandoffStatus,
    Job,
    Lead,
    Notification,
    RepProfile,
    Stage,
    StageChange,
)
from leads.sales.assignment import handoffs_follow_history
from leads.sales.manual_handoff import MANUAL_REASON, lead_hand_off_by_hand, leads_hand_off_by_hand
from leads.sales.services import SalesError
from leads.services import leads_set_owner_run
from smarketing.roles import Role
from tests.factories import LeadFactory
from tests.leads.sales.helpers import assigned_lead, handed_off, mql, new_rep, rule_to, team_with

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(lead: Lead) -> str:
    return reverse("leads:lead_hand_off", args=[lead.pk])


def api_url(lead: Lead) -> str:
    return reverse("api-lead-hand-off", args=[lead.pk])


@pytest.fixture
def team(rep, other_rep, manager):
    return team_with("Iberia", rep, other_rep, manager=manager)


# --- The service ------------------------------------------------------------------------------


def test_a_lead_below_mql_moves_to_mql_as_the_persons_decision_and_goes_to_the_named_rep(marketer, rep):
    lead = LeadFactory(stage=Stage.LEAD)
    handoff = lead_hand_off_by_hand(lead=lead, by=marketer, note="Asked for a demo at the fair", rep=rep)
    assert handoff.status == HandoffStatus.ASSIGNED and handoff.assigned_to == rep and handoff.stage == Stage.MQL
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.owner == rep
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.source) == (Stage.LEAD, Stage.MQL, ChangeSource.USER)
    assert change.changed_by == marketer and change.reason == MANUAL_REASON
    assert change.note == "Asked for a demo at the fair"
    log = AssignmentLog.objects.get(lead=lead)
    assert log.action == AssignmentLog.Action.ASSIGNED and log.to_rep == rep and log.by == marketer
    assert log.reason == MANUAL_REASON and log.note == "Asked for a demo at the fair"
    assert "handed over by hand by Mara Keting: Asked for a demo at the fair" in handoff.why
    assert Notification.objects.filter(user=rep, text__startswith="New lead assigned to you").exists()


def test_an_mql_gets_no_second_stage_change_its_log_row_records_the_handoff(manager, rep):
    lead = mql()
    lead_hand_off_by_hand(lead=lead, by=manager, rep=rep)
    assert not StageChange.objects.filter(lead=lead).exists()  # "entered MQL" is not counted twice
    assert AssignmentLog.objects.get(lead=lead).by == manager


def test_the_clock_starts_at_the_manual_handoff(marketer, rep):
    before = timezone.now()
    handoff = lead_hand_off_by_hand(lead=mql(), by=marketer, rep=rep)
    assert handoff.handed_off_at >= before
    assert handoff.deadline - handoff.handed_off_at == timedelta(hours=24)


def test_without_a_target_the_assignment_rules_place_the_lead(marketer, team, rep, other_rep):
    rule_to(team=team, countries=["ES"])
    handoff = lead_hand_off_by_hand(lead=mql(country="ES"), by=marketer)
    assert handoff.team == team and handoff.assigned_to in (rep, other_rep)
    assert AssignmentLog.objects.get(lead=handoff.lead_id).rule is not None
    nowhere = lead_hand_off_by_hand(lead=mql(country="FR"), by=marketer)
    assert nowhere.status == HandoffStatus.POOLED and nowhere.team is None


def test_a_named_team_takes_it_round_robin_or_in_its_pool_when_nobody_is_free(marketer, team, rep, other_rep):
    first = lead_hand_off_by_hand(lead=mql(), by=marketer, team=team)
    second = lead_hand_off_by_hand(lead=mql(), by=marketer, team=team)
    assert {first.assigned_to, second.assigned_to} == {rep, other_rep}
    RepProfile.objects.filter(team=team).update(capacity=0)
    pooled = lead_hand_off_by_hand(lead=mql(), by=marketer, team=team)
    assert pooled.status == HandoffStatus.POOLED and pooled.team == team and pooled.assigned_to is None


def test_a_recycled_lead_handed_back_early_starts_afresh(marketer, rep):
    lead = LeadFactory(stage=Stage.RECYCLED)
    [old] = handed_off(mql())  # another lead's handoff stays untouched
    Handoff.objects.create(
        lead=lead,
        stage=Stage.MQL,
        status=HandoffStatus.RECYCLED,
        deadline=timezone.now(),
        due_at=timezone.now(),
        reassign_at=timezone.now(),
        revisit_on=timezone.localdate() + timedelta(days=30),
    )
    handoff = lead_hand_off_by_hand(lead=lead, by=marketer, rep=rep)
    assert handoff.status == HandoffStatus.ASSIGNED and handoff.revisit_on is None
    assert Handoff.objects.filter(pk=old.pk).exists()


def test_the_history_reader_does_not_hand_it_off_again(marketer, rep):
    lead = LeadFactory(stage=Stage.LEAD)
    handoff = lead_hand_off_by_hand(lead=lead, by=marketer, rep=rep)
    handoffs_follow_history()
    assert Handoff.objects.get(lead=lead).pk == handoff.pk
    assert AssignmentLog.objects.filter(lead=lead).count() == 1


def test_a_lead_cannot_be_handed_over_twice(marketer, rep):
    lead = mql()
    lead_hand_off_by_hand(lead=lead, by=marketer, rep=rep)
    with pytest.raises(SalesError) as refused:
        lead_hand_off_by_hand(lead=lead, by=marketer)
    assert refused.value.status == 409 and "Rafa Sales holds it" in refused.value.message
    pooled = handed_off(mql())[0].lead
    with pytest.raises(SalesError, match="waits in the general pool"):
        lead_hand_off_by_hand(lead=pooled, by=marketer)


@pytest.mark.parametrize("stage", [Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST, Stage.DISQUALIFIED])
def test_leads_past_sales_or_disqualified_are_not_handed_over(marketer, stage):
    lead = LeadFactory(stage=stage)
    with pytest.raises(SalesError) as refused:
        lead_hand_off_by_hand(lead=lead, by=marketer)
    assert refused.value.status == 409
    assert not Handoff.objects.exists() and not StageChange.objects.exists()


def test_a_named_rep_who_is_away_or_full_is_refused_and_nothing_is_written(marketer, rep):
    today = timezone.localdate()
    RepProfile.objects.create(user=rep, away_from=today, away_until=today + timedelta(days=2))
    lead = LeadFactory(stage=Stage.LEAD)
    with pytest.raises(SalesError) as away:
        lead_hand_off_by_hand(lead=lead, by=marketer, rep=rep)
    assert away.value.field == "rep" and "away" in away.value.message
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD and not StageChange.objects.exists() and not Handoff.objects.exists()
    RepProfile.objects.filter(user=rep).update(away_from=None, away_until=None, capacity=1)
    assigned_lead(rep)
    with pytest.raises(SalesError, match="capacity"):
        lead_hand_off_by_hand(lead=lead, by=marketer, rep=rep)


def test_the_target_must_be_a_sales_rep_or_a_team_not_both(marketer, manager, rep, team):
    with pytest.raises(SalesError) as not_rep:
        lead_hand_off_by_hand(lead=mql(), by=marketer, rep=manager)
    assert not_rep.value.field == "rep"
    with pytest.raises(SalesError) as both:
        lead_hand_off_by_hand(lead=mql(), by=marketer, rep=rep, team=team)
    assert both.value.field == "team"


def test_reps_do_not_hand_leads_over(rep):
    with pytest.raises(SalesError) as refused:
        lead_hand_off_by_hand(lead=mql(), by=rep)
    assert refused.value.status == 403


def test_the_set_based_handoff_says_why_for_each_lead_it_leaves(marketer, rep):
    RepProfile.objects.create(user=rep, capacity=2)
    best, second, third = mql(), LeadFactory(stage=Stage.SQL), mql()
    held = assigned_lead(new_rep("ana"))
    below = LeadFactory(stage=Stage.LEAD)
    ids = [best.pk, second.pk, third.pk, held.pk, below.pk]
    outcome = leads_hand_off_by_hand(lead_ids=ids, by=marketer, rep=rep)
    assert len(outcome.handed) == 2
    assert Handoff.objects.filter(assigned_to=rep).count() == 2
    assert {Handoff.objects.get(lead_id=pk).stage for pk in outcome.handed} <= {Stage.MQL, Stage.SQL}
    reasons = {reason: ids for reason, ids in outcome.refused.items()}
    assert [held.pk] in reasons.values() and [below.pk] in reasons.values()
    assert any("capacity" in reason for reason in reasons)


# --- The lead page ------------------------------------------------------------------------------


def test_marketers_and_managers_see_the_hand_over_card_reps_do_not(marketer_client, manager_client, rep):
    lead = LeadFactory(stage=Stage.LEAD, owner=rep)
    for client in (marketer_client, manager_client):
        html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
        assert "Hand over to sales" in html and "moves it to MQL" in html
    assert "Hand over to sales" not in logged_in(rep).get(reverse("leads:detail", args=[lead.pk])).content.decode()


def test_handing_over_from_the_page_answers_htmx_with_the_card_stage_and_owner(marketer_client, rep):
    lead = LeadFactory(stage=Stage.LEAD)
    response = marketer_client.post(page_url(lead), {"note": "Hot", "target": f"rep:{rep.pk}"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Handed to sales: Rafa Sales has it" in html
    assert 'id="lead-stage" hx-swap-oob="true"' in html and "Owner: Rafa Sales" in html
    assert response["HX-Trigger-After-Settle"] == "leadChanged"
    assert Handoff.objects.get(lead=lead).assigned_to == rep


def test_a_plain_post_redirects_to_the_lead_with_a_message(manager_client, rep):
    lead = mql()
    response = manager_client.post(page_url(lead), {"note": ""}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("leads:detail", args=[lead.pk])
    assert "waits in the general pool" in response.content.decode()
    assert "Last handed over by hand by Mona Ager" in response.content.decode()


def test_the_page_refuses_a_second_handoff_and_a_bad_target_in_place(marketer_client, rep):
    lead = mql()
    first = marketer_client.post(page_url(lead), {"target": f"rep:{rep.pk}"}, **HTMX)
    assert first.status_code == 200
    again = marketer_client.post(page_url(lead), {}, **HTMX)
    assert again.status_code == 409 and again["HX-Reswap"] == "outerHTML"
    assert "Already with sales" in again.content.decode()
    other = mql()
    bad = marketer_client.post(page_url(other), {"target": "rep:999999"}, **HTMX)
    assert bad.status_code == 400 and "Choose a rep or a team from the list" in bad.content.decode()
    long = marketer_client.post(page_url(other), {"note": "x" * 2_001})
    assert long.status_code == 400 and "at most 2000 characters" in long.content.decode()
    assert not Handoff.objects.filter(lead=other).exists()


def test_the_page_is_refused_to_reps_and_404_for_no_lead(rep_client, marketer_client):
    lead = mql()
    assert rep_client.post(page_url(lead)).status_code == 403
    assert marketer_client.post(reverse("leads:lead_hand_off", args=[999_999])).status_code == 404
    assert marketer_client.get(page_url(lead)).status_code == 405


# --- The API ------------------------------------------------------------------------------------


def test_the_api_hands_over_and_answers_the_handoff(marketer_client, marketer, rep):
    lead = LeadFactory(stage=Stage.SUBSCRIBER)
    response = marketer_client.post(
        api_url(lead), {"note": "From the API", "rep": rep.pk}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["lead"] == lead.pk and body["status"] == "assigned" and body["stage"] == "mql"
    assert body["assigned_to"] == {"id": rep.pk, "username": "rep"}
    assert StageChange.objects.get(lead=lead).changed_by == marketer


def test_the_api_refuses_twice_and_answers_errors_per_field(marketer_client, manager, rep, team):
    lead = mql()
    assert marketer_client.post(api_url(lead), {}, content_type="application/json").status_code == 201
    again = marketer_client.post(api_url(lead), {}, content_type="application/json")
    assert again.status_code == 409 and "Already with sales" in again.json()["non_field_errors"][0]
    other = mql()
    cases = [
        ({"rep": 999_999}, 400, "rep"),
        ({"rep": manager.pk}, 400, "rep"),
        ({"rep": rep.pk, "team": team.pk}, 400, "team"),
        ({"team": "x"}, 400, "team"),
        ({"note": "x" * 2_001}, 400, "note"),
    ]
    for data, status, field in cases:
        response = marketer_client.post(api_url(other), data, content_type="application/json")
        assert response.status_code == status and field in response.json(), data
    customer = LeadFactory(stage=Stage.CUSTOMER)
    assert marketer_client.post(api_url(customer), {}, content_type="application/json").status_code == 409


def test_the_api_is_refused_to_reps_and_roleless_users_and_404_for_no_lead(rep_client, marketer_client):
    lead = mql()
    assert rep_client.post(api_url(lead), {}, content_type="application/json").status_code == 403
    roleless = logged_in(make_user("nobody"))
    assert roleless.post(api_url(lead), {}, content_type="application/json").status_code == 403
    assert marketer_client.post(reverse("api-lead-hand-off", args=[999_999])).status_code == 404


def test_the_api_names_the_endpoint_in_the_schema(marketer_client):
    schema = marketer_client.get(reverse("schema")).content.decode()
    assert "/api/v1/leads/{id}/hand-off/" in schema


# --- Giving leads an owner from the list ----------------------------------------------------------


def bulk(client, leads, owner):
    data = {"lead": [lead.pk for lead in leads], "owner": owner.pk if owner else "null"}
    return client.post(reverse("leads:bulk_owner"), data, **HTMX)


def test_giving_an_mql_an_owner_hands_it_to_that_rep(marketer_client, marketer, rep):
    qualified, plain = mql(), LeadFactory(stage=Stage.LEAD)
    response = bulk(marketer_client, [qualified, plain], rep)
    html = response.content.decode()
    assert (
        "Qualified (MQL or SQL), handed to sales into Rafa Sales&#x27;s queue, the clock starting now: 1 lead." in html
    )
    assert "Below MQL, given the owner but left with marketing" in html
    job = leads_set_owner_run(job=Job.objects.get(kind="set_owner"))
    assert job.result == {"changed": 2, "handed_off": 1}
    handoff = Handoff.objects.get(lead=qualified)
    assert handoff.assigned_to == rep and AssignmentLog.objects.get(lead=qualified).by == marketer
    assert Lead.objects.get(pk=plain.pk).owner == rep and not Handoff.objects.filter(lead=plain).exists()


def test_where_it_cannot_hand_over_the_owner_stays_and_the_page_says_why(marketer_client, marketer, rep, other_rep):
    RepProfile.objects.create(user=rep, capacity=1)
    first, second = mql(), mql()
    held = assigned_lead(other_rep)
    response = bulk(marketer_client, [first, second, held], rep)
    html = response.content.decode()
    assert "handed to sales into Rafa Sales&#x27;s queue: 1 of 2 leads; the rest keep their owner" in html
    assert "Already with sales, left as they are (whoever holds one owns it): 1 lead." in html
    job = leads_set_owner_run(job=Job.objects.get(kind="set_owner"))
    assert job.result["handed_off"] == 1
    assert sum(job.result["not_changed"].values()) == 2
    assert Lead.objects.filter(owner=rep).count() == 1
    assert Lead.objects.get(pk=held.pk).owner == other_rep  # its owner follows its handoff
    progress = marketer_client.get(reverse("leads:job", args=[job.pk])).content.decode()
    assert "1 handed to sales" in progress and "1 not changed: Rafa Sales already holds" in progress


def test_an_away_rep_takes_no_mql_from_the_owner_change(marketer_client, rep):
    today = timezone.localdate()
    RepProfile.objects.create(user=rep, away_from=today)
    lead = mql()
    assert "as Rafa Sales is away today: 1 lead" in bulk(marketer_client, [lead], rep).content.decode()
    job = leads_set_owner_run(job=Job.objects.get(kind="set_owner"))
    assert job.result["changed"] == 0 and Lead.objects.get(pk=lead.pk).owner is None


def test_the_owner_change_hands_over_with_a_fixed_number_of_queries(
    marketer, rep, django_assert_max_num_queries, django_assert_num_queries
):
    def run(count: int) -> int:
        leads = [mql() for _ in range(count)] + [LeadFactory() for _ in range(count)]
        job = Job.objects.create(
            kind="set_owner", params={"lead_ids": [lead.pk for lead in leads], "owner_id": rep.pk}, created_by=marketer
        )
        job.total = len(leads)
        job.save()
        with django_assert_max_num_queries(60) as queries:
            leads_set_owner_run(job=job)
        Handoff.objects.all().delete()
        return len(queries.captured_queries)

    RepProfile.objects.create(user=rep, capacity=1_000)
    assert run(3) == run(30)


def test_an_unknown_role_cannot_queue_an_owner_change(rep):
    rep2 = make_user("other", Role.SALES)
    assert logged_in(rep).post(reverse("leads:bulk_owner"), {"lead": [mql().pk], "owner": rep2.pk}).status_code == 403
