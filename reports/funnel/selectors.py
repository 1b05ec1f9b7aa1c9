"""Reads for the funnel and velocity: cohorts of new leads, stage entries in a period, and the
time leads take from one stage to the next.

Definitions (DESIGN, "Reports"), for a period [start, end) in the instance's zone, over the
forward path FUNNEL (subscriber → lead → mql → sql → opportunity → customer → evangelist):

- cohort: the leads created in a month (the instance's zone) inside [start, end); a range that
  starts or ends inside a month gives that month's part of it.
- reached: a lead has reached stage X when the furthest stage of the forward path it has ever
  been in is X or beyond. "Ever been in" is its stage now, and every stage its history names,
  the stage a move went to (`to_stage`) and the one it left (`from_stage`, which is how the
  stage a lead was created in shows). So a recycled or disqualified lead counts for the stages
  it had reached before, and a lead handed straight from lead to SQL counts as having reached
  MQL: each column of a cohort holds the column to its right, and no rate exceeds 100%. Every
  lead created on the forward path has reached subscriber.
- entries in a period: per stage, the leads whose *first ever* entry into it (a StageChange to
  it) falls in the period; a lead that comes back to a stage is not counted again (the ROI
  report's MQLs and SQLs count the same way). Creating a lead writes no history row, so the
  first two columns count only moves into them.
- rate from a stage to the next: the next stage's figure ÷ this stage's; None when this stage's
  is 0. In a cohort it is a conversion; in a period it compares two columns of different leads.
- velocity: a move from X to the next stage is a StageChange from X to it; it took from the
  lead's entry into X (its previous StageChange, or its creation when the move is its first) to
  the move. For the moves made in [start, end): per pair of stages, how many and the median of
  their days. A lead that skips a stage (mql → opportunity) makes no move of either pair.

Every read takes an optional `leads` (a Lead queryset: the dashboard's campaign, channel, persona
or definition version) and counts only those; each has a companion returning the leads behind
one of its figures, built from the same query, so a figure and its list cannot disagree.

Each report is one query whatever the number of leads, and none reads the stage history: they
read its rollups (reports.funnel.models, kept current by `reports.rollups_update` every 15 s, so
a move shows within seconds): a creation row per lead with its furthest stage, a row per first
entry, a row per move with when its lead entered the stage it left. Over every lead and whole
days (every period the pages offer), cohorts and entries add up the same rows' day totals
instead (CohortDay, EntryDay: a few hundred rows for a year, where the rows are millions), which
the rollups keep equal to them. On PostgreSQL the velocity's medians are taken in the database
(percentile_cont over seconds); elsewhere in Python.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from leads.models import FUNNEL, Lead
from reports.funnel.models import CREATED, CohortDay, EntryDay, StageEntry, StageMove
from smarketing.lib.periods import month_first, next_month

BY_COHORT, BY_PERIOD = "cohort", "period"
GROUPINGS = (BY_COHORT, BY_PERIOD)
RATIO = Decimal("0.0001")
DAYS = Decimal("0.01")
# Consecutive stages of the forward path: (from, to).
MOVES = list(zip(FUNNEL, FUNNEL[1:], strict=False))
LEAVABLE = [earlier for earlier, _ in MOVES]


def rate(later: int, earlier: int) -> Decimal | None:
    """later ÷ earlier to four places; None when earlier is 0."""
    return (Decimal(later) / earlier).quantize(RATIO) if earlier else None


@dataclass
class CohortRow:
    """The leads created in one month and how many of them reached each stage."""

    month: date
    leads: int = 0  # created in the month, on the forward path or not
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FUNNEL, 0))

    @property
    def rates(self) -> dict[str, Decimal | None]:
        """Per stage (but the last), the share of its leads that reached the next one."""
        return {stage: rate(self.counts[later], self.counts[stage]) for stage, later in MOVES}

    @property
    def cells(self) -> list[tuple[str, int, Decimal | None]]:
        """(stage, count, rate to the next stage) in FUNNEL's order, for a table's columns."""
        rates = self.rates
        return [(stage, self.counts[stage], rates.get(stage)) for stage in FUNNEL]


@dataclass
class StageRow:
    """One stage's first entries in the period, and the rate on to the next stage's."""

    stage: str
    entries: int
    rate_to_next: Decimal | None = None


@dataclass
class VelocityRow:
    """The moves from one stage to the next made in the period, and their median duration."""

    from_stage: str
    to_stage: str
    moves: int
    median_days: Decimal | None


# --- Cohorts ---------------------------------------------------------------------------------


def _created(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None) -> QuerySet[StageEntry]:
    """The creation rows of the leads created in [start, end), each with its furthest place on
    the forward path (`furthest`: the highest among its stage now and the stages its history went
    to or left, -1 off the path), as the rollup keeps it. A creation row's moment is its lead's:
    narrowing the leads to the same range lets their index pick the few instead of hashing all."""
    if leads is not None:
        leads = leads.filter(created_at__gte=start, created_at__lt=end)
    return _among(StageEntry.objects.filter(stage=CREATED, at__gte=start, at__lt=end), leads)


def _among(rows: QuerySet[Any], leads: QuerySet[Lead] | None) -> QuerySet[Any]:
    return rows if leads is None else rows.filter(lead__in=leads)


def cohort_leads(*, start: datetime, end: datetime, stage: str, leads: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads created in [start, end) that reached `stage` (a cell of the cohort table)."""
    reached = _created(start=start, end=end, leads=leads).filter(furthest__gte=FUNNEL.index(stage))
    return Lead.objects.filter(pk__in=reached.values("lead_id"))


