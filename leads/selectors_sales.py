"""Reads behind the sales pages that the services do not already give: a manager's team view
of queues and pools, the deal list's totals per stage, the owners a user may filter deals by.

Each read is a fixed number of queries whatever the data (the pages assert it).
"""

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from leads.deals import reps_for_manager
from leads.models import Deal, DealStage, Handoff, HandoffStatus, RepProfile
from leads.queue import handoffs_visible_to
from smarketing.roles import Role, has_role

TEAM_URGENT_LIMIT = 50


def profiles_managed_by(user: Any) -> QuerySet[RepProfile]:
    profiles = RepProfile.objects.select_related("user", "team")
    return profiles if getattr(user, "is_superuser", False) else profiles.filter(team__manager=user)


def managed_rep(user: Any, rep_id: Any) -> Any:
    """A rep in one of the manager's teams, else 404 (another team's rep does not exist for you)."""
    try:
        rep_pk = int(rep_id)
    except (TypeError, ValueError) as error:
        raise Http404("No such rep in your teams.") from error
    profile = profiles_managed_by(user).filter(user_id=rep_pk).first() if has_role(user, Role.MANAGER) else None
    if profile is None:
        raise Http404("No such rep in your teams.")
    return profile.user


def team_queues(*, manager: Any) -> dict[str, Any]:
    """The manager's reps with their load and overdue leads, the pools they draw from, and the
    team's untouched leads by deadline (overdue first). Three queries."""
    now = timezone.now()
    assigned = Q(user__handoffs__status=HandoffStatus.ASSIGNED)
    untouched = assigned & Q(user__handoffs__first_touch_at__isnull=True)
    reps = list(
        profiles_managed_by(manager)
        .annotate(
            open=Count("user__handoffs", filter=assigned),
            overdue=Count("user__handoffs", filter=untouched & Q(user__handoffs__due_at__lt=now)),
        )
        .order_by("team__name", "user__first_name", "user__username")
    )
    return {"reps": reps, "pools": _pools(manager), "urgent": _urgent(manager, now)}


def _pools(manager: Any) -> list[dict[str, Any]]:
    """Waiting leads per pool: the manager's teams' and the general one (team None)."""
    pooled = Handoff.objects.filter(status=HandoffStatus.POOLED)
    if not getattr(manager, "is_superuser", False):
        pooled = pooled.filter(Q(team__manager=manager) | Q(team__isnull=True))
    rows = pooled.order_by().values("team_id", "team__name").annotate(waiting=Count("id"))
    return sorted(rows, key=lambda row: (row["team__name"] is None, row["team__name"] or ""))


def _urgent(manager: Any, now: Any) -> list[Handoff]:
    rows = handoffs_visible_to(manager).filter(status=HandoffStatus.ASSIGNED, first_touch_at__isnull=True)
    rows = rows.select_related("lead__scoring", "assigned_to").order_by("due_at", "id")[:TEAM_URGENT_LIMIT]
    return [handoff for handoff in rows if handoff.assigned_to_id]


# --- Deals ------------------------------------------------------------------------------


def deal_owner_choices(user: Any) -> list[tuple[int, str]]:
    """Whom a manager may filter deals by (their reps); a rep sees only their own, so none."""
    if not has_role(user, Role.MANAGER):
        return []
    users = reps_for_manager(user).distinct().order_by("first_name", "last_name", "username")
    rows = users.values_list("pk", "first_name", "last_name", "username")
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]


def deal_totals_by_stage(deals: QuerySet[Deal], stages: list[DealStage]) -> list[dict[str, Any]]:
    """Count and value of the deals in each stage, every stage listed (one query)."""
    found = {
        row["stage_id"]: row
        for row in deals.order_by().values("stage_id").annotate(count=Count("id"), value=Sum("amount"))
    }
    empty = {"count": 0, "value": None}
    rows = [(stage, found.get(stage.pk, empty)) for stage in stages]
    return [{"stage": stage, "count": row["count"], "value": row["value"] or 0} for stage, row in rows]
