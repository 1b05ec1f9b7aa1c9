"""GET /api/v1/reports/meeting-packs/ and /{week}/: marketing and managers, documented."""

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reports.pack.services import meeting_pack_build
from tests.reports.pack.conftest import BUILT, W11

pytestmark = pytest.mark.django_db

LIST = "/api/v1/reports/meeting-packs/"


def test_the_list_is_paginated_newest_first(pack, manager_client: Client):
    meeting_pack_build(monday=W11 - timedelta(weeks=1), now=BUILT, email=False)
    body = manager_client.get(LIST, {"page_size": 1}).json()
    assert body["count"] == 2 and body["next"] is not None
    [first] = body["results"]
    assert first["week"] == "2026-W11" and first["week_start"] == "2026-03-09" and first["week_end"] == "2026-03-15"
    assert (first["won"], first["lost"], first["won_revenue"]) == (3, 1, "1750.00")
    assert (first["mql_delivered"], first["mql_target"]) == (14, 20)
    assert first["emailed_at"] is not None


def test_a_weeks_pack_has_all_its_figures(pack, marketer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=marketer).key}")
    body = client.get(f"{LIST}2026-W11/").json()
    figures = body["figures"]
    assert figures["deals"]["won_revenue"] == "1750.00" and figures["deals"]["win_rate"] == "75.0"
    assert figures["rejection_reasons"][0] == {"label": "No budget", "kind": "rejected", "count": 2}
    assert figures["agreement"]["week"]["handed_off"] == 3
    assert {row["version"] for row in figures["versions"]} == {1, 2}


def test_a_badly_named_week_is_a_400_naming_the_field_and_an_unbuilt_one_a_404(empty_pack, manager_client: Client):
    response = manager_client.get(f"{LIST}2026-13/")
    assert response.status_code == 400
    assert response.json() == {"week": ["Name a week as YYYY-Www, for example 2026-W49."]}
    assert manager_client.get(f"{LIST}2026-W12/").status_code == 404


def test_sales_and_strangers_are_refused(empty_pack, rep_client: Client):
    assert rep_client.get(LIST).status_code == 403
    assert rep_client.get(f"{LIST}2026-W11/").status_code == 403
    assert Client().get(LIST).status_code in (401, 403)


def test_the_schema_documents_both(manager_client: Client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    listed = schema["paths"]["/api/v1/reports/meeting-packs/"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {"page", "page_size"}
    one = schema["paths"]["/api/v1/reports/meeting-packs/{week}/"]["get"]
    assert set(one["responses"]) >= {"200", "400", "403", "404"}
    figures = schema["components"]["schemas"]["PackFiguresOut"]["properties"]
    assert {"agreement", "deals", "rejection_reasons", "campaigns", "versions", "action_items"} <= set(figures)
