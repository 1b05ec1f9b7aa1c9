"""A lead's data as one JSON document: on its page and through the API, for managers only."""

import json

import pytest
from rest_framework.test import APIClient

from conftest import logged_in
from tests.factories import LeadFactory
from tests.leads.privacy.world import ANA, ANA_OLD, person_world

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_export_holds_the_leads_data_from_every_part_and_nothing_of_another_lead(rep, manager):
    world = person_world(rep)
    response = api(manager).get(f"/api/v1/leads/{world.lead.pk}/export/")
    assert response.status_code == 200
    data = response.json()
    assert data["format"] == "smarketing.lead-export/1"
    assert data["lead"]["email"] == ANA and data["lead"]["last_name"] == "Pérez"
    assert data["lead"]["phone"] == "+34 600 111 222" and data["lead"]["owner"] == "Rafa Sales"
    assert data["score"]["engagement"] == 10 and data["score"]["engagement_by_rule"][0]["rule"] == "Webinar"
    [event] = data["events"]
    assert event["type"] == "webinar_attended" and event["properties"]["comment"] == "Call her mobile after 6"
    assert event["campaign"] == "Spring webinar"
    assert [change["to_stage"] for change in data["stage_history"]][-2:] == ["opportunity", "customer"]
    assert data["qualification"]["sales_verdicts"][0]["note"] == "Ana Pérez wants 50 seats"
    assert data["sales"]["activities"][0]["note"] == "Her husband answered"
    assert data["sales"]["handoff"]["status"] == "accepted"
    [deal] = data["deals"]
    assert (deal["amount"], deal["outcome"]) == ("5000.00", "won") and deal["changes"]
    assert data["merges"][0]["merged_email"] == ANA_OLD
    # Playbooks' part, registered by that app: lists, emails, suppressions.
    assert data["lists"][0]["list"] == "Newsletter"
    assert data["emails"][0]["subject"] == "Hello Ana" and data["emails"][0]["to_email"] == ANA
    assert data["suppressions"][0]["reason"] == "manual"
    assert data["erasure"] is None
    text = json.dumps(data)
    assert "bea@beta.io" not in text and "Beta" not in text and "Bea" not in text
    assert str(world.other.pk) not in {str(e["id"]) for e in data["events"]}


def test_the_lead_page_offers_managers_the_download_as_a_json_file(rep, manager):
    world = person_world(rep)
    client = logged_in(manager)
    page = client.get(f"/leads/{world.lead.pk}/")
    assert f'href="/leads/{world.lead.pk}/data.json"'.encode() in page.content
    response = client.get(f"/leads/{world.lead.pk}/data.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="lead-{world.lead.pk}.json"'
    assert json.loads(response.content)["lead"]["email"] == ANA


def test_reading_the_export_takes_the_same_queries_however_many_rows_the_lead_has(
    rep, manager, django_assert_max_num_queries
):
    world = person_world(rep)
    with django_assert_max_num_queries(40) as few:
        api(manager).get(f"/api/v1/leads/{world.lead.pk}/export/")
    from leads.models import Event

    Event.objects.bulk_create(
        Event(lead=world.lead, type="page_viewed", occurred_at=world.lead.created_at, idempotency_key=f"more-{n}")
        for n in range(30)
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api(manager).get(f"/api/v1/leads/{world.lead.pk}/export/").json()["events"]) == 31


def test_a_rep_cannot_export_another_reps_lead_nor_their_own(rep, other_rep):
    theirs = LeadFactory(owner=other_rep)
    mine = LeadFactory(owner=rep)
    assert api(rep).get(f"/api/v1/leads/{theirs.pk}/export/").status_code == 403
    assert api(rep).get(f"/api/v1/leads/{mine.pk}/export/").status_code == 403
    assert logged_in(rep).get(f"/leads/{theirs.pk}/data.json").status_code == 403
    assert b"data.json" not in logged_in(rep).get(f"/leads/{mine.pk}/").content


def test_marketers_and_anonymous_callers_are_refused_the_export(marketer):
    lead = LeadFactory()
    assert api(marketer).get(f"/api/v1/leads/{lead.pk}/export/").status_code == 403
    assert APIClient().get(f"/api/v1/leads/{lead.pk}/export/").status_code in (401, 403)
    assert logged_in(marketer).get(f"/leads/{lead.pk}/data.json").status_code == 403


def test_an_unknown_lead_is_404_for_a_manager(manager):
    assert api(manager).get("/api/v1/leads/987654/export/").status_code == 404
    assert logged_in(manager).get("/leads/987654/data.json").status_code == 404


def test_the_schema_documents_the_export_and_the_erasure(manager):
    schema = logged_in(manager).get("/api/schema/?format=json").json()
    assert "get" in schema["paths"]["/api/v1/leads/{id}/export/"]
    assert "post" in schema["paths"]["/api/v1/leads/{id}/erase/"]
