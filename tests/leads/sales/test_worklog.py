from datetime import timedelta

import pytest
from django.utils import timezone

from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import (
    Activity,
    ChangeSource,
    Deal,
    DefinitionStatus,
    Handoff,
    HandoffStatus,
    Lead,
    Stage,
    StageChange,
)
from leads.qualification import services as qualification
from leads.sales.assignment import handoffs_follow_history
from leads.sales.services import SalesError
from leads.sales.worklog import (
    ActivityIn,
    activity_log,
    lead_accept,
    lead_recycle,
    lead_reject,
    lead_workspace,
    leads_revisit_due,
)
from tests.factories import EventFactory
from tests.leads.sales.helpers import assigned_lead, pooled_lead

pytestmark = pytest.mark.django_db


def handoff_of(lead: Lead) -> Handoff:
    return Handoff.objects.get(lead=lead)


# --- Activities and the clock -----------------------------------------------------------


def test_the_first_activity_stops_the_clock_and_later_ones_do_not_move_it(rep):
    lead = assigned_lead(rep)
    first, created = activity_log(lead=lead, by=rep, data=ActivityIn(kind="call", outcome="no answer"))
    assert created and first.by == rep
    stopped = handoff_of(lead).first_touch_at
    assert stopped is not None
    activity_log(lead=lead, by=rep, data=ActivityIn(kind="email"))
    handoff = handoff_of(lead)
    assert handoff.first_touch_at == stopped
    assert handoff.last_activity_kind == "email"


def test_a_backdated_activity_stops_the_clock_when_it_is_logged_not_earlier(rep):
    lead = assigned_lead(rep)
    before = timezone.now()
    activity_log(lead=lead, by=rep, data=ActivityIn(kind="call", occurred_at=before - timedelta(days=3)))
    assert handoff_of(lead).first_touch_at >= before


def test_the_same_client_token_twice_makes_one_activity(rep):
    lead = assigned_lead(rep)
    data = ActivityIn(kind="meeting", note="Kick-off", client_token="form-123")
    first, created = activity_log(lead=lead, by=rep, data=data)
    again, created_again = activity_log(lead=lead, by=rep, data=data)
    assert created and not created_again and again.pk == first.pk
    assert Activity.objects.count() == 1


def test_a_client_token_used_on_another_lead_is_refused(rep):
    activity_log(lead=assigned_lead(rep), by=rep, data=ActivityIn(kind="note", client_token="t-1"))
    with pytest.raises(SalesError) as refused:
        activity_log(lead=assigned_lead(rep), by=rep, data=ActivityIn(kind="note", client_token="t-1"))
    assert refused.value.field == "client_token"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (ActivityIn(kind="lunch"), "kind"),
        (ActivityIn(kind="call", next_step_on=timezone.localdate() - timedelta(days=1)), "next_step_on"),
        (ActivityIn(kind="call", occurred_at=timezone.now() + timedelta(days=1)), "occurred_at"),
    ],
)
def test_bad_activities_are_refused_by_field(rep, data, field):
    with pytest.raises(SalesError) as refused:
        activity_log(lead=assigned_lead(rep), by=rep, data=data)
    assert refused.value.field == field
    assert not Activity.objects.exists()


# --- Accept -----------------------------------------------------------------------------


def test_accept_makes_an_opportunity_opens_a_deal_and_records_who(rep):
    lead = assigned_lead(rep, company="Acme Ltda")
    deal = lead_accept(lead=lead, by=rep, note="Budget confirmed")
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY
    change = StageChange.objects.get(lead=lead, to_stage=Stage.OPPORTUNITY)
    assert change.changed_by == rep and change.reason == "Accepted by sales" and change.note == "Budget confirmed"
    assert deal.owner == rep and deal.stage.name == "Discovery" and deal.name == "Acme Ltda"
    handoff = handoff_of(lead)
    assert handoff.status == HandoffStatus.ACCEPTED and handoff.closed_at and handoff.first_touch_at


def test_a_pooled_lead_must_be_claimed_before_a_verdict(manager):
    lead = pooled_lead()
    with pytest.raises(SalesError, match="claim it first"):
        lead_accept(lead=lead, by=manager)


def test_a_lead_cannot_be_accepted_twice(rep):
    lead = assigned_lead(rep)
    lead_accept(lead=lead, by=rep)
    with pytest.raises(SalesError, match="not waiting for sales"):
        lead_accept(lead=lead, by=rep)
    assert Deal.objects.count() == 1


# --- Reject -----------------------------------------------------------------------------


def test_reject_disqualifies_with_the_reasons_label(rep):
    lead = assigned_lead(rep)
    lead_reject(lead=lead, by=rep, reason="no_budget")
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED
    change = StageChange.objects.get(lead=lead, to_stage=Stage.DISQUALIFIED)
    assert change.reason == "No budget" and change.changed_by == rep
    assert handoff_of(lead).status == HandoffStatus.REJECTED


