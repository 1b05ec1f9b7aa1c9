"""The alignment dashboard through its page: figures worked out by hand (see world.py), the
period picker and filters, bad values, who may open it, and how many queries it takes."""

from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Campaign, Event, Persona
from reports.dashboard.selectors import agreement_trend
from reports.selectors import agreement_attainment
from tests.factories import LeadFactory
from tests.reports.dashboard.world import FEBRUARY, JANUARY, NOW, build_world

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:dashboard")


@pytest.fixture
def world(rep):
    return build_world(rep)


def get(client: Client, url: str = PAGE, **params: str):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, params)


def trend_month(response, month):
    return next(m["row"] for m in response.context["trend"] if m["row"].month == month)


def cohort(response):
    return [
        (row["month"], row["leads"], [count for count, _, _ in row["cells"]]) for row in response.context["cohorts"]
    ]


def entries(response):
    return {row["label"]: row["entries"] for row in response.context["entries"]}


def median(response, pair):
    return next(row["median_days"] for row in response.context["moves"] if f"{row['from']} → {row['to']}" == pair)


# --- Figures -----------------------------------------------------------------------------------


def test_january_shows_both_sides_of_the_agreement_and_the_funnel_worked_out_by_hand(manager_client, world):
    response = get(manager_client, period="month", month="2026-01")
    assert response.status_code == 200
    january = trend_month(response, JANUARY)
    assert (january.mql_delivered, january.mql_target, january.mql_pct) == (3, 4, 75)
    assert (january.handed_off, january.accepted, january.accepted_pct) == (3, 1, 33)
    assert (january.in_time, january.decided, january.late, january.touched_in_time_pct) == (2, 3, 1, 67)
    assert (january.won, january.close_rate_pct, january.close_target_pct) == (1, 33.3, 50.0)
    assert january.won_revenue == Decimal("1000.00")
    assert len(response.context["trend"]) == 12 and response.context["trend"][-1]["row"].month == JANUARY

    assert cohort(response) == [(JANUARY, 3, [3, 3, 3, 1, 1, 1, 0])]
    assert entries(response) == {
        "Subscriber": 0, "Lead": 0, "MQL": 3, "SQL": 0, "Opportunity": 1, "Customer": 0, "Evangelist": 0
    }  # fmt: skip
    assert median(response, "Lead → MQL") == Decimal("5.00")
    assert response.context["decided"] == 3
    reasons = [(r["row"].label, r["row"].verdict, r["row"].leads, r["row"].share) for r in response.context["reasons"]]
    assert reasons == [("No budget", "rejected", 1, Decimal("33.3")), ("Not now", "recycled", 1, Decimal("33.3"))]
    assert response.context["deals"].won == 0  # A's deal closed in February
    assert response.context["pipeline_total"].deals == 1
    assert response.context["pipeline_total"].amount == Decimal("500.00")

    html = response.content.decode()
    assert "Marketing → Sales" in html and "Sales → Marketing" in html
    assert "67% <span" in html and "33.3% <span" in html and "USD 1,000.00" in html
    assert '<canvas data-chart="marketing">' in html and 'id="dashboard-charts"' in html
    assert "<script>" not in html  # the charts' numbers are JSON, the code a static file


def test_february_counts_the_won_deal_the_open_pipeline_and_the_moves_made_in_it(manager_client, world):
    response = get(manager_client, month="2026-02")
    february = trend_month(response, FEBRUARY)
    assert (february.mql_delivered, february.mql_target, february.handed_off, february.accepted) == (1, 4, 1, 1)
    assert (february.in_time, february.decided, february.won) == (1, 1, 0)
    deals = response.context["deals"]
    assert (deals.won, deals.lost, deals.won_revenue, deals.win_rate) == (1, 0, Decimal("1000"), Decimal("100.0"))
    assert cohort(response) == [(FEBRUARY, 2, [2, 2, 1, 1, 1, 0, 0])]
    assert entries(response) | {} == {
        "Subscriber": 0, "Lead": 0, "MQL": 1, "SQL": 0, "Opportunity": 1, "Customer": 1, "Evangelist": 0
    }  # fmt: skip
    assert median(response, "Lead → MQL") == Decimal("2.00")
    assert median(response, "Opportunity → Customer") == Decimal("22.00")


def test_the_trend_agrees_with_the_months_attainment(world):
    """The grouped trend counts each month as agreement_attainment does, month by month."""
    with time_machine.travel(NOW, tick=False):
        trend = {row.month: row for row in agreement_trend(last=FEBRUARY)}
        for month in (JANUARY, FEBRUARY):
            attainment = agreement_attainment(month=month)
            row = trend[month]
            assert (row.mql_delivered, row.mql_target) == (attainment["mql_delivered"], attainment["mql_target"])
            assert (row.handed_off, row.won, row.won_revenue) == (
                attainment["handed_off"],
                attainment["won"],
                attainment["won_revenue"],
            )
            assert (row.decided, row.in_time) == (attainment["decided"], attainment["in_time"])
            assert row.touched_in_time_pct == attainment["touched_in_time_pct"]
            assert row.close_rate_pct == attainment["close_rate_pct"]


