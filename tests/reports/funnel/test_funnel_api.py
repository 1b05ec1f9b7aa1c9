"""GET /api/v1/reports/funnel/ and /velocity/: marketing and managers read the figures worked out
in test_funnel_rows.py; bad input is a 400 naming the field."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.reports.funnel.world import build_world

pytestmark = pytest.mark.django_db

FUNNEL = reverse("api-reports-funnel")
VELOCITY = reverse("api-reports-velocity")


def test_a_manager_reads_the_cohorts_of_a_range(manager_client: Client, django_assert_max_num_queries):
    build_world()
    with django_assert_max_num_queries(8):  # the session, the user and their roles, the report's one
        body = manager_client.get(FUNNEL, {"from": "2026-01-01", "to": "2026-02-28"}).json()
    assert (body["by"], body["from"], body["to"]) == ("cohort", "2026-01-01", "2026-02-28")
    assert "entries" not in body
    january, february = body["cohorts"]
    assert (january["month"], january["leads"], february["month"], february["leads"]) == ("2026-01", 3, "2026-02", 4)
    assert [cell["reached"] for cell in january["stages"]] == [3, 3, 2, 2, 1, 1, 0]
    assert [cell["rate_to_next"] for cell in january["stages"]] == [
        "1.0000",
        "0.6667",
        "1.0000",
        "0.5000",
        "1.0000",
        "0.0000",
        None,
    ]
    assert january["stages"][0]["stage"] == "subscriber" and february["stages"][4]["rate_to_next"] is None


def test_a_marketer_reads_a_months_entries(marketer_client: Client):
    build_world()
    body = marketer_client.get(FUNNEL, {"period": "2026-02", "by": "period"}).json()
    assert (body["from"], body["to"], "cohorts" in body) == ("2026-02-01", "2026-02-28", False)
    assert [(row["stage"], row["entries"]) for row in body["entries"]] == [
        ("subscriber", 0),
        ("lead", 1),
        ("mql", 2),
        ("sql", 4),
        ("opportunity", 1),
        ("customer", 1),
        ("evangelist", 0),
    ]
    assert body["entries"][3]["rate_to_next"] == "0.2500"


def test_velocity_reads_the_periods_medians(marketer_client: Client):
    build_world()
    body = marketer_client.get(VELOCITY, {"period": "2026-02"}).json()
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-02-28")
    rows = {row["from_stage"]: row for row in body["rows"]}
    assert (rows["mql"]["to_stage"], rows["mql"]["moves"], rows["mql"]["median_days"]) == ("sql", 3, "4.00")
    assert (rows["lead"]["moves"], rows["lead"]["median_days"]) == (2, "29.00")
    assert (rows["customer"]["moves"], rows["customer"]["median_days"]) == (0, None)


def test_with_no_period_it_is_this_month(marketer_client: Client):
    body = marketer_client.get(FUNNEL).json()
    assert len(body["cohorts"]) == 1 and body["cohorts"][0]["leads"] == 0
    assert [row["moves"] for row in marketer_client.get(VELOCITY).json()["rows"]] == [0] * 6


BAD_PERIODS = [
    ({"period": "2026-13"}, "period"),
    ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
    ({"from": "2026-03-01"}, "to"),
    ({"to": "2026-03-01"}, "from"),
    ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
    ({"from": "2000-01-01", "to": "2026-03-01"}, "to"),
    ({"period": "2026-03", "from": "2026-03-01", "to": "2026-03-02"}, "period"),
]


@pytest.mark.parametrize(("query", "field"), [*BAD_PERIODS, ({"by": "rep"}, "by")])
def test_bad_funnel_input_is_a_400_naming_the_field(manager_client: Client, query, field):
    response = manager_client.get(FUNNEL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize(("query", "field"), BAD_PERIODS)
def test_bad_velocity_input_is_a_400_naming_the_field(manager_client: Client, query, field):
    response = manager_client.get(VELOCITY, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_velocity_ignores_the_roi_reports_parameters(manager_client: Client):
    assert manager_client.get(VELOCITY, {"model": "mystery", "by": "rep"}).status_code == 200


@pytest.mark.parametrize("url", [FUNNEL, VELOCITY])
def test_a_rep_may_not_read_them(rep_client: Client, url):
    assert rep_client.get(url).status_code == 403


@pytest.mark.parametrize("url", [FUNNEL, VELOCITY])
def test_someone_logged_out_may_not_read_them(url):
    assert Client().get(url).status_code in (401, 403)


def test_they_are_in_the_schema(manager_client: Client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    funnel = schema["paths"]["/api/v1/reports/funnel/"]["get"]
    velocity = schema["paths"]["/api/v1/reports/velocity/"]["get"]
    assert {parameter["name"] for parameter in funnel["parameters"]} == {"by", "from", "to", "period"}
    assert {parameter["name"] for parameter in velocity["parameters"]} == {"from", "to", "period"}
    cohort = schema["components"]["schemas"]["FunnelCohortOut"]["properties"]["stages"]
    assert cohort["type"] == "array"