def test_reject_needs_a_reason_from_the_list(rep):
    lead = assigned_lead(rep)
    with pytest.raises(SalesError) as refused:
        lead_reject(lead=lead, by=rep, reason="too_pushy")
    assert refused.value.field == "reason" and "bad_fit" in refused.value.message
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_reject_as_other_needs_text(rep):
    lead = assigned_lead(rep)
    with pytest.raises(SalesError) as refused:
        lead_reject(lead=lead, by=rep, reason="other", text="  ")
    assert refused.value.field == "text"
    lead_reject(lead=lead, by=rep, reason="other", text="Student project")
    assert StageChange.objects.get(lead=lead, to_stage=Stage.DISQUALIFIED).note == "Student project"


# --- Recycle and revisit ----------------------------------------------------------------


def test_recycle_sends_the_lead_back_with_a_reason_and_revisit_date(rep):
    lead = assigned_lead(rep)
    revisit = timezone.localdate() + timedelta(days=30)
    lead_recycle(lead=lead, by=rep, reason="timing", revisit_on=revisit, text="Budget in Q3")
    lead.refresh_from_db()
    assert lead.stage == Stage.RECYCLED
    change = StageChange.objects.get(lead=lead, to_stage=Stage.RECYCLED)
    assert change.reason.startswith("Timing") and revisit.isoformat() in change.note and "Budget in Q3" in change.note
    handoff = handoff_of(lead)
    assert handoff.status == HandoffStatus.RECYCLED and handoff.revisit_on == revisit


def test_recycle_needs_a_revisit_date_after_today(rep):
    with pytest.raises(SalesError) as refused:
        lead_recycle(lead=assigned_lead(rep), by=rep, reason="timing", revisit_on=timezone.localdate())
    assert refused.value.field == "revisit_on"


def test_on_the_revisit_date_the_lead_returns_to_marketing_and_is_requalified(rep, marketer):
    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    qualifies, waits, not_yet = assigned_lead(rep), assigned_lead(rep), assigned_lead(rep)
    t0 = timezone.now() - timedelta(days=3)
    EventFactory(lead=qualifies, type="webinar_registered", occurred_at=t0)
    EventFactory(lead=qualifies, type="webinar_attended", occurred_at=t0 + timedelta(hours=1))
    tomorrow = timezone.localdate() + timedelta(days=1)
    for lead in (qualifies, waits, not_yet):
        lead_recycle(lead=lead, by=rep, reason="timing", revisit_on=tomorrow)
    Handoff.objects.filter(lead__in=[qualifies, waits]).update(revisit_on=timezone.localdate())

    assert leads_revisit_due() == 2
    handoffs_follow_history()

    assert Lead.objects.get(pk=qualifies.pk).stage == Stage.MQL  # requalified, and handed off again
    assert handoff_of(qualifies).status == HandoffStatus.POOLED
    assert Lead.objects.get(pk=waits.pk).stage == Stage.LEAD
    assert handoff_of(waits).status == HandoffStatus.RETURNED
    back = StageChange.objects.get(lead=waits, to_stage=Stage.LEAD, from_stage=Stage.RECYCLED)
    assert back.source == ChangeSource.SYSTEM and back.reason == "Revisit date reached"
    assert Lead.objects.get(pk=not_yet.pk).stage == Stage.RECYCLED
    assert leads_revisit_due() == 0  # safe to run again


def test_a_recycled_lead_moved_by_hand_meanwhile_is_left_alone(rep):
    lead = assigned_lead(rep)
    lead_recycle(lead=lead, by=rep, reason="timing", revisit_on=timezone.localdate() + timedelta(days=1))
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.DISQUALIFIED)
    Handoff.objects.filter(lead=lead).update(revisit_on=timezone.localdate())
    assert leads_revisit_due() == 0
    assert Lead.objects.get(pk=lead.pk).stage == Stage.DISQUALIFIED
    assert not StageChange.objects.filter(lead=lead, to_stage=Stage.LEAD).exists()


# --- Workspace --------------------------------------------------------------------------


def test_the_workspace_gathers_why_the_handoff_activities_and_deal(rep):
    lead = assigned_lead(rep)
    activity_log(lead=lead, by=rep, data=ActivityIn(kind="demo"))
    lead_accept(lead=lead, by=rep)
    lead.refresh_from_db()
    space = lead_workspace(lead=lead)
    assert space["handoff"].status == HandoffStatus.ACCEPTED
    assert [a.kind for a in space["activities"]] == ["demo"]
    assert space["open_deal"].stage.name == "Discovery"
    assert "why_qualified" in space and "score" in space
