"""GET /api/v1/reports/win-loss/: marketing and managers read both parts; bad input is a 400 per field."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.reports.winloss.world import PRICE_RULE, WEBINAR_RULE, build_world

pytestmark = pytest.mark.django_db

URL = reverse("api-reports-win-loss")


def test_a_manager_reads_a_months_deals_and_verdicts_per_rep(manager_client: Client):
    world = build_world()
    body = manager_client.get(URL, {"period": "2026-03", "by": "rep"}).json()
    assert (body["by"], body["from"], body["to"]) == ("rep", "2026-03-01", "2026-03-31")
    deals = {row["label"]: row for row in body["deals"]["rows"]}
    assert deals["Ann Lee"]["key"] == str(world.ann.pk)
    assert (deals["Ann Lee"]["won"], deals["Ann Lee"]["lost"], deals["Ann Lee"]["won_revenue"]) == (2, 1, "1500.00")
    assert deals["bob"]["win_rate"] == "33.3"
    assert {r["label"]: r["count"] for r in deals["bob"]["reasons"]} == {"Price": 1, "Chose a competitor": 1}
    totals = body["deals"]["totals"]
    assert (totals["won"], totals["lost"], totals["won_revenue"], totals["win_rate"]) == (3, 3, "1750.00", "50.0")
    verdicts = body["rejections"]
    assert (verdicts["totals"]["decided"], verdicts["totals"]["rejected"], verdicts["totals"]["recycled"]) == (14, 4, 2)
    rules = {row["label"]: row for row in verdicts["rules"]}
    assert {r["label"]: r["share"] for r in rules[WEBINAR_RULE]["reasons"]}["No budget"] == "25.0"
    assert rules[PRICE_RULE]["decided"] == 7
    assert verdicts["findings"][0]["sentence"].startswith("Leads qualified by “Downloaded the price list”")
    assert [row["label"] for row in verdicts["reasons"]][:3] == ["No budget", "Not ready to buy yet", "Bad fit"]


def test_from_and_to_include_both_days_and_the_default_grouping_is_source(marketer_client: Client):
    build_world()
    body = marketer_client.get(URL, {"from": "2026-03-14", "to": "2026-03-15"}).json()
    assert body["by"] == "source"
    deals = {row["label"]: (row["won"], row["lost"]) for row in body["deals"]["rows"]}
    assert deals == {"search": (1, 1)}  # D3 lost on the 14th, D4 won on the 15th


def test_with_no_period_it_is_this_month(marketer_client: Client):
    body = marketer_client.get(URL).json()
    assert body["deals"]["rows"] == [] and body["rejections"]["rules"] == []
    assert body["deals"]["totals"]["win_rate"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "mood"}, "by"),
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


def test_the_schema_documents_it(manager_client: Client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reports/win-loss/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"from", "to", "period", "by"}
    assert "model" not in {parameter["name"] for parameter in operation["parameters"]}
