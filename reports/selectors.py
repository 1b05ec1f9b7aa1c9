"""Figures for the landing pages and, later, the alignment dashboard."""

from typing import Any

from leads.models import Campaign
from leads.selectors import leads_new_this_month, leads_recent, leads_visible_to, stage_counts
from leads.sla import agreement_attainment
from smarketing.roles import Role, primary_role


def landing_figures(user: Any) -> dict[str, Any]:
    """What a user's landing page shows: their visible leads by stage, new this month, recent."""
    leads = leads_visible_to(user)
    counts = stage_counts(leads)
    total = sum(row["count"] for row in counts)
    peak = max((row["count"] for row in counts), default=0) or 1
    for row in counts:
        row["percent"] = round(row["count"] * 100 / peak)
    figures: dict[str, Any] = {
        "stage_counts": counts,
        "total": total,
        "new_this_month": leads_new_this_month(leads),
        "recent": list(leads_recent(leads)),
    }
    if primary_role(user) in (Role.MARKETING, Role.MANAGER):
        figures["campaign_count"] = Campaign.objects.count()
    return figures | attainment_figures(user)


def attainment_figures(user: Any) -> dict[str, Any]:
    """This month's agreement both ways; a rep's in-time share counts their own handoffs."""
    mine = primary_role(user) == Role.SALES
    return {"attainment": agreement_attainment(rep=user if mine else None), "attainment_mine": mine}
