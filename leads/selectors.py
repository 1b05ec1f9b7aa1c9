"""Reads on leads reused by pages, the API and reports."""

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leads.models import FUNNEL, Lead, Stage
from smarketing.roles import Role, has_role


def leads_visible_to(user: Any) -> QuerySet[Lead]:
    """Marketing and managers see every lead; a rep sees the leads they own."""
    if has_role(user, Role.MANAGER, Role.MARKETING):
        return Lead.objects.all()
    if has_role(user, Role.SALES):
        return Lead.objects.filter(owner=user)
    return Lead.objects.none()


def lead_for_user(user: Any, pk: int) -> Lead:
    """The lead if this user may see it, else 404 (not 403: we don't confirm it exists)."""
    return get_object_or_404(leads_visible_to(user).select_related("scoring__persona"), pk=pk)


def stage_counts(leads: QuerySet[Lead]) -> list[dict[str, Any]]:
    """Leads per stage, every stage listed (zeros included), in funnel order."""
    counts = dict(leads.order_by().values_list("stage").annotate(n=Count("id")))
    order = [*FUNNEL, Stage.RECYCLED, Stage.DISQUALIFIED]
    return [{"stage": stage, "label": Stage(stage).label, "count": counts.get(stage, 0)} for stage in order]


def month_start(now: Any = None) -> Any:
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def leads_new_this_month(leads: QuerySet[Lead]) -> int:
    return leads.filter(created_at__gte=month_start()).count()


def leads_recent(leads: QuerySet[Lead], limit: int = 10) -> QuerySet[Lead]:
    return leads.select_related("owner", "first_campaign", "scoring").order_by("-created_at", "-id")[:limit]
