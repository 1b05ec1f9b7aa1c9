"""Builders shared by the sales-side tests: teams, reps, handed-off leads."""

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from conftest import make_user
from leads.models import AssignmentRule, Handoff, HandoffStatus, Lead, RepProfile, Stage, Team
from leads.sales.assignment import leads_hand_off
from smarketing.roles import Role
from tests.factories import LeadFactory


def team_with(name: str, *reps: User, manager: User | None = None, capacity: int = 25) -> Team:
    team = Team.objects.create(name=name, manager=manager)
    for rep in reps:
        RepProfile.objects.update_or_create(user=rep, defaults={"team": team, "capacity": capacity})
    return team


def new_rep(username: str, team: Team | None = None, **profile: Any) -> User:
    rep = make_user(username, Role.SALES)
    if team is not None or profile:
        RepProfile.objects.create(user=rep, team=team, **profile)
    return rep


def rule_to(
    *, team: Team | None = None, rep: User | None = None, position: int = 0, **conditions: Any
) -> AssignmentRule:
    personas = conditions.pop("personas", [])
    rule = AssignmentRule.objects.create(name=f"rule {position}", position=position, team=team, rep=rep, **conditions)
    rule.personas.set(personas)
    return rule


def mql(**fields: Any) -> Lead:
    return LeadFactory(stage=Stage.MQL, **fields)


def handed_off(*leads: Lead, stage: str = Stage.MQL) -> list[Handoff]:
    leads_hand_off(lead_ids=[lead.pk for lead in leads], stage=stage)
    return [Handoff.objects.get(lead=lead) for lead in leads]


def pooled_lead(**fields: Any) -> Lead:
    lead = mql(**fields)
    handed_off(lead)
    return lead


def assigned_lead(rep: User, *, due_in: timedelta | None = None, **fields: Any) -> Lead:
    """An MQL handed off and held by `rep` (written directly: the rules are tested elsewhere)."""
    lead = mql(owner=rep, **fields)
    now = timezone.now()
    due = now + (due_in if due_in is not None else timedelta(hours=24))
    team_id = RepProfile.objects.filter(user=rep).values_list("team_id", flat=True).first()
    Handoff.objects.create(
        lead=lead,
        stage=Stage.MQL,
        status=HandoffStatus.ASSIGNED,
        assigned_to=rep,
        team_id=team_id,
        score=lead.score,
        handed_off_at=now - timedelta(hours=1),
        deadline=due,
        due_at=due,
        reassign_at=due + timedelta(hours=24),
    )
    return lead
