from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import (
    Agreement,
    AssignmentLog,
    DefinitionStatus,
    Handoff,
    HandoffStatus,
    Lead,
    Notification,
    Persona,
    RepProfile,
    Stage,
    StageChange,
)
from leads.qualification import services as qualification
from leads.sales.assignment import handoffs_follow_history, leads_hand_off
from tests.factories import LeadFactory
from tests.leads.sales.helpers import handed_off, mql, new_rep, rule_to, team_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(rep, other_rep, manager):
    return team_with("Iberia", rep, other_rep, manager=manager)


# --- When: the agreement's handoff stage ------------------------------------------------


def test_an_mql_with_no_matching_rule_waits_in_the_general_pool():
    lead = mql()
    [handoff] = handed_off(lead)
    assert handoff.status == HandoffStatus.POOLED
    assert handoff.team_id is None and handoff.assigned_to_id is None
    assert handoff.due_at == handoff.deadline > handoff.handed_off_at
    lead.refresh_from_db()
    assert lead.owner_id is None


def test_the_deadline_follows_the_agreements_speed_to_lead_hours():
    Agreement.objects.create(month=timezone.localdate().replace(day=1), speed_to_lead_hours=4, reassign_after_hours=2)
    [handoff] = handed_off(mql())
    assert handoff.deadline - handoff.handed_off_at == timedelta(hours=4)
    assert handoff.reassign_at - handoff.deadline == timedelta(hours=2)


def test_an_mql_is_not_handed_off_when_the_agreement_hands_off_at_sql():
    Agreement.objects.create(month=timezone.localdate().replace(day=1), handoff_stage=Stage.SQL)
    lead = mql()
    assert leads_hand_off(lead_ids=[lead.pk], stage=Stage.MQL) == 0
    assert not Handoff.objects.exists()
    lead.stage = Stage.SQL
    lead.save()
    assert leads_hand_off(lead_ids=[lead.pk], stage=Stage.SQL) == 1


def test_a_lead_with_an_open_handoff_is_not_handed_off_again_at_sql():
    lead = mql()
    [first] = handed_off(lead)
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.SQL)
    assert leads_hand_off(lead_ids=[lead.pk], stage=Stage.SQL) == 0
    assert Handoff.objects.get(lead=lead).handed_off_at == first.handed_off_at


def test_a_lead_whose_handoff_closed_starts_afresh():
    lead = mql()
    [first] = handed_off(lead)
    Handoff.objects.filter(pk=first.pk).update(status=HandoffStatus.RETURNED)
    assert leads_hand_off(lead_ids=[lead.pk], stage=Stage.MQL) == 1
    assert Handoff.objects.get(lead=lead).status == HandoffStatus.POOLED


def test_the_handoff_reader_hands_the_mqls_qualification_promoted_to_sales(marketer, rep, other_rep, team):
    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    rule_to(team=team)
    t0 = timezone.now() - timedelta(days=2)
    for offset, kind in enumerate(["webinar_registered", "webinar_attended"]):
        events_ingest(
            events=[
                EventIn(
                    email="ana@acme.io",
                    type=kind,
                    occurred_at=t0 + timedelta(hours=offset),
                    idempotency_key=f"ana-{kind}",
                    properties={},
                )
            ]
        )
    lead = Lead.objects.get(email="ana@acme.io")
    assert lead.stage == Stage.MQL
    assert not Handoff.objects.filter(lead=lead).exists()  # qualification hands nothing over itself

    assert handoffs_follow_history() >= 1

    lead.refresh_from_db()
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.status == HandoffStatus.ASSIGNED and handoff.assigned_to_id in (rep.pk, other_rep.pk)
    assert handoff.why  # the rules that qualified it, for the queue's "why it is here"
    assert lead.owner_id == handoff.assigned_to_id
    promoted = StageChange.objects.get(lead=lead, to_stage=Stage.MQL)
    assert handoff.handed_off_at == promoted.changed_at  # the speed-to-lead clock starts at the promotion
    assert handoffs_follow_history() == 0 and Handoff.objects.filter(lead=lead).count() == 1  # read once


# --- Where: ordered rules ---------------------------------------------------------------


def test_the_first_matching_rule_wins(rep, other_rep):
    rule_to(rep=other_rep, position=2, countries=["ES"])
    rule_to(rep=rep, position=1, countries=["ES"])
    [handoff] = handed_off(mql(country="ES"))
    assert handoff.assigned_to == rep
    log = AssignmentLog.objects.get(lead=handoff.lead)
    assert log.action == AssignmentLog.Action.ASSIGNED and log.to_rep == rep and log.rule.position == 1


@pytest.mark.parametrize(
    ("conditions", "matching", "other"),
    [
        ({"countries": ["es", "MX"]}, {"country": "MX"}, {"country": "US"}),
        ({"regions": ["LATAM"]}, {"country": "BR"}, {"country": "DE"}),
        ({"company_size_min": 50, "company_size_max": 500}, {"company_size": 50}, {"company_size": 501}),
        ({"company_size_min": 50}, {"company_size": 5000}, {"company_size": None}),
        ({"industries": ["Software"]}, {"industry": "software"}, {"industry": "Retail"}),
        ({"sources": ["webinar"]}, {"source": "Webinar"}, {"source": "seo"}),
    ],
)
def test_rule_conditions_on_attributes(rep, conditions, matching, other):
    rule_to(rep=rep, **conditions)
    yes, no = mql(**matching), mql(**other)
    handed_off(yes, no)
    assert Handoff.objects.get(lead=yes).assigned_to == rep
    assert Handoff.objects.get(lead=no).status == HandoffStatus.POOLED


