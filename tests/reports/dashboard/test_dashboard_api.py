"""GET /api/v1/reports/dashboard/: the page's figures as JSON, read with the page's query."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from leads.models import Campaign
from tests.reports.dashboard.world import NOW, build_world

pytestmark = pytest.mark.django_db

API = reverse("api-reports-dashboard")


@pytest.fixture
def world(rep):
    return build_world(rep)


def get(client: Client, **params: str):
    with time_machine.travel(NOW, tick=False):
        return client.get(API, params)


def test_january_as_json_worked_out_by_hand(manager_client, world, django_assert_max_num_queries):
    with django_assert_max_num_queries(18):  # session and roles, the pickers, ten figures
        body = get(manager_client, month="2026-01").json()
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-31")
    january = body["agreement"][-1]
    assert january["month"] == "2026-01" and len(body["agreement"]) == 12
    assert (january["mql_delivered"], january["mql_target"], january["handed_off"], january["accepted"]) == (3, 4, 3, 1)
    assert (january["in_time"], january["decided"], january["touched_in_time_pct"]) == (2, 3, 67)
    assert (january["won"], january["close_rate_pct"], january["won_revenue"]) == (1, 33.3, "1000.00")
    assert [stage["reached"] for stage in body["cohorts"][0]["stages"]] == [3, 3, 3, 1, 1, 1, 0]
    assert [row["entries"] for row in body["entries"]] == [0, 0, 3, 0, 1, 0, 0]
    assert body["velocity"][1] | {} == {"from_stage": "lead", "to_stage": "mql", "moves": 3, "median_days": "5.00"}
    assert body["verdicts"] == 3
    assert body["reasons"] == [
        {"reason": "No budget", "verdict": "rejected", "leads": 1, "share": "33.3"},
        {"reason": "Not now", "verdict": "recycled", "leads": 1, "share": "33.3"},
    ]
    assert body["deals"] == {"won": 0, "lost": 0, "won_revenue": "0.00", "win_rate": None}
    assert sum(stage["deals"] for stage in body["pipeline"]) == 1


def test_the_filters_narrow_the_json_as_the_page(manager_client, world):
    webinar = Campaign.objects.get(name="Webinar")
    body = get(manager_client, month="2026-01", campaign=str(webinar.pk)).json()
    assert body["cohorts"][0]["leads"] == 2 and body["velocity"][1]["median_days"] == "3.50"


def test_bad_input_is_a_400_per_field(manager_client, world):
    response = get(manager_client, period="custom", start="2026-02-01", channel="tv", version="x")
    assert response.status_code == 400
    assert response.json() == {
        "end": ["Give both days of a custom period."],
        "channel": ["Choose a channel from the list."],
        "version": ["Choose a definition version from the list."],
    }


def test_every_role_reads_it_and_no_one_else(rep_client, marketer_client, client, nobody):
    assert get(rep_client).status_code == 200 and get(marketer_client).status_code == 200
    assert Client().get(API).status_code in (401, 403)
    client.force_login(nobody)
    assert client.get(API).status_code == 403


def test_it_is_in_the_schema(manager_client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reports/dashboard/"]["get"]
    assert {"period", "month", "campaign", "channel", "persona", "version"} <= {
        p["name"] for p in operation["parameters"]
    }
    assert "DashboardOut" in schema["components"]["schemas"]
