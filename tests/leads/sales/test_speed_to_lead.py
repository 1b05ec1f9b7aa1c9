from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from leads.models import (
    Agreement,
    AssignmentLog,
    Deal,
    DealStage,
    Handoff,
    HandoffStatus,
    Lead,
    Notification,
    Stage,
    StageChange,
)
from leads.sales import tasks
from leads.sales.notifications import notifications_email
from leads.sales.services import SalesError, agreement_set
from leads.sales.speed_to_lead import handoffs_flag_overdue, handoffs_reassign_overdue, sla_check
from leads.sales.worklog import ActivityIn, activity_log
from reports.selectors import agreement_attainment
from smarketing.lib.periods import month_first
from tests.factories import LeadFactory
from tests.leads.sales.helpers import assigned_lead, pooled_lead, rule_to, team_with

pytestmark = pytest.mark.django_db


def this_month() -> date:
    return month_first()


def last_month() -> date:
    return (this_month() - timedelta(days=1)).replace(day=1)


# --- The agreement ----------------------------------------------------------------------


def test_without_an_agreement_the_defaults_hold():
    agreement = Agreement.current()
    assert agreement.pk is None
    assert (agreement.mql_target, agreement.close_quota, agreement.handoff_stage) == (20, 5, Stage.MQL)


def test_a_month_without_its_own_agreement_carries_the_last_one_forward():
    Agreement.objects.create(month=last_month(), mql_target=30)
    assert Agreement.current().mql_target == 30


def test_past_months_keep_their_agreement_when_a_new_one_is_set(manager):
    Agreement.objects.create(month=last_month(), mql_target=30)
    agreement, created = agreement_set(month=this_month(), by=manager, values={"close_quota": 8})
    assert created and agreement.mql_target == 30 and agreement.close_quota == 8  # carried, then changed
    assert Agreement.for_month(last_month()).close_quota == 5
    assert Agreement.current().close_quota == 8


def test_setting_a_past_month_is_refused(manager):
    with pytest.raises(SalesError) as refused:
        agreement_set(month=last_month(), by=manager, values={"mql_target": 1})
    assert refused.value.field == "month"


def test_only_a_manager_sets_the_agreement(rep):
    with pytest.raises(SalesError) as refused:
        agreement_set(month=this_month(), by=rep, values={"mql_target": 1})
    assert refused.value.status == 403


def test_next_months_agreement_can_be_set_ahead(manager):
    following = (this_month() + timedelta(days=40)).replace(day=1)
    agreement_set(month=following, by=manager, values={"mql_target": 50, "handoff_stage": Stage.SQL})
    assert Agreement.current().mql_target == 20
    assert Agreement.for_month(following).handoff_stage == Stage.SQL


# --- Attainment -------------------------------------------------------------------------


def test_attainment_counts_mqls_delivered_the_close_rate_and_first_touch_in_time(rep):
    Agreement.objects.create(month=this_month(), mql_target=4, close_quota=2, close_per=8)
    now = timezone.now()
    for _ in range(2):
        lead = LeadFactory()
        StageChange.objects.create(lead=lead, from_stage=Stage.LEAD, to_stage=Stage.MQL, changed_at=now)
    old = LeadFactory()
    StageChange.objects.create(lead=old, from_stage=Stage.LEAD, to_stage=Stage.MQL, changed_at=now - timedelta(days=40))
    StageChange.objects.create(lead=old, from_stage=Stage.OPPORTUNITY, to_stage=Stage.CUSTOMER, changed_at=now)
    in_time = assigned_lead(rep, due_in=timedelta(hours=2))
    activity_log(lead=in_time, by=rep, data=ActivityIn(kind="call"))
    assigned_lead(rep, due_in=timedelta(hours=-1))  # missed
    assigned_lead(rep, due_in=timedelta(hours=3))  # still running: not decided yet
    won = Deal.objects.create(
        lead=in_time, name="Won", owner=rep, amount=1200, stage=DealStage.objects.get(outcome="won")
    )

    figures = agreement_attainment()

    assert (figures["mql_delivered"], figures["mql_target"], figures["mql_pct"]) == (2, 4, 50)
    # Of the 3 leads handed over this month, 1 won so far (the old lead's close is no handoff of
    # this month): 33.3 % against the agreed 2 of every 8 (25 %), with its revenue.
    assert (figures["handed_off"], figures["won"], figures["close_rate_pct"]) == (3, 1, 33.3)
    assert (figures["close_quota"], figures["close_per"], figures["close_target_pct"]) == (2, 8, 25.0)
    assert figures["won_revenue"] == won.amount
    assert (figures["handoffs"], figures["decided"], figures["in_time"]) == (3, 2, 1)
    assert figures["touched_in_time_pct"] == 50
    assert figures["first_touch_target_pct"] == 90
    assert figures["mql_on_pace"] >= 2


