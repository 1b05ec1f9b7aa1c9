"""The API schema documents the refusals every view shares: 401, 403 for a role, 404 for an object or a page."""

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def documented(path: str, method: str) -> set[str]:
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    return set(schema["paths"][path][method]["responses"])


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_an_anonymous_caller_gets_the_401_the_schema_lists():
    assert api().get("/api/v1/campaigns/").status_code == 401
    assert "401" in documented("/api/v1/campaigns/", "get")
    assert api().get("/api/v1/notifications/").status_code == 401
    assert "401" in documented("/api/v1/notifications/", "get")


def test_the_public_capture_endpoint_lists_no_401():
    assert "401" not in documented("/api/v1/capture/{form_key}/", "post")


def test_a_role_refusal_is_a_403_the_schema_lists(rep):
    assert api(rep).post("/api/v1/leads/", {"email": "ana@acme.example"}, format="json").status_code == 403
    assert "403" in documented("/api/v1/leads/", "post")
    assert api(rep).post("/api/v1/events/", [], format="json").status_code == 403
    assert "403" in documented("/api/v1/events/", "post")


def test_an_operation_open_to_every_logged_in_user_lists_no_403():
    assert "403" not in documented("/api/v1/me/", "get")


def test_a_page_past_the_last_is_a_404_the_schema_lists(marketer):
    assert api(marketer).get("/api/v1/email-templates/", {"page": 9}).status_code == 404
    assert "404" in documented("/api/v1/email-templates/", "get")


def test_an_unknown_object_is_a_404_the_schema_lists(manager):
    assert api(manager).get("/api/v1/teams/999999/").status_code == 404
    assert "404" in documented("/api/v1/teams/{id}/", "get")


def test_a_month_is_documented_as_the_yyyy_mm_the_api_gives(manager):
    given = api(manager).get("/api/v1/agreement/", {"month": "2026-03"}).json()
    assert given["agreement"]["month"] == "2026-03"
    assert given["attainment"]["month"] == "2026-03"
    schema = Client().get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for component in ("AgreementTermsOut", "AttainmentOut", "CohortOut", "FunnelCohortOut", "DashboardMonthOut"):
        month = schema[component]["properties"]["month"]
        assert "format" not in month, component
        assert re.fullmatch(month["pattern"], "2026-03"), component


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/api/v1/deals/", "PaginatedDealOutList"),
        ("/api/v1/notifications/", "PaginatedNotificationOutList"),
    ],
)
def test_a_paged_list_is_documented_with_the_page_envelope_it_answers(rep, path, envelope):
    given = api(rep).get(path).json()
    assert set(given) == {"count", "next", "previous", "results"}
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": f"#/components/schemas/{envelope}"}


def test_a_field_the_api_gives_as_null_is_documented_as_nullable(marketer):
    CampaignFactory(created_by=None)
    assert api(marketer).get("/api/v1/campaigns/").json()["results"][0]["created_by"] is None
    schema = Client().get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for component, field in [
        ("CampaignOut", "created_by"),
        ("CampaignCostOut", "created_by"),
        ("DealOut", "lost_reason"),
        ("DealOut", "owner"),
        ("ActivityOut", "by"),
        ("ReferralOut", "paid_by"),
        ("LeadEmailOut", "template"),
    ]:
        assert schema[component]["properties"][field].get("nullable"), f"{component}.{field}"


def test_a_body_of_a_type_the_operation_does_not_read_is_a_415_the_schema_lists(manager):
    response = api(manager).post("/api/v1/teams/", "name: Iberia", content_type="text/plain")
    assert response.status_code == 415
    assert "415" in documented("/api/v1/teams/", "post")
    malformed = api(manager).post("/api/v1/teams/", "{", content_type="application/json")
    assert malformed.status_code == 400
    assert "400" in documented("/api/v1/teams/", "post")
    assert "415" not in documented("/api/v1/teams/", "get")
