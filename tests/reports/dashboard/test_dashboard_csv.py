"""The dashboard's tables as CSV (`?export=`): each table's header and rows as the page shows them
for the period and filters, text made safe for spreadsheets, and the same people as the page."""

import csv
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from leads.models import Campaign, DealStage
from tests.reports.dashboard.world import NOW, build_world

pytestmark = pytest.mark.django_db

PAGE = reverse("reports:dashboard")
JANUARY = {"period": "month", "month": "2026-01"}


@pytest.fixture
def world(rep):
    return build_world(rep)


def download(client: Client, export: str, **params: str) -> list[list[str]]:
    with time_machine.travel(NOW, tick=False):
        response = client.get(PAGE, params | {"export": export})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"dashboard-{export}-" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_marketings_side_month_by_month(manager_client, world):
    header, *months = download(manager_client, "marketing", **JANUARY)
    assert header == [
        "Month",
        "MQLs delivered",
        "MQL target",
        "MQLs of target (%)",
        "Handed off",
        "Accepted",
        "Accepted (%)",
    ]
    assert len(months) == 12
    assert months[-1] == ["2026-01", "3", "4", "75", "3", "1", "33"]


def test_sales_side_month_by_month(manager_client, world):
    header, *months = download(manager_client, "sales", **JANUARY)
    assert header[:6] == ["Month", "Handoffs decided", "Touched in time", "Late", "Touched in time (%)", "Target (%)"]
    assert header[6:] == ["Handed off", "Won", "Close rate (%)", "Agreed close rate (%)", "Won revenue"]
    assert months[-1] == ["2026-01", "3", "2", "1", "67", "80", "3", "1", "33.3", "50.0", "1000.00"]


def test_the_funnel_by_period_and_by_cohort(manager_client, world):
    header, *stages = download(manager_client, "entries", **JANUARY)
    assert header == ["Stage", "First entries", "Rate to the next stage (%)"]
    assert [line[:2] for line in stages] == [
        ["Subscriber", "0"], ["Lead", "0"], ["MQL", "3"], ["SQL", "0"], ["Opportunity", "1"], ["Customer", "0"],
        ["Evangelist", "0"],
    ]  # fmt: skip
    header, *cohorts = download(manager_client, "cohorts", **JANUARY)
    assert header[:4] == ["Cohort month", "Leads", "Subscriber", "Subscriber → Lead (%)"]
    # 3 leads; subscriber, lead and MQL 3 (→ 100 %, 100 %, 33.3 %), SQL, opportunity, customer 1 (A).
    assert cohorts == [
        ["2026-01", "3", "3", "100.0", "3", "100.0", "3", "33.3", "1", "100.0", "1", "100.0", "1", "0.0", "0"]
    ]


def test_velocity_pipeline_and_reasons(manager_client, world):
    header, *moves = download(manager_client, "velocity", **JANUARY)
    assert header == ["From", "To", "Moves", "Median days"]
    assert ["Lead", "MQL", "3", "5.00"] in moves
    header, *stages = download(manager_client, "pipeline", **JANUARY)
    assert header == ["Deal stage", "Open deals", "Amount"] and stages[-1] == ["Total", "1", "500.00"]
    header, *reasons = download(manager_client, "reasons", **JANUARY)
    assert header == ["Reason", "Verdict", "Leads", "Share of verdicts (%)"]
    assert reasons == [["No budget", "rejected", "1", "33.3"], ["Not now", "recycled", "1", "33.3"]]


def test_a_name_that_would_be_a_formula_is_neutralised(manager_client, world):
    stage = DealStage.objects.filter(outcome=DealStage.Outcome.OPEN).order_by("position", "id").first()
    stage.name = "=HYPERLINK(x)"
    stage.save(update_fields=["name"])
    assert ["'=HYPERLINK(x)", "1", "500.00"] in download(manager_client, "pipeline", **JANUARY)


def test_the_filters_narrow_the_csv_as_they_narrow_the_page(manager_client, world):
    params = JANUARY | {"campaign": str(Campaign.objects.get(name="Webinar").pk)}
    _, *stages = download(manager_client, "entries", **params)
    assert stages[2][:2] == ["MQL", "2"]  # Webinar's A and C


def test_the_page_links_each_table_to_its_csv_with_the_periods_query(manager_client, world):
    with time_machine.travel(NOW, tick=False):
        html = manager_client.get(PAGE, JANUARY | {"channel": "webinar"}).content.decode()
    query = "period=month&amp;month=2026-01&amp;channel=webinar"
    for table in ("marketing", "sales", "entries", "cohorts", "velocity", "pipeline", "reasons"):
        assert f'href="/reports/dashboard/?{query}&amp;export={table}"' in html


def test_a_rep_downloads_what_the_page_shows_them_and_a_stranger_nothing(rep_client, nobody, world):
    assert download(rep_client, "pipeline", **JANUARY)[-1] == ["Total", "1", "500.00"]
    client = Client()
    client.force_login(nobody)
    assert client.get(PAGE, {"export": "pipeline"}).status_code == 403
    assert Client().get(PAGE, {"export": "pipeline"}).status_code == 302


def test_an_unknown_table_or_a_bad_filter_gives_the_page(manager_client, world):
    with time_machine.travel(NOW, tick=False):
        assert manager_client.get(PAGE, {"export": "secrets"})["Content-Type"].startswith("text/html")
        bad = manager_client.get(PAGE, {"month": "2026-13", "export": "pipeline"})
    assert bad.status_code == 400 and bad["Content-Type"].startswith("text/html")


def test_a_csv_takes_no_more_queries_than_the_page(manager_client, world, django_assert_max_num_queries):
    with django_assert_max_num_queries(23), time_machine.travel(NOW, tick=False):
        manager_client.get(PAGE, JANUARY | {"export": "cohorts"})
