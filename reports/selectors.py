"""Figures for the landing pages and the agreement: attainment both ways for a month."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from leads.models import Agreement, AssignmentLog, Campaign, Deal, DealStage, Handoff, Stage, StageChange
from leads.sales.selectors import first_touch_figures
from leads.selectors import leads_new_this_month, leads_recent, leads_visible_to, stage_counts
from smarketing.lib.periods import month_bounds, month_first, month_start
from smarketing.roles import Role, primary_role


def agreement_attainment(
    *,
    month: date | None = None,
    rep: AbstractBaseUser | None = None,
    now: datetime | None = None,
    delivered: int | None = None,
) -> dict[str, Any]:
    """A month's figures against the agreement, both ways (every role's landing page, the agreement).

    - MQLs delivered: leads that first reached MQL in the month, against marketing's target,
      with the pace (delivered so far scaled to the whole month);
    - close rate: of the leads handed to sales in the month (its handoff cohort), the share
      sales has won so far, against the agreed rate ("5 of every 20" is 25 %), with the won
      revenue from them;
    - touched in time: of the month's handoffs whose deadline has passed or that were
      touched, the share first touched by the deadline (optionally one rep's).

    `delivered`: the month's MQLs delivered, when the caller has read them already (the
    dashboard, from the funnel's rollup of first entries, instead of the stage history).
    """
    now = now or timezone.now()
    first = month_first(month or timezone.localdate(now))
    agreement = Agreement.for_month(first)
    start, end = month_bounds(first)
    delivered = _moved_to(Stage.MQL, start, end) if delivered is None else delivered
    elapsed = min(max((now - start) / (end - start), 0.0), 1.0)
    return {
        "month": first,
        "agreement": agreement,
        "mql_delivered": delivered,
        "mql_target": agreement.mql_target,
        "mql_pct": _pct(delivered, agreement.mql_target),
        "mql_on_pace": round(delivered / elapsed) if elapsed > 0 else 0,
        **close_figures(start=start, end=end, agreement=agreement),
        "previous": _previous_cohort(first),
        **first_touch_figures(start=start, end=end, now=now, rep=rep),
        "first_touch_target_pct": agreement.first_touch_target_pct,
    }


def _previous_cohort(first: date) -> dict[str, Any]:
    """Last month's handoff cohort: early in a month this month's has had no time to close."""
    previous = month_first(first - timedelta(days=1))
    start, end = month_bounds(previous)
    return {"month": previous, **cohort_figures(start=start, end=end)}


def close_figures(*, start: datetime, end: datetime, agreement: Agreement) -> dict[str, Any]:
    """This month's cohort against the agreed close rate."""
    return cohort_figures(start=start, end=end) | {
        "close_quota": agreement.close_quota,
        "close_per": agreement.close_per,
        "close_target_pct": agreement.close_rate_pct,
    }


def cohort_figures(*, start: datetime, end: datetime) -> dict[str, Any]:
    """The leads handed to sales in [start, end): how many, how many sales has won so far, and
    the revenue of those wins; one query."""
    won = Deal.objects.filter(lead=OuterRef("lead"), stage__outcome=DealStage.Outcome.WON).order_by()
    revenue = won.values("lead").annotate(total=Sum("amount")).values("total")
    figures = Handoff.objects.filter(handed_off_at__gte=start, handed_off_at__lt=end).aggregate(
        handed_off=Count("id"),
        won=Count("id", filter=Q(Exists(won))),
        won_revenue=Sum(Subquery(revenue)),
    )
    handed_off, won_count = figures["handed_off"], figures["won"]
    return {
        "handed_off": handed_off,
        "won": won_count,
        "won_revenue": figures["won_revenue"] or Decimal(0),
        "close_rate_pct": round(won_count * 100 / handed_off, 1) if handed_off else None,
    }


def _pct(part: int, whole: int) -> int | None:
    return round(part * 100 / whole) if whole else None


def _moved_to(stage: str, start: datetime, end: datetime) -> int:
    return first_entries(stage, start, end).values("lead_id").distinct().count()


def first_entries(stage: str, start: datetime, end: datetime) -> QuerySet[StageChange]:
    """The moves into `stage` in [start, end) that were their lead's first: a lead recycled and
    qualified again is delivered once, in the month it first arrived (DESIGN, Agreement: "MQLs
    delivered (first entry into MQL)")."""
    before = Q(changed_at__lt=OuterRef("changed_at")) | Q(changed_at=OuterRef("changed_at"), pk__lt=OuterRef("pk"))
    earlier = StageChange.objects.filter(before, lead=OuterRef("lead"), to_stage=stage)
    moves = StageChange.objects.filter(to_stage=stage, changed_at__gte=start, changed_at__lt=end)
    return moves.exclude(Exists(earlier))


def landing_figures(user: Any) -> dict[str, Any]:
    """What a user's landing page shows: their visible leads by stage, new this month, recent."""
    leads = leads_visible_to(user)
    counts = stage_counts(leads)
    total = sum(row["count"] for row in counts)
    peak = max((row["count"] for row in counts), default=0) or 1
    for row in counts:
        row["percent"] = round(row["count"] * 100 / peak)
    rep = primary_role(user) == Role.SALES
    figures: dict[str, Any] = {
        "stage_counts": counts,
        "total": total,
        # A lead is new to a rep when it reaches their hands, whenever it first came in.
        "new_this_month": leads_handed_to_this_month(user) if rep else leads_new_this_month(leads),
        "new_label": "Handed to you this month" if rep else "New this month",
        "recent": list(leads_recent(leads)),
    }
    if primary_role(user) in (Role.MARKETING, Role.MANAGER):
        figures["campaign_count"] = Campaign.objects.count()
    return figures | attainment_figures(user)


def leads_handed_to_this_month(user: Any) -> int:
    """Leads assigned to, claimed by or reassigned to this rep since the month began."""
    handed = AssignmentLog.objects.filter(to_rep=user, at__gte=month_start())
    return handed.values("lead_id").distinct().count()


def attainment_figures(user: Any) -> dict[str, Any]:
    """This month's agreement both ways; a rep's in-time share counts their own handoffs."""
    mine = primary_role(user) == Role.SALES
    return {"attainment": agreement_attainment(rep=user if mine else None), "attainment_mine": mine}
