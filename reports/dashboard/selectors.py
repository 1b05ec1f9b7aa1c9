"""Reads for the alignment dashboard: the agreement both ways month by month, and for a period
and a set of leads the funnel, velocity, pipeline, won revenue and why sales said no.

Definitions are the other reports' (DESIGN, "Reports"), and so are most reads:

- agreement, per month (whole teams: targets are the teams', so the filters do not apply):
  MQLs delivered (from the funnel's day totals of first entries), handed off, won, won revenue,
  and touched in time exactly as `reports.selectors.agreement_attainment` counts them for one
  month, read here for every month of the trend at once; handoffs accepted: of a month's
  handoffs, those whose lead sales moved to opportunity (the worklog's "accept", as win/loss
  counts it) after the handoff;
- funnel by cohort and by period, velocity: `reports.funnel.selectors`;
- won revenue and the deals closed: `reports.winloss.selectors.deals_closed`;
- rejection and recycle reasons: `reports.winloss.selectors.rejections` per reason;
- pipeline: the open deals now (not the period's), per deal stage, with their amounts.

No read touches the event table: the funnel's rollups (first entries, furthest stages, moves),
stage history, handoffs, deals and agreements only.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from leads.models import Agreement, ChangeSource, Deal, DealStage, Handoff, Lead, Stage, StageChange
from reports.funnel.models import StageEntry
from reports.funnel.selectors import (
    CohortRow,
    StageRow,
    VelocityRow,
    cohort_leads,
    entered_leads,
    first_entries_in,
    first_entries_per_month,
    funnel_by_cohort,
    funnel_by_period,
    moved_leads,
    velocity,
)
from reports.winloss.selectors import (
    ACCEPTED,
    BY_REASON,
    BY_REP,
    RECYCLED,
    REJECTED,
    WORKED,
    DecisionRow,
    Row,
    closed_deals,
    deals_closed,
    deals_totals,
    decisions_in,
    pct,
    rejections,
    verdict_leads,
)
from smarketing.lib.periods import month_bounds, month_first

TREND_MONTHS = 12
TOP_REASONS = 5


def _pct(part: int, whole: int, places: int = 0) -> float | None:
    return round(part * 100 / whole, places) if whole else None


@dataclass
class MonthAttainment:
    """One month of the agreement, both ways, against the terms that held that month."""

    month: date
    mql_target: int
    close_target_pct: float
    first_touch_target_pct: int
    mql_delivered: int = 0
    handed_off: int = 0
    accepted: int = 0
    decided: int = 0
    in_time: int = 0
    won: int = 0
    won_revenue: Decimal = Decimal("0.00")

    @property
    def mql_pct(self) -> float | None:
        return _pct(self.mql_delivered, self.mql_target)

    @property
    def accepted_pct(self) -> float | None:
        return _pct(self.accepted, self.handed_off)

    @property
    def late(self) -> int:
        return self.decided - self.in_time

    @property
    def touched_in_time_pct(self) -> float | None:
        return _pct(self.in_time, self.decided)

    @property
    def close_rate_pct(self) -> float | None:
        return _pct(self.won, self.handed_off, 1)


def trend_months(last: date, count: int = TREND_MONTHS) -> list[date]:
    """The `count` months ending with `last`'s, oldest first."""
    months = [month_first(last)]
    while len(months) < count:
        months.insert(0, month_first(months[0] - timedelta(days=1)))
    return months