def test_a_quarter_and_a_custom_range_are_periods_too(manager_client, world):
    quarter = get(manager_client, period="quarter", quarter="2026-Q1")
    assert quarter.status_code == 200 and quarter.context["period"].label == "Q1 2026"
    assert [row[1] for row in cohort(quarter)] == [3, 2, 0]  # January, February, March
    assert entries(quarter)["MQL"] == 4 and quarter.context["deals"].won == 1
    assert quarter.context["trend"][-1]["row"].month.month == 3

    custom = get(manager_client, period="custom", start="2026-01-10", end="2026-01-20")
    assert custom.status_code == 200 and custom.context["period"].label == "10 Jan 2026 to 20 Jan 2026"
    assert cohort(custom)[0][1] == 1  # C, created on the 20th; A and B came before the 10th
    assert entries(custom)["MQL"] == 2  # A on the 10th, B on the 15th


# --- Filters -----------------------------------------------------------------------------------


def test_a_campaign_narrows_the_funnel_velocity_and_reasons_but_not_the_agreement(manager_client, world):
    webinar = Campaign.objects.get(name="Webinar")
    response = get(manager_client, month="2026-01", campaign=str(webinar.pk))
    assert response.status_code == 200
    assert cohort(response) == [(JANUARY, 2, [2, 2, 2, 1, 1, 1, 0])]  # A and C
    assert entries(response)["MQL"] == 2
    assert median(response, "Lead → MQL") == Decimal("3.50")  # 5 and 2 days
    assert response.context["decided"] == 2
    assert [reason["row"].label for reason in response.context["reasons"]] == ["Not now"]
    assert trend_month(response, JANUARY).mql_delivered == 3  # the whole teams' agreement


def test_channel_persona_and_version_narrow_too(manager_client, world):
    paid = get(manager_client, month="2026-01", channel="paid_search")
    assert cohort(paid)[0][1] == 1 and [reason["row"].label for reason in paid.context["reasons"]] == ["No budget"]
    ops = Persona.objects.get(name="Ops")
    by_persona = get(manager_client, month="2026-02", persona=str(ops.pk))
    assert cohort(by_persona)[0][1] == 1  # D (A is January's)
    assert by_persona.context["deals"].won == 1  # A's deal, won in February
    version_two = get(manager_client, month="2026-02", version="2")
    assert version_two.context["deals"].won == 0 and version_two.context["pipeline_total"].deals == 1


def test_bad_filters_answer_400_with_a_message_per_field(manager_client, world):
    response = get(manager_client, month="2020-13", campaign="9999", channel="television", persona="x", version="7")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["month"] == ["Choose a month from the list."]
    assert errors["campaign"] == ["Choose a campaign from the list."]
    assert errors["channel"] == ["Choose a channel from the list."]
    assert errors["persona"] == ["Choose a persona from the list."]
    assert errors["version"] == ["Choose a definition version from the list."]
    html = response.content.decode()
    assert 'role="alert"' in html and "Campaign: Choose a campaign from the list." in html
    assert response.context["period"].label == "March 2026"  # the default, said on the page


def test_a_custom_period_needs_both_days_in_order(manager_client, world):
    missing = get(manager_client, period="custom", start="2026-01-10")
    assert missing.status_code == 400 and missing.context["form"].errors["end"] == [
        "Give both days of a custom period."
    ]
    backwards = get(manager_client, period="custom", start="2026-02-10", end="2026-02-01")
    assert backwards.context["form"].errors["end"] == ["The last day cannot come before the first."]
    garbage = get(manager_client, period="custom", start="yesterday", end="2026-02-01")
    assert garbage.status_code == 400 and "start" in garbage.context["form"].errors


# --- Who may open it ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_user_without_a_role_is_refused(client, nobody):
    client.force_login(nobody)
    assert client.get(PAGE).status_code == 403


# --- Speed ---------------------------------------------------------------------------------------


def test_the_page_takes_a_bounded_number_of_queries_however_many_leads(
    manager_client, world, django_assert_max_num_queries
):
    webinar = Campaign.objects.get(name="Webinar")
    filters = {"period": "quarter", "quarter": "2026-Q1", "campaign": str(webinar.pk), "channel": "webinar"}
    # session and roles 3, pickers 5, this month live 5, figures 10, revenue under every model 6
    with django_assert_max_num_queries(26):
        get(manager_client, **filters)
    LeadFactory.create_batch(20, first_campaign=webinar)
    with django_assert_max_num_queries(26):
        get(manager_client, **filters)


def test_won_revenue_by_campaign_adds_up_to_the_same_total_under_every_model(manager_client, world):
    from reports.attribution.credits import LINEAR
    from reports.attribution.selectors import roi_report
    from reports.attribution.services import rollups_rebuild

    rollups_rebuild()
    response = get(manager_client, period="quarter", quarter="2026-Q1")
    revenue = response.context["revenue"]
    totals = set(revenue.totals.amounts)
    assert len(totals) == 1 and totals.pop() > 0
    roi = roi_report(model=LINEAR, start=response.context["period"].start, end=response.context["period"].end)
    assert [(row.label, row.cents) for row in revenue.rows] == [(row.label, row.cents) for row in roi.model_rows]
    assert "Won revenue by campaign, under every model" in response.content.decode()


def test_no_query_reads_the_event_table(manager_client, world):
    """The dashboard reads stage history, handoffs, deals and agreements: never the events."""
    with CaptureQueriesContext(connection) as queries:
        get(manager_client, period="quarter", quarter="2026-Q1", channel="webinar")
    assert queries.captured_queries
    assert not [query["sql"] for query in queries.captured_queries if f'"{Event._meta.db_table}"' in query["sql"]]
