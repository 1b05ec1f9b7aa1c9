"""The win/loss page: marketing and managers pick a month and a grouping, read the deals, the
reasons, the per-rule table with its sentences, and download each table as CSV."""

import csv
import io
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import StageChange
from reports.attribution import forms
from reports.winloss import forms as winloss_forms
from tests.reports.winloss.world import build_world

pytestmark = pytest.mark.django_db

URL = reverse("reports:win-loss")
MARCH = {"month": "2026-03"}


@pytest.fixture(autouse=True)
def _march_is_offered(monkeypatch):
    """The month picker offers recent months; pin "now" so March 2026 is among them."""
    for module in (forms, winloss_forms):
        monkeypatch.setattr(module, "month_first", lambda day=None: (day or date(2026, 4, 15)).replace(day=1))


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_read_a_months_wins_losses_and_verdicts(request, who):
    build_world()
    response = request.getfixturevalue(f"{who}_client").get(URL, MARCH | {"by": "rep"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Win/loss · March 2026" in html
    assert "Ann Lee" in html and "66.7%" in html and "1,500.00" in html and "Chose a competitor 1" in html
    assert "Leads qualified by “Attended the webinar” were rejected as no budget 25 % of the time (2 of 8)." in html
    assert "Not ready to buy yet" in html
    assert 'href="/reports/win-loss/"' in html  # in the navigation


def test_a_rep_is_refused(rep_client: Client):
    assert rep_client.get(URL).status_code == 403


def test_someone_without_a_role_is_refused(nobody):
    client = Client()
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_a_bad_choice_shows_the_defaults_with_a_400(marketer_client: Client):
    response = marketer_client.get(URL, {"by": "astrology"})
    assert response.status_code == 400
    assert "Showing the defaults instead" in response.content.decode()
    assert response.context["report"].by == "source"


def test_with_nothing_chosen_the_pickers_show_this_month_and_source(marketer_client: Client):
    html = marketer_client.get(URL).content.decode()
    assert '<option value="2026-04" selected>April 2026</option>' in html
    assert '<option value="source" selected>Source</option>' in html


def csv_lines(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_the_deals_table_downloads_as_csv(manager_client: Client):
    build_world()
    response = manager_client.get(URL, MARCH | {"by": "rep", "export": "deals"})
    assert "win-loss-2026-03-deals-rep.csv" in response["Content-Disposition"]
    lines = csv_lines(response)
    assert lines[0] == ["Rep", "Won", "Lost", "Win rate %", "Won revenue", "Lost reasons"]
    by_label = {line[0]: line for line in lines[1:]}
    assert by_label["bob"][1:5] == ["1", "2", "33.3", "250.00"]
    assert by_label["Total"][1:5] == ["3", "3", "50.0", "1750.00"]


@pytest.mark.parametrize(
    ("export", "first"), [("reasons", "Reason"), ("rules", "Qualifying rule"), ("verdicts", "Source")]
)
def test_each_verdicts_table_downloads_as_csv(marketer_client: Client, export, first):
    build_world()
    lines = csv_lines(marketer_client.get(URL, MARCH | {"export": export}))
    assert lines[0] == [first, "Decided", "Accepted", "Rejected", "Recycled", "Reasons"]
    by_label = {line[0]: line for line in lines[1:]}
    if export == "rules":
        assert by_label["Attended the webinar"][1:5] == ["8", "4", "3", "1"]
    elif export == "reasons":
        assert by_label["No budget"][3] == "3"
    else:
        assert by_label["Total"][1:5] == ["14", "8", "4", "2"]


def test_a_reason_that_looks_like_a_formula_is_neutralised(marketer_client: Client):
    build_world()
    StageChange.objects.filter(reason="Bad fit").update(reason="=HYPERLINK(evil)")
    lines = csv_lines(marketer_client.get(URL, MARCH | {"export": "reasons"}))
    assert "'=HYPERLINK(evil)" in {line[0] for line in lines}


def test_the_page_takes_a_bounded_number_of_queries(marketer_client: Client, django_assert_max_num_queries):
    """Session, user, roles, and the report's five (deals, verdicts per group, per reason, per
    rule and the rules' qualification moves), however many deals and verdicts."""
    build_world()
    with django_assert_max_num_queries(8):
        marketer_client.get(URL, MARCH | {"by": "persona"})