def test_attainment_for_one_rep_counts_only_their_handoffs(rep, other_rep):
    activity_log(lead=assigned_lead(rep), by=rep, data=ActivityIn(kind="call"))
    assigned_lead(other_rep, due_in=timedelta(hours=-1))
    assert agreement_attainment(rep=rep)["touched_in_time_pct"] == 100
    assert agreement_attainment()["touched_in_time_pct"] == 50


def test_attainment_of_a_past_month_uses_that_months_agreement():
    Agreement.objects.create(month=last_month(), mql_target=7)
    Agreement.objects.create(month=this_month(), mql_target=9)
    assert agreement_attainment(month=last_month())["mql_target"] == 7
    assert agreement_attainment()["mql_target"] == 9


# --- The clock: flag overdue ------------------------------------------------------------


@pytest.fixture
def team(rep, other_rep, manager):
    return team_with("Iberia", rep, other_rep, manager=manager)


def test_an_overdue_lead_is_flagged_and_its_rep_and_manager_told(rep, manager, team):
    lead = assigned_lead(rep, due_in=timedelta(minutes=-5))
    assert handoffs_flag_overdue(now=timezone.now()) == 1
    assert Handoff.objects.get(lead=lead).overdue_at is not None
    assert set(Notification.objects.values_list("user_id", flat=True)) == {rep.pk, manager.pk}
    assert AssignmentLog.objects.filter(lead=lead, action=AssignmentLog.Action.OVERDUE).count() == 1


def test_flagging_twice_tells_no_one_twice(rep, team):
    assigned_lead(rep, due_in=timedelta(minutes=-5))
    handoffs_flag_overdue(now=timezone.now())
    assert handoffs_flag_overdue(now=timezone.now()) == 0
    assert Notification.objects.filter(user=rep).count() == 1


def test_a_touched_or_not_yet_due_lead_is_not_flagged(rep, team):
    touched = assigned_lead(rep, due_in=timedelta(minutes=-5))
    activity_log(lead=touched, by=rep, data=ActivityIn(kind="call"))
    assigned_lead(rep, due_in=timedelta(minutes=5))
    assert handoffs_flag_overdue(now=timezone.now()) == 0


def test_flagging_works_in_batches(rep, team):
    for _ in range(5):
        assigned_lead(rep, due_in=timedelta(minutes=-5))
    assert handoffs_flag_overdue(now=timezone.now(), batch=2) == 5


def test_an_overdue_pooled_lead_tells_the_pools_manager(manager, team):
    rule_to(team=team)
    team.reps.update(capacity=0)
    lead = pooled_lead()
    Handoff.objects.filter(lead=lead).update(due_at=timezone.now() - timedelta(minutes=1))
    assert handoffs_flag_overdue(now=timezone.now()) == 1
    assert list(Notification.objects.values_list("user_id", flat=True)) == [manager.pk]


# --- The clock: reassign after the second deadline --------------------------------------