def funnel_by_cohort(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> list[CohortRow]:
    """Per month of creation in [start, end), how many leads reached each stage (see the module).

    1. per lead created in the range, its furthest stage (the rollup's creation row);
    2. count leads per month and furthest stage (one query, grouped in the database; without
       `leads`, over whole days, the sum of the rollup's day totals of the same rows);
    3. a lead reached every stage up to its furthest: sum the counts from the right.
    Every month of the range has a row, empty or not.
    """
    days = whole_days(start, end)
    if leads is None and days:  # every lead: the day totals of the same rows
        grouped = (
            CohortDay.objects.filter(day__gte=days[0], day__lt=days[1])
            .annotate(cohort=TruncMonth("day"))
            .values("cohort", "furthest")
            .annotate(n=Sum("leads"))
            .order_by()
        )
    else:
        grouped = (
            _created(start=start, end=end, leads=leads)
            .annotate(cohort=TruncMonth("at", tzinfo=timezone.get_current_timezone()))
            .values("cohort", "furthest")
            .annotate(n=Count("*"))
            .order_by()
        )
    rows = {month: CohortRow(month=month) for month in _months(start, end)}
    for group in grouped:
        month = _as_date(group["cohort"])
        rows[month].leads += group["n"]
        for stage in FUNNEL[: group["furthest"] + 1]:  # -1 (off the path): nothing reached
            rows[month].counts[stage] += group["n"]
    return list(rows.values())


def _months(start: datetime, end: datetime) -> list[date]:
    """The first days of the months [start, end) touches, in the instance's zone."""
    months, month = [], month_first(timezone.localdate(start))
    while timezone.make_aware(datetime.combine(month, datetime.min.time())) < end:
        months.append(month)
        month = next_month(month)
    return months


def _as_date(moment: datetime | date) -> date:
    """TruncMonth's value: an aware datetime on PostgreSQL and SQLite alike (a date never)."""
    return timezone.localtime(moment).date() if isinstance(moment, datetime) else moment


# --- Entries in a period -----------------------------------------------------------------------


def _first_entries(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None) -> QuerySet[StageEntry]:
    """The leads' first entries into a stage of the forward path that fall in [start, end)."""
    return _among(StageEntry.objects.filter(stage__in=FUNNEL, at__gte=start, at__lt=end), leads)


def entered_leads(*, start: datetime, end: datetime, stage: str, leads: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads whose first ever entry into `stage` falls in [start, end) (a cell of the entries)."""
    entries = _first_entries(start=start, end=end, leads=leads).filter(stage=stage)
    return Lead.objects.filter(pk__in=entries.values("lead_id"))


def funnel_by_period(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> list[StageRow]:
    """Per stage of the forward path, the leads whose first ever entry into it falls in
    [start, end), and the rate from each stage's figure to the next's (see the module). One query."""
    days = whole_days(start, end)
    if leads is None and days:  # every lead: the day totals of the same rows
        counted = EntryDay.objects.filter(stage__in=FUNNEL, day__gte=days[0], day__lt=days[1])
        counts = dict(counted.values("stage").annotate(n=Sum("leads")).order_by().values_list("stage", "n"))
    else:
        counts = dict(
            _first_entries(start=start, end=end, leads=leads)
            .values("stage")
            .annotate(n=Count("*"))
            .order_by()
            .values_list("stage", "n")
        )
    rows = [StageRow(stage=stage, entries=counts.get(stage, 0)) for stage in FUNNEL]
    for row, later in zip(rows, rows[1:], strict=False):
        row.rate_to_next = rate(later.entries, row.entries)
    return rows


def first_entries_per_month(stage: str, months: list[date]) -> dict[date, int]:
    """Per month (first days, the instance's zone, oldest first), the leads whose first entry
    into `stage` falls in it (no filter: the agreement's trend); one query over the day totals."""
    counted = (
        EntryDay.objects.filter(stage=stage, day__gte=months[0], day__lt=next_month(months[-1]))
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(n=Sum("leads"))
        .order_by()
        .values_list("month", "n")
    )
    found = {_as_date(month): n for month, n in counted}
    return {month: found.get(month, 0) for month in months}


def first_entries_in(stage: str, month: date) -> int:
    """The leads whose first entry into `stage` falls in `month`, from the day totals."""
    return first_entries_per_month(stage, [month])[month]


def whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """[start, end) as [first day, day after the last) when both are midnights of the instance's
    zone, as every period the pages offer is; None otherwise (then only the rows can say)."""
    first, after = timezone.localtime(start), timezone.localtime(end)
    if first.time() != time.min or after.time() != time.min:
        return None
    return first.date(), after.date()


# --- Velocity ----------------------------------------------------------------------------------


class _Median(Aggregate):
    """PostgreSQL's median of seconds (the mean of the middle two for an even count)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _moves(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None) -> QuerySet[StageMove]:
    """The moves in [start, end) from a stage of the forward path to the one right after it (every
    move is; naming the stages lets the index be read a stage at a time, in its order)."""
    moves = StageMove.objects.filter(from_stage__in=LEAVABLE, moved_at__gte=start, moved_at__lt=end)
    return _among(moves, leads)


def moved_leads(
    *, start: datetime, end: datetime, from_stage: str, leads: QuerySet[Lead] | None = None
) -> QuerySet[Lead]:
    """The leads that moved from `from_stage` to the next stage in [start, end) (a velocity row)."""
    moves = _moves(start=start, end=end, leads=leads).filter(from_stage=from_stage)
    return Lead.objects.filter(pk__in=moves.values("lead_id"))


def velocity(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> list[VelocityRow]:
    """Per consecutive pair of stages, the moves made in [start, end) and their median days.

    1. the moves: the rollup's rows for the period, each with when its lead had entered the
       stage it left (its previous StageChange by time, then id, or its creation);
    2. per pair, the count and the median of (move − entry) in seconds: on PostgreSQL in the
       database (one row per pair), elsewhere in Python over the durations;
    3. the median in days, to 0.01.
    Every pair has a row; median_days is None for a pair with no move.
    """
    moves = _moves(start=start, end=end, leads=leads).order_by()
    if connection.vendor == "postgresql":
        # date_part is double precision; EXTRACT would compute a numeric for every move.
        seconds = Func(
            Value("epoch"),
            ExpressionWrapper(F("moved_at") - F("entered_at"), DurationField()),
            function="date_part",
            output_field=FloatField(),
        )
        found = {
            row["from_stage"]: (row["n"], row["median"])
            for row in moves.values("from_stage").annotate(n=Count("*"), median=_Median(seconds))
        }
    else:
        durations: dict[str, list[float]] = defaultdict(list)
        for earlier, moved_at, entered in moves.values_list("from_stage", "moved_at", "entered_at"):
            durations[earlier].append((moved_at - entered).total_seconds())
        found = {earlier: (len(spans), statistics.median(spans)) for earlier, spans in durations.items()}
    return [
        VelocityRow(
            from_stage=earlier,
            to_stage=later,
            moves=found.get(earlier, (0, None))[0],
            median_days=_days(found.get(earlier, (0, None))[1]),
        )
        for earlier, later in MOVES
    ]


def _days(seconds: float | None) -> Decimal | None:
    return None if seconds is None else (Decimal(seconds) / 86_400).quantize(DAYS)


def median_days(durations: list[timedelta]) -> Decimal | None:
    """The median of the durations in days, to 0.01 (the mean of the middle two for an even
    count); None when there are none."""
    if not durations:
        return None
    middle = statistics.median(duration.total_seconds() for duration in durations)
    return (Decimal(middle) / 86_400).quantize(DAYS)
