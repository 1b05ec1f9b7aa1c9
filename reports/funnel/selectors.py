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

Each report is one query whatever the number of leads; the velocity query fetches each move's
two moments and the median is taken in Python over those durations (one row per move made in
the period: fine for now; a percentile_cont in PostgreSQL when periods grow large).
"""

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, TruncMonth
from django.utils import timezone

from leads.models import FUNNEL, Lead, StageChange
from smarketing.lib.periods import month_first, next_month

BY_COHORT, BY_PERIOD = "cohort", "period"
GROUPINGS = (BY_COHORT, BY_PERIOD)
RATIO = Decimal("0.0001")
DAYS = Decimal("0.01")
# Consecutive stages of the forward path: (from, to).
MOVES = list(zip(FUNNEL, FUNNEL[1:], strict=False))


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


def _rank(column: str) -> Case:
    """A stage's place on the forward path (0 for subscriber …), -1 off it (recycled, …)."""
    whens = [When(**{column: stage}, then=Value(place)) for place, stage in enumerate(FUNNEL)]
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def _with_furthest(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Each lead's furthest rank on the forward path as `top`: the highest among its stage now
    and the stages its history went to or left (a subquery per lead, in the same query)."""
    furthest_in_history = (
        StageChange.objects.filter(lead_id=OuterRef("pk"))
        .values("lead_id")
        .annotate(top=Max(Greatest(_rank("to_stage"), _rank("from_stage"))))
        .values("top")
    )
    return leads.annotate(top=Greatest(_rank("stage"), Coalesce(Subquery(furthest_in_history), Value(-1))))


def _cohort(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None) -> QuerySet[Lead]:
    return _with_furthest(
        (Lead.objects.all() if leads is None else leads).filter(created_at__gte=start, created_at__lt=end)
    )


def cohort_leads(*, start: datetime, end: datetime, stage: str, leads: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads created in [start, end) that reached `stage` (a cell of the cohort table)."""
    return _cohort(start=start, end=end, leads=leads).filter(top__gte=FUNNEL.index(stage))


def funnel_by_cohort(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> list[CohortRow]:
    """Per month of creation in [start, end), how many leads reached each stage (see the module).

    1. per lead created in the range, its furthest stage: the highest rank among its stage now
       and the stages its history went to or left (a subquery per lead, in the same query);
    2. count leads per month and furthest stage (one query, grouped in the database);
    3. a lead reached every stage up to its furthest: sum the counts from the right.
    Every month of the range has a row, empty or not.
    """
    grouped = (
        _cohort(start=start, end=end, leads=leads)
        .annotate(cohort=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("cohort", "top")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = {month: CohortRow(month=month) for month in _months(start, end)}
    for group in grouped:
        month = _as_date(group["cohort"])
        rows[month].leads += group["n"]
        for stage in FUNNEL[: group["top"] + 1]:  # top -1 (off the path): nothing reached
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


def _first_entries(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None) -> QuerySet[StageChange]:
    """The moves in [start, end) into a stage of the forward path that the lead had never entered."""
    earlier = StageChange.objects.filter(
        lead_id=OuterRef("lead_id"), to_stage=OuterRef("to_stage"), changed_at__lt=start
    )
    entries = StageChange.objects.filter(to_stage__in=FUNNEL, changed_at__gte=start, changed_at__lt=end)
    return _among(entries.filter(~Exists(earlier)), leads)


def _among(changes: QuerySet[StageChange], leads: QuerySet[Lead] | None) -> QuerySet[StageChange]:
    return changes if leads is None else changes.filter(lead__in=leads)


def entered_leads(*, start: datetime, end: datetime, stage: str, leads: QuerySet[Lead] | None = None) -> QuerySet[Lead]:
    """The leads whose first ever entry into `stage` falls in [start, end) (a cell of the entries)."""
    entries = _first_entries(start=start, end=end, leads=leads).filter(to_stage=stage)
    return Lead.objects.filter(pk__in=entries.values("lead_id"))


def funnel_by_period(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> list[StageRow]:
    """Per stage of the forward path, the leads whose first ever entry into it falls in
    [start, end), and the rate from each stage's figure to the next's (see the module). One query."""
    counts = dict(
        _first_entries(start=start, end=end, leads=leads)
        .values("to_stage")
        .annotate(n=Count("lead_id", distinct=True))
        .order_by()
        .values_list("to_stage", "n")
    )
    rows = [StageRow(stage=stage, entries=counts.get(stage, 0)) for stage in FUNNEL]
    for row, later in zip(rows, rows[1:], strict=False):
        row.rate_to_next = rate(later.entries, row.entries)
    return rows


# --- Velocity ----------------------------------------------------------------------------------


def _moves(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None) -> QuerySet[StageChange]:
    """The moves in [start, end) from a stage of the forward path to the one right after it."""
    pairs = Q()
    for earlier, later in MOVES:
        pairs |= Q(from_stage=earlier, to_stage=later)
    return _among(StageChange.objects.filter(pairs, changed_at__gte=start, changed_at__lt=end), leads)


def moved_leads(
    *, start: datetime, end: datetime, from_stage: str, leads: QuerySet[Lead] | None = None
) -> QuerySet[Lead]:
    """The leads that moved from `from_stage` to the next stage in [start, end) (a velocity row)."""
    moves = _moves(start=start, end=end, leads=leads).filter(from_stage=from_stage)
    return Lead.objects.filter(pk__in=moves.values("lead_id"))


def velocity(*, start: datetime, end: datetime, leads: QuerySet[Lead] | None = None) -> list[VelocityRow]:
    """Per consecutive pair of stages, the moves made in [start, end) and their median days.

    1. the moves: StageChange rows in the period from a stage to the one right after it;
    2. with each, when the lead entered the stage it left: its previous StageChange (by time,
       then id), or its creation when there is none (a correlated subquery, same query);
    3. in Python, per pair: the count, and the median of (move − entry) in days, to 0.01.
    Every pair has a row; median_days is None for a pair with no move.
    """
    before = (
        StageChange.objects.filter(lead_id=OuterRef("lead_id"))
        .filter(Q(changed_at__lt=OuterRef("changed_at")) | Q(changed_at=OuterRef("changed_at"), id__lt=OuterRef("id")))
        .order_by("-changed_at", "-id")
        .values("changed_at")[:1]
    )
    moves = (
        _moves(start=start, end=end, leads=leads)
        .annotate(entered=Coalesce(Subquery(before, output_field=DateTimeField()), F("lead__created_at")))
        .order_by()
        .values_list("from_stage", "changed_at", "entered")
    )
    durations: dict[str, list[timedelta]] = {earlier: [] for earlier, _ in MOVES}
    for earlier, moved_at, entered in moves:
        durations[earlier].append(moved_at - entered)
    return [
        VelocityRow(
            from_stage=earlier,
            to_stage=later,
            moves=len(durations[earlier]),
            median_days=median_days(durations[earlier]),
        )
        for earlier, later in MOVES
    ]


def median_days(durations: list[timedelta]) -> Decimal | None:
    """The median of the durations in days, to 0.01 (the mean of the middle two for an even
    count); None when there are none."""
    if not durations:
        return None
    middle = statistics.median(duration.total_seconds() for duration in durations)
    return (Decimal(middle) / 86_400).quantize(DAYS)
