"""`roi_rows` on a hand-built March (tests/reports/attribution/world.py), figures worked out by hand."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from leads.models import Deal, DealStage
from reports.attribution.selectors import NO_CAMPAIGN, deal_touches, roi_report, roi_rows, won_deals
from reports.attribution.services import rollups_update
from smarketing.lib.periods import month_bounds
from tests.factories import LeadFactory
from tests.reports.attribution.world import MARCH, build_world

pytestmark = pytest.mark.django_db

START, END = month_bounds(MARCH)


@pytest.fixture
def world():
    return build_world()


def figures(rows):
    return {row.label: row for row in rows}


def test_first_touch_rows_per_campaign(world):
    """First touch: D1's 1,000.00 to Webinar (its first touch), D2's 250.50 to "(no campaign)".

    Webinar: spend 100 + 200 = 300.00 (February's 1,000 is out); leads L1, L2 = 2; MQLs L1 = 1
    (L0's return to MQL is not a first entry); SQLs L1, L0 = 2; opportunities 1; customers 1;
    ROI (1000 − 300) ÷ 300 = 2.3333; per lead 150.00, per MQL 300.00, per SQL 150.00, per
    customer 300.00. Search: spend 50.00 (April's 75 is out), leads 1, MQLs 1, no revenue:
    ROI (0 − 50) ÷ 50 = −1; per lead and per MQL 50.00, per SQL and customer none.
    "(no campaign)": L4, 250.50, no spend: ROI none.
    """
    rows = figures(roi_rows(model="first_touch", start=START, end=END))
    assert list(rows) == ["Spring webinar", "Brand search", NO_CAMPAIGN]
    webinar, search, none = rows["Spring webinar"], rows["Brand search"], rows[NO_CAMPAIGN]
    assert (webinar.spend, webinar.revenue, webinar.won_deals) == (D("300.00"), D("1000.00"), 1)
    assert (webinar.leads, webinar.mqls, webinar.sqls, webinar.opportunities, webinar.customers) == (2, 1, 2, 1, 1)
    assert webinar.roi == D("2.3333")
    assert (webinar.cost_per_lead, webinar.cost_per_mql, webinar.cost_per_sql, webinar.cost_per_customer) == (
        D("150.00"),
        D("300.00"),
        D("150.00"),
        D("300.00"),
    )
    assert (search.spend, search.revenue, search.won_deals, search.leads, search.mqls) == (D("50.00"), 0, 0, 1, 1)
    assert search.roi == D("-1.0000")
    assert (search.cost_per_lead, search.cost_per_mql, search.cost_per_sql, search.cost_per_customer) == (
        D("50.00"),
        D("50.00"),
        None,
        None,
    )
    assert (none.spend, none.revenue, none.won_deals, none.leads, none.roi, none.cost_per_lead) == (
        0,
        D("250.50"),
        1,
        1,
        None,
        D("0.00"),
    )


def test_totals_add_the_rows_and_count_each_won_deal_once(world):
    report = roi_report(model="linear", start=START, end=END)
    totals = report.totals
    assert (totals.spend, totals.revenue, totals.won_deals) == (D("350.00"), D("1250.50"), 2)
    assert (totals.leads, totals.mqls, totals.sqls, totals.opportunities, totals.customers) == (4, 2, 2, 1, 1)
    assert totals.roi == D("2.5729")  # (1250.50 − 350) ÷ 350 = 2.57285…


@pytest.mark.parametrize(
    ("model", "webinar", "search"),
    [
        ("first_touch", "1000.00", "0"),
        ("last_touch", "1000.00", "0"),
        # 1,000.00 over 3: 333.34 (t1, the odd cent), 333.33, 333.33 → Webinar t1 + t3.
        ("linear", "666.67", "333.33"),
        # 40 / 20 / 40.
        ("u_shaped", "800.00", "200.00"),
        # Keys t1, t2 (the last touch before MQL on 10 Mar) and t3, no others: a third each.
        ("w_shaped", "666.67", "333.33"),
        # 14, 7, 0 days: 1/7, 2/7, 4/7 → 142.857, 285.714, 571.428…; floors 14285 + 28571 +
        # 57142 = 99,998 cents, the two left to the largest remainders (t3 .857, t1 .714):
        # Webinar 142.86 + 571.43 = 714.29, Search 285.71.
        ("time_decay", "714.29", "285.71"),
    ],
)
def test_every_model_credits_the_deal_as_worked_out_by_hand(world, model, webinar, search):
    report = roi_report(model=model, start=START, end=END)
    rows = figures(report.rows)
    assert rows["Spring webinar"].revenue == D(webinar)
    assert rows["Brand search"].revenue == D(search)
    assert rows[NO_CAMPAIGN].revenue == D("250.50")
    assert sum(row.revenue for row in report.rows) == D("1250.50")
    side_by_side = figures(report.model_rows)
    assert side_by_side["Spring webinar"].revenue[model] == D(webinar)
    assert report.model_totals.revenue[model] == D("1250.50")


def test_won_deals_count_on_every_row_the_model_credits(world):
    rows = figures(roi_rows(model="linear", start=START, end=END))
    assert (rows["Spring webinar"].won_deals, rows["Brand search"].won_deals, rows[NO_CAMPAIGN].won_deals) == (1, 1, 1)


def test_rows_per_channel_group_the_campaigns_by_their_channel(world):
    rows = figures(roi_rows(model="u_shaped", start=START, end=END, by="channel"))
    assert list(rows) == ["Webinar", "Paid search", NO_CAMPAIGN]
    assert (rows["Webinar"].spend, rows["Webinar"].revenue, rows["Webinar"].leads) == (D("300.00"), D("800.00"), 2)
    assert (rows["Paid search"].spend, rows["Paid search"].revenue) == (D("50.00"), D("200.00"))


def test_a_deals_touches_are_its_leads_campaign_events_up_to_its_creation_oldest_first(world):
    touches = deal_touches(won_deals(start=START, end=END).order_by("created_at"))
    no_touches, with_touches = touches.values()
    assert no_touches == []
    assert [touch.campaign_id for touch in with_touches] == [world.webinar.id, world.search.id, world.webinar.id]


def test_the_report_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        roi_report(model="w_shaped", start=START, end=END, by="channel")


def test_an_empty_period_has_no_rows_and_zero_totals(db):
    report = roi_report(model="linear", start=START, end=END)
    assert report.rows == [] and report.totals.revenue == 0 and report.totals.roi is None


def test_an_unknown_model_or_grouping_is_refused(db):
    with pytest.raises(ValueError, match="model"):
        roi_rows(model="nope", start=START, end=END)
    with pytest.raises(ValueError, match="grouping"):
        roi_rows(model="linear", start=START, end=END, by="rep")


def test_periods_are_the_instances_months(settings, db):
    """Auckland is UTC+13 on 31 March 2026: a deal won at 12:00 UTC that day is won on 1 April there."""
    settings.TIME_ZONE = "Pacific/Auckland"
    won = DealStage.objects.get(outcome=DealStage.Outcome.WON)
    closed = datetime(2026, 3, 31, 12, tzinfo=UTC)
    Deal.objects.create(lead=LeadFactory(), name="Late", stage=won, amount=D("10"), created_at=closed, closed_at=closed)
    rollups_update()
    march, april = month_bounds(MARCH), month_bounds(date(2026, 4, 1))
    assert roi_report(model="linear", start=march[0], end=march[1]).totals.revenue == 0
    assert roi_report(model="linear", start=april[0], end=april[1]).totals.revenue == D("10.00")
