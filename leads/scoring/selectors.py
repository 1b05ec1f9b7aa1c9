"""Reads behind the scoring pages: personas and rules with their reach, a lead's score
breakdown as rows, and the rescore job a page follows.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.shortcuts import get_object_or_404

from leads.conditions import describe_condition
from leads.jobs import jobs_visible_to
from leads.models import EngagementRollup, Job, Lead, LeadScore, Persona, ScoringRule
from leads.scoring.sql import FIT_KEY


def score_explained(lead: Lead) -> list[dict[str, Any]]:
    """The breakdown as rows for the lead page, biggest first; they sum to the score."""
    rows = [{"rule": name, "points": int(points)} for name, points in (lead.score_breakdown or {}).items()]
    for row in rows:
        if row["rule"] == FIT_KEY:
            row["rule"] = f"Fit ({lead.persona.name})" if lead.persona_id else "Fit"
    return sorted(rows, key=lambda row: -abs(row["points"]))


@dataclass
class PersonaRow:
    persona: Persona
    sentences: list[tuple[str, int]]
    best_match_for: int


def personas_overview() -> list[PersonaRow]:
    """Every persona with its conditions in words and how many leads it is the best match for."""
    counts = dict(
        LeadScore.objects.filter(persona__isnull=False).order_by().values_list("persona").annotate(n=Count("lead"))
    )
    return [
        PersonaRow(
            persona=persona,
            sentences=[(describe_condition(c), c.get("weight", 0)) for c in persona.conditions],
            best_match_for=counts.get(persona.pk, 0),
        )
        for persona in Persona.objects.order_by("-is_active", "name")
    ]


def rules_overview() -> dict[str, list[tuple[ScoringRule, int | None]]]:
    """Engagement and negative rules, each with how many leads it gives points to now.

    Engagement rules count their rollup rows (one grouped query); negative rules have no
    rollups, so their count is None.
    """
    counts = dict(EngagementRollup.objects.order_by().values_list("rule").annotate(n=Count("*")))
    out: dict[str, list[tuple[ScoringRule, int | None]]] = {"engagement": [], "negative": []}
    for rule in ScoringRule.objects.order_by("-is_active", "kind", "name"):
        if rule.is_negative:
            out["negative"].append((rule, None))
        else:
            out["engagement"].append((rule, counts.get(rule.pk, 0)))
    return out


def rescore_job_for_page(user: Any, job_id: str | None) -> Job | None:
    """The rescore job to show: the one asked for, else the user's latest that is still running."""
    jobs = jobs_visible_to(user).filter(kind="rescore")
    if job_id and job_id.isdigit():
        return get_object_or_404(jobs, pk=int(job_id))
    return jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).order_by("-created_at").first()