def past_second_deadline(lead: Lead) -> None:
    Handoff.objects.filter(lead=lead).update(
        due_at=timezone.now() - timedelta(hours=30), reassign_at=timezone.now() - timedelta(hours=1)
    )


def test_after_the_second_deadline_the_rules_give_the_lead_to_another_rep(rep, other_rep, team):
    rule_to(team=team)
    lead = assigned_lead(rep)
    past_second_deadline(lead)
    deadline = Handoff.objects.get(lead=lead).deadline

    assert handoffs_reassign_overdue(now=timezone.now()) == 1

    handoff = Handoff.objects.get(lead=lead)
    assert handoff.assigned_to == other_rep and handoff.status == HandoffStatus.ASSIGNED
    assert handoff.due_at > timezone.now() and handoff.overdue_at is None  # a fresh clock for the new rep
    assert handoff.deadline == deadline  # the agreement's miss still counts
    assert handoff.reassign_count == 1 and handoff.reassigned_at
    assert Lead.objects.get(pk=lead.pk).owner == other_rep
    log = AssignmentLog.objects.get(lead=lead, action=AssignmentLog.Action.REASSIGNED)
    assert log.from_rep == rep and log.to_rep == other_rep and "second deadline" in log.reason
    assert set(Notification.objects.values_list("user_id", flat=True)) == {rep.pk, other_rep.pk}


def test_with_no_other_rep_free_a_reassigned_lead_goes_to_the_pool(rep, manager):
    team = team_with("Solo", rep, manager=manager)
    rule_to(team=team)
    lead = assigned_lead(rep)
    past_second_deadline(lead)
    handoffs_reassign_overdue(now=timezone.now())
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.status == HandoffStatus.POOLED and handoff.assigned_to is None and handoff.team == team
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_a_touched_lead_is_never_reassigned(rep, team):
    rule_to(team=team)
    lead = assigned_lead(rep)
    activity_log(lead=lead, by=rep, data=ActivityIn(kind="call"))
    past_second_deadline(lead)
    assert handoffs_reassign_overdue(now=timezone.now()) == 0
    assert Handoff.objects.get(lead=lead).assigned_to == rep


def test_the_clock_job_flags_then_reassigns_and_a_second_run_does_nothing(rep, other_rep, team):
    rule_to(team=team)
    late = assigned_lead(rep, due_in=timedelta(minutes=-1))
    very_late = assigned_lead(rep)
    past_second_deadline(very_late)
    result = sla_check()
    assert result["flagged"] == 2 and result["reassigned"] == 1
    assert Handoff.objects.get(lead=late).assigned_to == rep
    assert Handoff.objects.get(lead=very_late).assigned_to == other_rep
    assert sla_check() == {"scores": 0, "flagged": 0, "reassigned": 0}


# --- Tasks and email --------------------------------------------------------------------


def test_the_speed_to_lead_task_runs_the_clock_job(rep, team):
    assigned_lead(rep, due_in=timedelta(minutes=-1))
    assert tasks.sla_check_task()["flagged"] == 1


def test_the_revisit_task_returns_due_recycled_leads(rep):
    assert tasks.leads_revisit_task() == 0


def test_notifications_are_emailed_once_as_a_digest(rep, manager, team):
    rep.email, manager.email = "rep@example.com", "boss@example.com"
    rep.save()
    manager.save()
    for _ in range(2):
        assigned_lead(rep, due_in=timedelta(minutes=-1))
    handoffs_flag_overdue(now=timezone.now())
    assert tasks.notifications_email_task([rep.pk, manager.pk]) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@example.com", "rep@example.com"]
    assert "2 updates" in mail.outbox[0].subject
    assert notifications_email(user_ids=[rep.pk, manager.pk]) == 0  # nothing sent twice
    assert len(mail.outbox) == 2


def test_both_jobs_are_in_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"sales.speed_to_lead", "sales.revisit_recycled"} <= tasks_scheduled
