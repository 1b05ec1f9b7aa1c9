from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from leads.models import AssignmentLog, Handoff, HandoffStatus, Lead, LeadScore, RepProfile
from leads.sales.queue import lead_claim_next, pool_waiting_count, queue_for_rep, queue_overview, queue_row, rep_load
from leads.sales.services import SalesError
from leads.sales.speed_to_lead import pool_scores_refresh
from leads.sales.worklog import ActivityIn, activity_log
from leads.selectors import lead_for_user, leads_visible_to
from tests.leads.sales.helpers import assigned_lead, new_rep, pooled_lead, rule_to, team_with

pytestmark = pytest.mark.django_db


# --- Claiming ---------------------------------------------------------------------------


def test_claim_takes_the_highest_score_first_then_the_oldest(rep):
    low = pooled_lead(score=10)
    old_high = pooled_lead(score=80)
    new_high = pooled_lead(score=80)
    Handoff.objects.filter(lead=new_high).update(handed_off_at=timezone.now() + timedelta(seconds=5))
    claimed = [lead_claim_next(rep=rep).lead_id for _ in range(3)]
    assert claimed == [old_high.pk, new_high.pk, low.pk]


def test_claim_makes_the_rep_the_holder_and_owner_and_logs_it(rep):
    lead = pooled_lead()
    handoff = lead_claim_next(rep=rep)
    assert handoff.lead == lead and handoff.status == HandoffStatus.ASSIGNED and handoff.assigned_to == rep
    assert Lead.objects.get(pk=lead.pk).owner == rep
    log = AssignmentLog.objects.get(lead=lead, action=AssignmentLog.Action.CLAIMED)
    assert log.to_rep == rep and log.by == rep


def test_claim_does_not_restart_the_speed_to_lead_clock(rep):
    lead = pooled_lead()
    before = Handoff.objects.get(lead=lead)
    after = lead_claim_next(rep=rep)
    assert after.due_at == before.due_at and after.deadline == before.deadline


def test_claim_returns_none_when_the_pools_are_empty(rep):
    assert lead_claim_next(rep=rep) is None


def test_a_rep_claims_from_their_team_pool_and_the_general_pool_not_another_teams(rep, other_rep, manager):
    mine = team_with("Iberia", rep, manager=manager, capacity=0)
    theirs = team_with("Nordics", other_rep, capacity=0)
    rule_to(team=mine, position=1, countries=["ES"])
    rule_to(team=theirs, position=2, countries=["SE"])
    ours = pooled_lead(country="ES", score=5)
    general = pooled_lead(country="US", score=1)
    pooled_lead(country="SE", score=99)
    RepProfile.objects.filter(user=rep).update(capacity=10)
    assert [lead_claim_next(rep=rep).lead_id for _ in range(2)] == [ours.pk, general.pk]
    assert lead_claim_next(rep=rep) is None
    assert Handoff.objects.get(lead=general).team == mine  # claimed into the rep's team


def test_a_rep_in_no_team_claims_only_from_the_general_pool(rep, other_rep):
    team = team_with("Nordics", other_rep, capacity=0)
    rule_to(team=team, countries=["SE"])
    pooled_lead(country="SE")
    general = pooled_lead(country="US")
    assert lead_claim_next(rep=rep).lead_id == general.pk
    assert lead_claim_next(rep=rep) is None


def test_a_rep_at_capacity_is_refused_with_a_message(rep):
    RepProfile.objects.create(user=rep, capacity=1)
    assigned_lead(rep)
    pooled_lead()
    with pytest.raises(SalesError) as refused:
        lead_claim_next(rep=rep)
    assert refused.value.status == 409 and "capacity" in refused.value.message
    assert Handoff.objects.filter(status=HandoffStatus.POOLED).count() == 1


def test_the_pool_score_follows_the_lead_after_the_clock_job_refreshes_it(rep):
    first = pooled_lead(score=10)
    second = pooled_lead(score=20)
    LeadScore.objects.filter(lead=first).update(score=90)
    assert pool_scores_refresh() == 1
    assert lead_claim_next(rep=rep).lead_id == first.pk
    assert lead_claim_next(rep=rep).lead_id == second.pk


# --- The queue --------------------------------------------------------------------------


