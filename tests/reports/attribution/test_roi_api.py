"""GET /api/v1/reports/roi/: marketing and managers read the ROI rows; bad input is a 400 per field."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tests.reports.attribution.world import build_world

pytestmark = pytest.mark.django_db

URL = reverse("api-reports-roi")


def test_a_manager_reads_a_months_rows_and_totals(manager_client: Client):
    build_world()
    body = manager_client.get(URL, {"model": "time_decay", "period": "2026-03"}).json()
    assert (body["model"], body["by"], body["from"], body["to"]) == (
        "time_decay",
        "campaign",
        "2026-03-01",
        "2026-03-31",
    )
    rows = {row["label"]: row for row in body["rows"]}
    webinar = rows["Spring webinar"]
    assert (webinar["revenue"], webinar["spend"], webinar["roi"], webinar["cost_per_lead"]) == (
        "714.29",
        "300.00",
        "1.3810",  # (714.29 − 300) ÷ 300 = 1.38096…
        "150.00",
    )
    assert webinar["campaign_id"] and webinar["channel"] == "webinar"
    assert rows["(no campaign)"]["campaign_id"] is None and rows["(no campaign)"]["roi"] is None
    assert body["totals"]["revenue"] == "1250.50" and body["totals"]["won_deals"] == 2
    assert sum(Decimal(row["revenue"]) for row in body["rows"]) == Decimal("1250.50")


def test_from_and_to_include_both_days_and_rows_may_be_per_channel(marketer_client: Client):
    build_world()
    body = marketer_client.get(URL, {"model": "u_shaped", "from": "2026-03-20", "to": "2026-03-20", "by": "channel"})
    rows = {row["label"]: row for row in body.json()["rows"]}
    assert rows["Webinar"]["revenue"] == "800.00" and rows["Webinar"]["campaign_id"] is None  # D1 won on the 20th
    assert "(no campaign)" not in rows  # D2 was won on the 25th


def test_with_no_period_it_is_this_month(marketer_client: Client):
    body = marketer_client.get(URL).json()
    assert body["model"] == "linear" and body["rows"] == [] and body["totals"]["revenue"] == "0.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"model": "mystery"}, "model"),
        ({"by": "rep"}, "by"),
        ({"period": "2026-13"}, "period"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01"}, "to"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"from": "2000-01-01", "to": "2026-03-01"}, "to"),
        ({"period": "2026-03", "from": "2026-03-01", "to": "2026-03-02"}, "period"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(manager_client: Client, query, field):
    response = manager_client.get(URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_rep_may_not_read_it(rep_client: Client):
    assert rep_client.get(URL).status_code == 403


def test_someone_logged_out_may_not_read_it():
    assert Client().get(URL).status_code in (401, 403)


def test_it_is_in_the_schema(manager_client: Client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reports/roi/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"model", "by", "from", "to", "period"}
