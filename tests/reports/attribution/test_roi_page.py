"""The ROI page: marketing and managers pick a month, a model and campaigns or channels, read the
rows with their totals and every model side by side, and download either table as CSV."""

import csv
import io
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from reports.attribution import forms
from tests.factories import CampaignFactory
from tests.reports.attribution.world import build_world

pytestmark = pytest.mark.django_db

URL = reverse("reports:roi")
MARCH = {"month": "2026-03"}


@pytest.fixture(autouse=True)
def _march_is_offered(monkeypatch):
    """The month picker offers recent months; pin "now" so March 2026 is among them."""
    monkeypatch.setattr(forms, "month_first", lambda day=None: (day or date(2026, 4, 15)).replace(day=1))


@pytest.mark.parametrize("who", ["marketer", "manager"])
def test_marketing_and_managers_read_a_months_roi(request, who):
    build_world()
    response = request.getfixturevalue(f"{who}_client").get(URL, MARCH | {"model": "u_shaped"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "ROI · March 2026" in html and "U-shaped" in html
    assert "Spring webinar" in html and "(no campaign)" in html
    assert "800.00" in html and "1,250.50" in html  # Webinar's U-shaped credit; the month's won revenue
    assert "166.7%" in html  # (800 − 300) ÷ 300
    assert 'href="/reports/roi/"' in html  # in the navigation


def test_rows_per_channel(marketer_client: Client):
    build_world()
    report = marketer_client.get(URL, MARCH | {"by": "channel"}).context["report"]
    assert [row.label for row in report.rows] == ["Webinar", "Paid search", "(no campaign)"]


def test_a_rep_is_refused(rep_client: Client):
    assert rep_client.get(URL).status_code == 403


def test_someone_without_a_role_is_refused(nobody):
    client = Client()
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_a_bad_choice_shows_the_defaults_with_a_400(marketer_client: Client):
    response = marketer_client.get(URL, {"model": "astrology"})
    assert response.status_code == 400
    assert "Showing the defaults instead" in response.content.decode()
    assert response.context["report"].model == "linear"


def test_the_rows_table_downloads_as_csv_with_formulas_neutralised(marketer_client: Client):
    build_world()
    CampaignFactory(name="=HYPERLINK(evil)").costs.create(incurred_on="2026-03-03", amount=5)
    response = marketer_client.get(URL, MARCH | {"model": "linear", "export": "rows"})
    assert response["Content-Type"].startswith("text/csv")
    assert "roi-2026-03-campaign-linear.csv" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0][:3] == ["Campaign", "Channel", "Spend"]
    by_label = {line[0]: line for line in lines[1:]}
    assert "'=HYPERLINK(evil)" in by_label
    assert lines[0][6:10] == ["Opportunities", "Customers", "Won deals", "Attributed revenue"]
    assert by_label["Spring webinar"][6] == "1" and by_label["Total"][6] == "1"  # L1's first opportunity
    assert by_label["Spring webinar"][9] == "666.67" and by_label["Total"][9] == "1250.50"


def test_every_model_downloads_side_by_side(manager_client: Client):
    build_world()
    response = manager_client.get(URL, MARCH | {"export": "models"})
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == [
        "Campaign",
        "Channel",
        "First touch",
        "Last touch",
        "Linear",
        "U-shaped",
        "W-shaped",
        "Time decay",
    ]
    by_label = {line[0]: line[2:] for line in lines[1:]}
    assert by_label["Spring webinar"] == ["1000.00", "1000.00", "666.67", "800.00", "666.67", "714.29"]
    assert by_label["Total"] == ["1250.50"] * 6


def test_the_page_takes_a_bounded_number_of_queries(marketer_client: Client, django_assert_max_num_queries):
    """Session, user, roles, and the report's seven, however many campaigns have figures."""
    build_world()
    for n in range(5):
        CampaignFactory(name=f"More {n}").costs.create(incurred_on="2026-03-03", amount=5)
    with django_assert_max_num_queries(10):
        marketer_client.get(URL, MARCH | {"by": "campaign"})


def test_with_nothing_chosen_the_pickers_show_this_month_linear_and_campaigns(marketer_client: Client):
    html = marketer_client.get(URL).content.decode()
    assert '<option value="2026-04" selected>April 2026</option>' in html
    assert '<option value="linear" selected>Linear</option>' in html
    assert '<option value="campaign" selected>Campaign</option>' in html