def test_the_queue_lists_overdue_first_then_by_deadline_and_touched_leads_last(rep):
    later = assigned_lead(rep, due_in=timedelta(hours=5))
    touched = assigned_lead(rep, due_in=timedelta(hours=-10))
    overdue = assigned_lead(rep, due_in=timedelta(hours=-2))
    sooner = assigned_lead(rep, due_in=timedelta(hours=1))
    activity_log(lead=touched, by=rep, data=ActivityIn(kind="call"))
    rows = [queue_row(h) for h in queue_for_rep(rep=rep)]
    assert [row["lead"].pk for row in rows] == [overdue.pk, sooner.pk, later.pk, touched.pk]
    assert rows[0]["overdue"] and rows[0]["seconds_left"] < 0
    assert not rows[1]["overdue"] and 0 < rows[1]["seconds_left"] <= 3600
    assert rows[3]["seconds_left"] is None and rows[3]["last_touch_kind"] == "call"


def test_the_queue_shows_only_the_reps_open_leads(rep, other_rep):
    mine = assigned_lead(rep)
    assigned_lead(other_rep)
    pooled_lead()
    closed = assigned_lead(rep)
    Handoff.objects.filter(lead=closed).update(status=HandoffStatus.ACCEPTED)
    assert [h.lead_id for h in queue_for_rep(rep=rep)] == [mine.pk]


def test_the_queue_takes_one_query_whatever_its_length(rep, django_assert_num_queries):
    for _ in range(3):
        assigned_lead(rep)
    with django_assert_num_queries(1):
        rows = [queue_row(h) for h in queue_for_rep(rep=rep)]
        assert len(rows) == 3 and all(row["lead"].email for row in rows)
    for _ in range(20):
        assigned_lead(rep)
    with django_assert_num_queries(1):
        assert len([queue_row(h) for h in queue_for_rep(rep=rep)]) == 23


def test_the_queue_overview_takes_three_queries_whatever_the_data(rep, django_assert_num_queries):
    RepProfile.objects.create(user=rep, capacity=40)
    for _ in range(2):
        assigned_lead(rep)
    with django_assert_num_queries(3):
        overview = queue_overview(rep=rep)
    assert (overview["open"], overview["capacity"], overview["waiting_in_pools"]) == (2, 40, 0)
    for _ in range(20):
        assigned_lead(rep)
        pooled_lead()
    with django_assert_num_queries(3):
        overview = queue_overview(rep=rep)
    assert (overview["open"], overview["waiting_in_pools"], len(overview["results"])) == (22, 20, 22)


def test_waiting_count_and_load_for_the_queue_banner(rep):
    for _ in range(3):
        pooled_lead()
    assigned_lead(rep)
    assert pool_waiting_count(rep=rep) == 3
    assert pool_waiting_count(rep=rep, cap=2) == 2
    assert rep_load(rep=rep) == {"open": 1, "capacity": 25}


# --- Who may work which lead ------------------------------------------------------------


def test_a_rep_works_only_their_own_leads(rep, other_rep):
    mine, theirs = assigned_lead(rep), assigned_lead(other_rep)
    assert list(leads_visible_to(rep, work=True)) == [mine]
    with pytest.raises(Http404):
        lead_for_user(rep, theirs.pk, work=True)


def test_a_manager_works_their_teams_leads_and_pools_only(rep, other_rep, manager):
    team = team_with("Iberia", rep, manager=manager, capacity=0)
    team_with("Nordics", other_rep)
    rule_to(team=team, countries=["ES"])
    reps_lead = assigned_lead(rep)
    in_team_pool = pooled_lead(country="ES")
    assigned_lead(other_rep)
    pooled_lead(country="US")
    assert set(leads_visible_to(manager, work=True)) == {reps_lead, in_team_pool}


def test_marketers_and_users_without_a_role_work_no_leads(marketer, nobody, rep):
    assigned_lead(rep)
    assert not leads_visible_to(marketer, work=True).exists()
    assert not leads_visible_to(nobody, work=True).exists()


def test_a_rep_sees_nothing_of_another_reps_work(rep):
    other = new_rep("rep9")
    assigned_lead(other)
    assert not leads_visible_to(rep, work=True).exists()