def agreement_trend(*, last: date, count: int = TREND_MONTHS, now: datetime | None = None) -> list[MonthAttainment]:
    """The agreement both ways for each of the `count` months ending with `last`'s; three queries
    whatever the number of months (terms, MQLs, handoffs), each grouped by month in the database."""
    now = now or timezone.now()
    months = trend_months(last, count)
    start, end = month_bounds(months[0])[0], month_bounds(months[-1])[1]
    terms = _terms(months)
    rows = {
        month: MonthAttainment(
            month=month,
            mql_target=terms[month].mql_target,
            close_target_pct=terms[month].close_rate_pct,
            first_touch_target_pct=terms[month].first_touch_target_pct,
        )
        for month in months
    }
    for month, delivered in _mqls_per_month(months).items():
        rows[month].mql_delivered = delivered
    for values in _handoffs_per_month(start, end, now):
        row = rows[_month_of(values.pop("month"))]
        row.won_revenue = values.pop("won_revenue") or Decimal("0.00")
        for name, value in values.items():
            setattr(row, name, value)
    return list(rows.values())


def _terms(months: list[date]) -> dict[date, Agreement]:
    """Each month's agreement as `Agreement.for_month` finds it (its own, the latest earlier one,
    or the defaults), from one query."""
    agreements = list(Agreement.objects.filter(month__lte=months[-1]).order_by("month"))
    found: dict[date, Agreement] = {}
    for month in months:
        earlier = [agreement for agreement in agreements if agreement.month <= month]
        found[month] = earlier[-1] if earlier else Agreement(month=month)
    return found


def _month_of(moment: datetime | date) -> date:
    """TruncMonth's value as the month's first day (an aware datetime on both databases)."""
    return timezone.localtime(moment).date() if isinstance(moment, datetime) else moment


def _first_mqls(start: datetime, end: datetime) -> QuerySet[StageEntry]:
    """The leads' first moves into MQL in [start, end) (`agreement_attainment`'s "delivered"),
    one row per lead, from the funnel's rollup."""
    return StageEntry.objects.filter(stage=Stage.MQL, at__gte=start, at__lt=end)


def mqls_delivered(month: date) -> int:
    """The month's MQLs delivered (its leads' first moves into MQL), from the funnel's day totals."""
    return first_entries_in(Stage.MQL, month)


def _mqls_per_month(months: list[date]) -> dict[date, int]:
    """Per month, the leads that first moved into MQL in it."""
    return first_entries_per_month(Stage.MQL, months)


# A handoff's verdicts and clock, as the agreement's reads define them.
IN_TIME = Q(first_touch_at__isnull=False, first_touch_at__lte=F("deadline"))


def _decided(now: datetime) -> Q:
    """Touched, or past its deadline untouched (`first_touch_figures`' "decided")."""
    return Q(first_touch_at__isnull=False) | Q(deadline__lt=now)


def _accepted() -> Exists:
    """Sales accepted the handoff's lead (moved it to opportunity) at or after the handoff."""
    return Exists(
        StageChange.objects.filter(
            lead=OuterRef("lead"),
            to_stage=Stage.OPPORTUNITY,
            source=ChangeSource.USER,
            from_stage__in=WORKED,
            changed_at__gte=OuterRef("handed_off_at"),
        )
    )