def test_a_rule_on_persona_matches_leads_of_that_persona(rep):
    ops = Persona.objects.create(name="Ops lead", conditions=[])
    other = Persona.objects.create(name="Founder", conditions=[])
    rule_to(rep=rep, personas=[ops])
    yes, no = mql(persona=ops), mql(persona=other)
    handed_off(yes, no)
    assert Handoff.objects.get(lead=yes).assigned_to == rep
    assert Handoff.objects.get(lead=no).assigned_to is None


def test_a_rule_naming_a_rep_who_is_away_gives_the_next_rule_its_chance(rep, other_rep):
    today = timezone.localdate()
    RepProfile.objects.create(user=rep, away_from=today - timedelta(days=1), away_until=today + timedelta(days=3))
    rule_to(rep=rep, position=1)
    rule_to(rep=other_rep, position=2)
    [handoff] = handed_off(mql())
    assert handoff.assigned_to == other_rep


# --- Round-robin inside a team ----------------------------------------------------------


def test_round_robin_takes_turns_inside_the_team(rep, other_rep, manager):
    third = new_rep("rep3")
    team = team_with("Iberia", rep, other_rep, third, manager=manager)
    rule_to(team=team)
    handoffs = handed_off(*[mql(score=10 - i) for i in range(6)])
    holders = [h.assigned_to_id for h in handoffs]
    assert sorted(holders.count(r.pk) for r in (rep, other_rep, third)) == [2, 2, 2]
    assert holders[:3] != [holders[0]] * 3  # turns, not one rep first


def test_round_robin_continues_where_the_last_batch_stopped(rep, other_rep, manager):
    team = team_with("Iberia", rep, other_rep, manager=manager)
    rule_to(team=team)
    [first] = handed_off(mql())
    [second] = handed_off(mql())
    assert {first.assigned_to_id, second.assigned_to_id} == {rep.pk, other_rep.pk}


def test_round_robin_passes_over_a_rep_at_capacity(rep, other_rep, manager):
    team = team_with("Iberia", rep, other_rep, manager=manager)
    RepProfile.objects.filter(user=rep).update(capacity=1)
    rule_to(team=team)
    handoffs = handed_off(*[mql() for _ in range(4)])
    holders = [h.assigned_to_id for h in handoffs]
    assert holders.count(rep.pk) == 1
    assert holders.count(other_rep.pk) == 3


def test_round_robin_passes_over_a_rep_away_today_but_not_once_back(rep, other_rep, manager):
    team = team_with("Iberia", rep, other_rep, manager=manager)
    today = timezone.localdate()
    RepProfile.objects.filter(user=rep).update(away_from=today - timedelta(days=5), away_until=today)
    rule_to(team=team)
    assert {h.assigned_to_id for h in handed_off(mql(), mql())} == {other_rep.pk}
    RepProfile.objects.filter(user=rep).update(away_until=today - timedelta(days=1))
    assert rep.pk in {h.assigned_to_id for h in handed_off(mql(), mql())}


def test_a_rep_away_in_the_future_still_gets_leads_today(rep, manager):
    team = team_with("Iberia", rep, manager=manager)
    RepProfile.objects.filter(user=rep).update(away_from=timezone.localdate() + timedelta(days=2))
    rule_to(team=team)
    [handoff] = handed_off(mql())
    assert handoff.assigned_to == rep


def test_a_team_with_no_rep_free_keeps_the_lead_in_its_own_pool(rep, manager):
    team = team_with("Iberia", rep, manager=manager, capacity=0)
    rule_to(team=team)
    [handoff] = handed_off(mql())
    assert handoff.status == HandoffStatus.POOLED and handoff.team == team
    assert AssignmentLog.objects.get(lead=handoff.lead).action == AssignmentLog.Action.POOLED


def test_an_inactive_rep_gets_nothing(rep, other_rep, manager):
    team = team_with("Iberia", rep, other_rep, manager=manager)
    rep.is_active = False
    rep.save()
    rule_to(team=team)
    assert {h.assigned_to_id for h in handed_off(mql(), mql())} == {other_rep.pk}


# --- What is recorded -------------------------------------------------------------------


def test_assignment_sets_the_owner_logs_it_and_notifies_the_rep(rep, manager):
    team = team_with("Iberia", rep, manager=manager)
    rule_to(team=team)
    lead = mql()
    handed_off(lead)
    lead.refresh_from_db()
    assert lead.owner == rep
    assert AssignmentLog.objects.filter(lead=lead, to_rep=rep, team=team).count() == 1
    note = Notification.objects.get(user=rep)
    assert "first touch due" in note.text and note.url == f"/leads/{lead.pk}/"


def test_handing_off_many_leads_takes_the_same_queries_as_a_few(rep, other_rep, manager):
    team = team_with("Iberia", rep, other_rep, manager=manager, capacity=100)
    rule_to(team=team)
    few = [mql() for _ in range(3)]
    many = [mql() for _ in range(60)]
    with CaptureQueriesContext(connection) as small:
        leads_hand_off(lead_ids=[lead.pk for lead in few], stage=Stage.MQL)
    with CaptureQueriesContext(connection) as large:
        leads_hand_off(lead_ids=[lead.pk for lead in many], stage=Stage.MQL)
    # Not one query per lead: the same statements (SQLite splits a big INSERT into a few).
    assert len(large) <= len(small) + 3
    assert Handoff.objects.filter(status=HandoffStatus.ASSIGNED).count() == 63


def test_a_lead_no_longer_at_the_stage_is_not_handed_off():
    lead = LeadFactory(stage=Stage.DISQUALIFIED)
    assert leads_hand_off(lead_ids=[lead.pk], stage=Stage.MQL) == 0
