"""The funnel page: marketing and managers pick a range of months and read the cohort table, the
period's first entries and the velocity of its moves (figures worked out in test_funnel_rows.py),
and download each table as CSV."""

import csv
import io
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from reports.attribution import forms as attribution_forms
from reports.funnel import forms
from tests.reports.funnel.world import build_world

pytestmark = pytest.mark.django_db

URL = reverse("reports:funnel")
JAN_FEB = {"start": "2026-01", "end": "2026-02"}
TODAY = date(2026, 3, 15)


@pytest.fixture(autouse=True)
def _march_is_this_month(monkeypatch):
    """The pickers offer recent months; pin "now" in March 2026 so January and February are among them."""

    def month_first(day: date | None = None) -> date:
        return (day or TODAY).replace(day=1)

    monkeypatch.setattr(attribution_forms, "month_first", month_first)
    monkeypatch.setattr(forms, "month_first", month_first)


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_read_the_funnel(request, who):
    build_world()
    response = request.getfixturevalue(f"{who}_client").get(URL, JAN_FEB)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Funnel · January 2026 to February 2026" in html
    assert "→ 66.7%" in html  # January's cohort: 2 of 3 leads reached MQL
    assert "MQL → SQL" in html
    assert 'href="/reports/funnel/"' in html  # in the navigation
    cohorts = response.context["cohorts"]
    assert [(row["month"], row["leads"]) for row in cohorts] == [(date(2026, 1, 1), 3), (date(2026, 2, 1), 4)]
    assert [count for count, _ in cohorts[0]["cells"]] == [3, 3, 2, 2, 1, 1, 0]


def test_the_tables_hold_the_worked_figures(marketer_client: Client):
    build_world()
    context = marketer_client.get(URL, {"start": "2026-02", "end": "2026-02"}).context
    assert [entries for _, entries, _ in context["entries"]] == [0, 1, 2, 4, 1, 1, 0]
    assert context["entries"][3][2] == 25  # SQL → opportunity: 1 of 4, in percent
    assert [(label, moves, median) for label, _, moves, median in context["moves"]][:3] == [
        ("Subscriber", 1, 2),
        ("Lead", 2, 29),
        ("MQL", 3, 4),
    ]


def test_by_default_it_shows_the_last_six_months(marketer_client: Client):
    response = marketer_client.get(URL)
    assert response.status_code == 200
    assert [row["month"] for row in response.context["cohorts"]] == [date(2025, m, 1) for m in (10, 11, 12)] + [
        date(2026, m, 1) for m in (1, 2, 3)
    ]
    assert 'value="2025-10" selected' in response.content.decode()


def test_a_range_that_ends_before_it_starts_shows_the_defaults(marketer_client: Client):
    response = marketer_client.get(URL, {"start": "2026-02", "end": "2026-01"})
    assert response.status_code == 400
    assert "The last month cannot come before the first." in response.content.decode()
    assert len(response.context["cohorts"]) == 6


def test_a_month_not_offered_shows_the_defaults(marketer_client: Client):
    response = marketer_client.get(URL, {"start": "1999-01"})
    assert response.status_code == 400 and len(response.context["cohorts"]) == 6


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))


def test_each_table_downloads_as_csv(marketer_client: Client):
    build_world()
    cohorts = marketer_client.get(URL, JAN_FEB | {"export": "cohorts"})
    assert 'filename="funnel-cohorts-2026-01-to-2026-02.csv"' in cohorts["Content-Disposition"]
    header, january, february = _csv(cohorts)
    assert header[:5] == ["Cohort month", "Leads", "Subscriber", "Subscriber → Lead (%)", "Lead"]
    assert header[-1] == "Evangelist" and len(header) == 2 + 7 + 6
    assert january[:7] == ["2026-01", "3", "3", "100.0", "3", "66.7", "2"]
    assert february[-3:] == ["0", "", "0"]  # no opportunity: no rate on to customer
    header, *entries = _csv(marketer_client.get(URL, JAN_FEB | {"export": "entries"}))
    assert header == ["Stage", "First entries", "Rate to the next stage (%)"] and len(entries) == 7
    header, *moves = _csv(marketer_client.get(URL, {"start": "2026-02", "end": "2026-02", "export": "velocity"}))
    assert header == ["From", "To", "Moves", "Median days"]
    assert moves[2] == ["MQL", "SQL", "3", "4.00"] and moves[-1] == ["Customer", "Evangelist", "0", ""]


def test_the_page_takes_six_queries_however_many_leads(marketer_client: Client, django_assert_num_queries):
    marketer_client.get(URL, JAN_FEB)
    with django_assert_num_queries(6):  # the session, the user, their roles; the three reports
        marketer_client.get(URL, JAN_FEB)
    build_world()
    with django_assert_num_queries(6):
        assert marketer_client.get(URL, JAN_FEB).status_code == 200


def test_a_rep_is_refused(rep_client: Client):
    assert rep_client.get(URL).status_code == 403
    assert rep_client.get(URL, {"export": "cohorts"}).status_code == 403


def test_someone_logged_out_is_sent_to_log_in():
    assert Client().get(URL).status_code == 302