def _handoffs_per_month(start: datetime, end: datetime, now: datetime) -> Any:
    """Per month of handoff: handed off, accepted, decided and touched in time (as
    `first_touch_figures` counts them), won so far and the won revenue (as `cohort_figures`)."""
    won = Deal.objects.filter(lead=OuterRef("lead"), stage__outcome=DealStage.Outcome.WON).order_by()
    revenue = won.values("lead").annotate(total=Sum("amount")).values("total")
    return (
        Handoff.objects.filter(handed_off_at__gte=start, handed_off_at__lt=end)
        .annotate(month=TruncMonth("handed_off_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(
            handed_off=Count("id"),
            accepted=Count("id", filter=Q(_accepted())),
            decided=Count("id", filter=_decided(now)),
            in_time=Count("id", filter=IN_TIME),
            won=Count("id", filter=Q(Exists(won))),
            won_revenue=Sum(Subquery(revenue)),
        )
        .order_by()
    )


# --- The leads behind the agreement's figures ------------------------------------------------


def handoffs_in(month: date) -> QuerySet[Handoff]:
    start, end = month_bounds(month)
    return Handoff.objects.filter(handed_off_at__gte=start, handed_off_at__lt=end)


def agreement_leads(*, figure: str, month: date, now: datetime | None = None) -> QuerySet[Lead]:
    """The leads behind one of a month's agreement figures (see `agreement_trend`)."""
    now = now or timezone.now()
    if figure == "mql_delivered":
        start, end = month_bounds(month)
        return Lead.objects.filter(pk__in=_first_mqls(start, end).values("lead_id"))
    handoffs = handoffs_in(month)
    if figure == "accepted":
        handoffs = handoffs.filter(_accepted())
    elif figure == "in_time":
        handoffs = handoffs.filter(IN_TIME)
    elif figure == "late":
        handoffs = handoffs.filter(_decided(now)).exclude(IN_TIME)
    elif figure == "won_handoff":
        handoffs = handoffs.filter(lead__deals__stage__outcome=DealStage.Outcome.WON)
    elif figure != "handed_off":
        raise ValueError(f"Unknown agreement figure {figure!r}.")
    return Lead.objects.filter(pk__in=handoffs.values("lead_id"))


# --- Pipeline --------------------------------------------------------------------------------


@dataclass
class PipelineRow:
    stage_id: int | None
    stage: str
    deals: int = 0
    amount: Decimal = Decimal("0.00")


def open_deals(leads: QuerySet[Lead] | None = None, *, stages: list[DealStage] | None = None) -> QuerySet[Deal]:
    """The open deals (in `stages`, the open stages already read, when given), of `leads` if given."""
    deals = (
        Deal.objects.filter(stage__outcome=DealStage.Outcome.OPEN)
        if stages is None
        else Deal.objects.filter(stage_id__in=[stage.pk for stage in stages])
    )
    return deals if leads is None else deals.filter(lead__in=leads)


def pipeline(leads: QuerySet[Lead] | None = None) -> list[PipelineRow]:
    """The open deals now, per open stage in the pipeline's order (every open stage has a row,
    a deal without an amount counts for nothing); two queries: the open stages, then the deals
    counted per stage among their ids (PostgreSQL then knows how many deals they hold, where
    through a join to the stages it guessed a few and checked their leads one by one)."""
    stages = list(DealStage.objects.filter(outcome=DealStage.Outcome.OPEN).order_by("position", "id"))
    deals = open_deals(leads, stages=stages)
    counted = {
        values["stage_id"]: values
        for values in deals.values("stage_id").annotate(n=Count("id"), total=Sum("amount")).order_by()
    }
    return [
        PipelineRow(
            stage_id=stage.pk,
            stage=stage.name,
            deals=counted.get(stage.pk, {}).get("n", 0),
            amount=counted.get(stage.pk, {}).get("total") or Decimal("0.00"),
        )
        for stage in stages
    ]


def pipeline_totals(rows: list[PipelineRow]) -> PipelineRow:
    return PipelineRow(
        stage_id=None,
        stage="Total",
        deals=sum(row.deals for row in rows),
        amount=sum((row.amount for row in rows), Decimal("0.00")),
    )


# --- Why sales said no --------------------------------------------------------------------------


@dataclass
class ReasonRow:
    """A rejection or recycle reason: how many leads sales gave it, and its share of every verdict."""

    label: str
    verdict: str  # rejected or recycled
    leads: int
    share: Decimal | None


def top_reasons(rows: list[DecisionRow], *, top: int = TOP_REASONS) -> tuple[list[ReasonRow], int]:
    """The `top` reasons of the verdicts per reason (`rejections(by=BY_REASON)`), and how many
    verdicts there were in all (acceptances included: the shares are of every verdict)."""
    decided = sum(row.decided for row in rows)
    reasons = [
        ReasonRow(
            label=row.label,
            verdict=REJECTED if row.rejected else RECYCLED,  # a row per (verdict, reason)
            leads=row.rejected + row.recycled,
            share=pct(row.rejected + row.recycled, decided),
        )
        for row in rows
        if row.key != ACCEPTED
    ]
    return reasons[:top], decided


# --- The page --------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """Everything the dashboard shows for a period [start, end) and a set of leads."""

    start: datetime
    end: datetime
    trend: list[MonthAttainment]
    cohorts: list[CohortRow]
    entries: list[StageRow]
    moves: list[VelocityRow]
    pipeline: list[PipelineRow]
    pipeline_total: PipelineRow
    deals: Row  # the period's closed deals, won revenue among them
    reasons: list[ReasonRow]  # the top rejection and recycle reasons
    decided: int  # every verdict in the period: the reasons' shares are of these


def dashboard(
    *,
    start: datetime,
    end: datetime,
    last_month: date,
    leads: QuerySet[Lead] | None = None,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard's figures: the agreement's trend to `last_month` (3 queries), the funnel by
    cohort and by period and the velocity (3), the pipeline (2), the closed deals (1) and the
    verdicts per reason (1): ten queries however many leads, deals and months."""
    reasons, decided = top_reasons(rejections(start=start, end=end, by=BY_REASON, leads=leads))
    stages = pipeline(leads)
    return Dashboard(
        start=start,
        end=end,
        trend=agreement_trend(last=last_month, now=now),
        cohorts=funnel_by_cohort(start=start, end=end, leads=leads),
        entries=funnel_by_period(start=start, end=end, leads=leads),
        moves=velocity(start=start, end=end, leads=leads),
        pipeline=stages,
        pipeline_total=pipeline_totals(stages),
        # Only the totals show: grouped by rep (a join to the few users), not by the leads' source,
        # which read every closed deal's lead.
        deals=deals_totals(deals_closed(start=start, end=end, by=BY_REP, leads=leads)),
        reasons=reasons,
        decided=decided,
    )


# --- The leads behind a figure ----------------------------------------------------------------

PERIOD_FIGURES = ("created", "cohort", "entered", "moved", "won", "lost", "pipeline", "verdict")
AGREEMENT_FIGURES = ("mql_delivered", "handed_off", "accepted", "in_time", "late", "won_handoff")


def period_leads(
    *,
    figure: str,
    start: datetime,
    end: datetime,
    leads: QuerySet[Lead] | None = None,
    stage: str | None = None,
    deal_stage: DealStage | None = None,
    verdict: str | None = None,
    reason: str | None = None,
) -> QuerySet[Lead]:
    """The leads behind one of the period's figures, through the read that counts it."""
    if figure == "created":
        return (Lead.objects.all() if leads is None else leads).filter(created_at__gte=start, created_at__lt=end)
    if figure == "cohort":
        return Lead.objects.filter(pk__in=cohort_leads(start=start, end=end, stage=stage, leads=leads).values("pk"))
    if figure == "entered":
        return entered_leads(start=start, end=end, stage=stage, leads=leads)
    if figure == "moved":
        return moved_leads(start=start, end=end, from_stage=stage, leads=leads)
    if figure in ("won", "lost"):
        deals = closed_deals(start=start, end=end, outcomes=(figure,), leads=leads)
        return Lead.objects.filter(pk__in=deals.values("lead_id"))
    if figure == "pipeline":
        deals = open_deals(leads)
        deals = deals if deal_stage is None else deals.filter(stage=deal_stage)
        return Lead.objects.filter(pk__in=deals.values("lead_id"))
    if figure == "verdict" and verdict is None:  # every verdict: the reasons' shares are of these
        return Lead.objects.filter(pk__in=decisions_in(start=start, end=end, leads=leads).values("lead_id"))
    if figure == "verdict":
        return verdict_leads(start=start, end=end, verdict=verdict, reason=reason, leads=leads)
    raise ValueError(f"Unknown figure {figure!r}.")
