"""The funnel by cohort and by period, and velocity, on the hand-built world (world.py).

Cohorts, January to February 2026 ("reached" = the furthest forward stage the lead has been in):
- January: A (furthest: customer), B (sql: recycled since, its history shows sql), C (lead: its
  disqualification left lead). Subscriber 3, lead 3, MQL 2, SQL 2, opportunity 1, customer 1,
  evangelist 0; rates 1, 2/3 = 0.6667, 1, 1/2, 1, 0.
- February: D (sql), E (lead: created a subscriber), F (lead), G (sql, so MQL too). Subscriber 4,
  lead 4, MQL 2, SQL 2, then 0; rates 1, 0.5, 1, 0, None (no opportunity), None.
- H was created in December: in no row.

February's first entries: lead 1 (E); MQL 2 (D, H; B's return on 2 Feb is not a first entry);
SQL 4 (B, H, D, G); opportunity 1 (A); customer 1 (A); subscriber and evangelist 0. Rates:
None (no subscriber entry), 2/1 = 2, 4/2 = 2, 1/4 = 0.25, 1, 0.

February's moves (from the entry into the stage left, or the lead's creation for a first move):
- subscriber → lead: E, 3 → 5 Feb: 2 days. Median 2.
- lead → MQL: D, 2 → 4 Feb: 2 days; H, 15 Dec → 9 Feb: 56 days. Median (2 + 56) ÷ 2 = 29.
  (B's 2 Feb return came from recycled; G's move skipped MQL.)
- MQL → SQL: B, 2 → 6 Feb: 4; D, 4 → 14 Feb: 10; H, 9 → 11 Feb: 2. Median of 2, 4, 10: 4.
- SQL → opportunity: A, 12 Jan → 3 Feb: 22. Opportunity → customer: A, 3 → 13 Feb: 10.
- customer → evangelist: none, median None. (January's moves are not February's.)
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from leads.models import FUNNEL
from reports.attribution.services import rollups_rebuild
from reports.funnel.selectors import funnel_by_cohort, funnel_by_period, median_days, velocity
from smarketing.lib.periods import month_bounds
from tests.factories import LeadFactory
from tests.reports.funnel.world import FEBRUARY, JANUARY, MARCH, build_world

pytestmark = pytest.mark.django_db

JAN_FEB = {"start": month_bounds(JANUARY)[0], "end": month_bounds(MARCH)[0]}
FEB = dict(zip(("start", "end"), month_bounds(FEBRUARY), strict=True))


def test_cohorts_count_the_leads_that_reached_each_stage(django_assert_num_queries):
    build_world()
    with django_assert_num_queries(1):
        january, february = funnel_by_cohort(**JAN_FEB)
    assert (january.month, january.leads) == (JANUARY, 3)
    assert [january.counts[stage] for stage in FUNNEL] == [3, 3, 2, 2, 1, 1, 0]
    assert list(january.rates.values()) == [D("1"), D("0.6667"), D("1"), D("0.5"), D("1"), D("0")]
    assert (february.month, february.leads) == (FEBRUARY, 4)
    assert [february.counts[stage] for stage in FUNNEL] == [4, 4, 2, 2, 0, 0, 0]
    assert list(february.rates.values()) == [D("1"), D("0.5"), D("1"), D("0"), None, None]


def test_every_month_of_the_range_has_a_row_and_a_partial_month_counts_its_part():
    build_world()
    start = datetime(2026, 1, 9, tzinfo=UTC)
    rows = funnel_by_cohort(start=start, end=month_bounds(date(2026, 4, 1))[0])
    assert [(row.month, row.leads) for row in rows] == [(JANUARY, 1), (FEBRUARY, 4), (MARCH, 0)]  # C only


def test_periods_count_first_entries_into_each_stage(django_assert_num_queries):
    build_world()
    with django_assert_num_queries(1):
        rows = funnel_by_period(**FEB)
    assert [(row.stage, row.entries) for row in rows] == list(zip(FUNNEL, [0, 1, 2, 4, 1, 1, 0], strict=True))
    assert [row.rate_to_next for row in rows] == [None, D("2"), D("2"), D("0.25"), D("1"), D("0"), None]


def test_velocity_is_the_median_days_of_the_periods_moves(django_assert_num_queries):
    build_world()
    with django_assert_num_queries(1):
        rows = velocity(**FEB)
    assert [(row.from_stage, row.to_stage, row.moves, row.median_days) for row in rows] == [
        ("subscriber", "lead", 1, D("2.00")),
        ("lead", "mql", 2, D("29.00")),
        ("mql", "sql", 3, D("4.00")),
        ("sql", "opportunity", 1, D("22.00")),
        ("opportunity", "customer", 1, D("10.00")),
        ("customer", "evangelist", 0, None),
    ]


def test_januarys_moves_are_januarys():
    build_world()
    rows = {row.from_stage: row for row in velocity(start=JAN_FEB["start"], end=FEB["start"])}
    # A: 5 → 10 Jan and B: 8 → 15 Jan (lead → MQL: 5 and 7 days); A: 10 → 12 Jan (MQL → SQL).
    assert (rows["lead"].moves, rows["lead"].median_days) == (2, D("6.00"))
    assert (rows["mql"].moves, rows["mql"].median_days) == (1, D("2.00"))


def test_a_median_of_hours_keeps_its_fraction():
    assert median_days([timedelta(hours=6), timedelta(hours=12), timedelta(days=3)]) == D("0.50")
    assert median_days([]) is None


def test_cohorts_follow_the_instances_months(settings):
    """Auckland is UTC+13 on 31 January 2026: a lead created at 12:00 UTC that day is February's."""
    settings.TIME_ZONE = "Pacific/Auckland"
    LeadFactory(created_at=datetime(2026, 1, 31, 12, tzinfo=UTC))
    rollups_rebuild()
    january, february = funnel_by_cohort(start=month_bounds(JANUARY)[0], end=month_bounds(MARCH)[0])
    assert (january.leads, february.leads) == (0, 1)


def test_an_empty_range_reads_zeros():
    rows = funnel_by_cohort(**FEB)
    assert [(row.month, row.leads, row.rates["subscriber"]) for row in rows] == [(FEBRUARY, 0, None)]
    assert all(row.entries == 0 for row in funnel_by_period(**FEB))
    assert all(row.moves == 0 and row.median_days is None for row in velocity(**FEB))
