"""Reads behind the sales pages that the services do not already give: a manager's team view
of queues and pools, the deal list's totals per stage, the owners a user may filter deals by.

Each read is a fixed number of queries whatever the data (the pages assert it).
"""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from leads.models import (
    Agreement,
    Deal,
    DealStage,
    Handoff,
    HandoffStatus,
    Lead,
    RepProfile,
)
from smarketing.lib.periods import month_bounds, month_first
from smarketing.roles import Role, has_role


def is_sales_user(user: Any) -> bool:
    return has_role(user, Role.SALES, Role.MANAGER)


def managed_rep_ids(user: Any) -> list[int]:
    return list(RepProfile.objects.filter(team__manager=user).values_list("user_id", flat=True))


def sales_leads_visible_to(user: Any) -> QuerySet[Lead]:
    """Leads a user may work: a rep their own; a manager their teams' (reps' leads and pools).

    Superusers see every lead. Marketers work no leads here (they read them in leads.selectors).
    """
    if getattr(user, "is_superuser", False):
        return Lead.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.MANAGER):
        scope |= Q(owner__rep_profile__team__manager=user) | Q(handoff__team__manager=user)
    if has_role(user, Role.SALES):
        scope |= Q(owner=user)
    # One-to-one joins (owner → profile, lead → handoff): no duplicate rows, no DISTINCT needed.
    return Lead.objects.filter(scope)


def sales_lead_for_user(user: Any, pk: int) -> Lead:
    """The lead if this user may work it, else 404 (another rep's lead does not exist for you)."""
    lead = sales_leads_visible_to(user).filter(pk=pk).first()
    if lead is None:
        raise Http404("No such lead.")
    return lead


def handoffs_visible_to(user: Any) -> QuerySet[Handoff]:
    if getattr(user, "is_superuser", False):
        return Handoff.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.MANAGER):
        scope |= Q(team__manager=user) | Q(assigned_to__rep_profile__team__manager=user)
    if has_role(user, Role.SALES):
        scope |= Q(assigned_to=user)
    return Handoff.objects.filter(scope)


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


def deals_visible_to(user: Any) -> QuerySet[Deal]:
    """A rep sees their own deals; a manager their teams'; a superuser all."""
    if getattr(user, "is_superuser", False):
        return Deal.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.MANAGER):
        scope |= Q(owner__rep_profile__team__manager=user)
    if has_role(user, Role.SALES):
        scope |= Q(owner=user)
    return Deal.objects.filter(scope)


def deal_for_user(user: Any, pk: int) -> Deal:
    deal = deals_visible_to(user).select_related("stage", "lead", "owner", "lost_reason").filter(pk=pk).first()
    if deal is None:
        raise Http404("No such deal.")
    return deal


def reps_for_manager(user: Any) -> QuerySet:
    """The reps a manager may hand deals to."""
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES.value)
    return users if getattr(user, "is_superuser", False) else users.filter(rep_profile__team__manager=user)


def first_touch_figures(
    *, start: datetime, end: datetime, now: datetime, rep: AbstractBaseUser | None = None
) -> dict[str, Any]:
    handoffs = Handoff.objects.filter(handed_off_at__gte=start, handed_off_at__lt=end)
    if rep is not None:
        handoffs = handoffs.filter(assigned_to=rep)
    decided = Q(first_touch_at__isnull=False) | Q(deadline__lt=now)
    figures = handoffs.aggregate(
        handoffs=Count("id"),
        decided=Count("id", filter=decided),
        in_time=Count("id", filter=Q(first_touch_at__isnull=False, first_touch_at__lte=F("deadline"))),
    )
    decided_count = figures["decided"]
    figures["touched_in_time_pct"] = round(figures["in_time"] * 100 / decided_count) if decided_count else None
    return figures


def first_touch_this_month(*, rep: AbstractBaseUser, now: datetime | None = None) -> dict[str, Any]:
    """The rep's speed-to-lead this month against the agreement's target (the queue's banner)."""
    now = now or timezone.now()
    first = month_first(timezone.localdate(now))
    start, end = month_bounds(first)
    figures = first_touch_figures(start=start, end=end, now=now, rep=rep)
    return figures | {"first_touch_target_pct": Agreement.for_month(first).first_touch_target_pct}
