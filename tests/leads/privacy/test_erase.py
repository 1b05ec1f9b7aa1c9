"""Erasing a lead at the person's request: personal data gone everywhere, figures kept, the
address refused by every capture path and never emailed."""

import html
import json
import secrets
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from conftest import logged_in
from leads.capture import imports as csv_io
from leads.capture.imports import import_guess_mapping, import_run
from leads.models import (
    Activity,
    CaptureForm,
    Deal,
    DealChange,
    ErasedAddress,
    Event,
    Job,
    Lead,
    LeadErasure,
    LeadMerge,
    Notification,
    StageChange,
)
from leads.models.privacy import address_digest
from leads.privacy.services import lead_erase
from playbooks.email.services import email_queue
from playbooks.models import EmailTemplate, Enrollment, OutboundEmail, Playbook, Suppression, TemplateKind
from tests.factories import LeadFactory
from tests.leads.privacy.world import ANA, ANA_OLD, SECRET_WORDS, person_world

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def erase_by_page(manager, lead: Lead):
    return logged_in(manager).post(f"/leads/{lead.pk}/erase/", {"confirm": "on"})


def all_text_of_the_database() -> str:
    """Every row of every table as text: where a personal value could hide."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (names from the introspection)
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


# --- The confirmation step and its result -----------------------------------------------------


def test_the_erase_page_asks_for_confirmation_before_erasing(rep, manager):
    world = person_world(rep)
    client = logged_in(manager)
    page = client.get(f"/leads/{world.lead.pk}/erase/")
    assert page.status_code == 200
    assert b"Removed for good" in page.content and b'name="confirm"' in page.content
    refused = client.post(f"/leads/{world.lead.pk}/erase/", {})
    assert refused.status_code == 400
    assert b"Tick the box to confirm the erasure." in refused.content
    assert not LeadErasure.objects.exists()
    assert Lead.objects.get(pk=world.lead.pk).email == ANA


def test_erasing_says_so_and_records_who_and_when(rep, manager):
    world = person_world(rep)
    client = logged_in(manager)
    response = client.post(f"/leads/{world.lead.pk}/erase/", {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{world.lead.pk}/"
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert "Erased this lead's personal data. Its address is refused by every capture" in page
    assert "This lead's personal data was erased at the person's request" in page
    assert f"/leads/{world.lead.pk}/erase/" not in page
    erasure = LeadErasure.objects.get(lead=world.lead)
    assert erasure.erased_by == manager
    assert erasure.counts["events"] == 1 and erasure.counts["emails"] == 1
    # Only the keyed hash of each address is kept, never the address.
    digests = set(ErasedAddress.objects.values_list("digest", flat=True))
    assert digests == {address_digest(ANA), address_digest(ANA_OLD)}
    assert ANA not in all_text_of_the_database()


def test_personal_data_is_gone_from_every_table_and_the_neighbour_is_untouched(rep, manager):
    world = person_world(rep)
    erase_by_page(manager, world.lead)
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.email == f"erased-{lead.pk}@erased.invalid"
    assert (lead.first_name, lead.last_name, lead.phone, lead.title, lead.company, lead.website) == ("",) * 6
    assert (lead.industry, lead.company_size, lead.country) == ("Software", 120, "ES")
    assert lead.first_touch["utm_campaign"] == "spring" and "referrer" not in lead.first_touch
    event = Event.objects.get(lead=lead)
    assert event.properties == {"utm_campaign": "spring", "live": "yes"}  # what scoring rules test stays
    assert event.idempotency_key == f"erased-{event.pk}"
    assert Activity.objects.get(lead=lead).note == ""
    assert not StageChange.objects.filter(lead=lead).exclude(note="").exists()
    assert Deal.objects.get(lead=lead).name == f"Deal of erased lead {lead.pk}"
    assert not DealChange.objects.filter(deal__lead=lead).exclude(note="").exists()
    assert LeadMerge.objects.get(survivor=lead).snapshot == {}
    assert "Ana" not in Notification.objects.get().text
    text = all_text_of_the_database()
    for word in SECRET_WORDS:
        assert word not in text, word
    other = Lead.objects.get(pk=world.other.pk)
    assert (other.email, other.first_name, other.company) == ("bea@beta.io", "Bea", "Beta")
    assert Event.objects.get(lead=other).idempotency_key == "bea-1"


def test_after_erasure_pages_api_search_and_csv_show_nothing_of_the_person(rep, manager, marketer):
    world = person_world(rep)
    erase_by_page(manager, world.lead)
    client = logged_in(marketer)
    shown = [
        client.get(f"/leads/{world.lead.pk}/").content.decode(),
        client.get("/leads/").content.decode(),
        client.get("/leads/export.csv").getvalue().decode(),
        json.dumps(api(marketer).get(f"/api/v1/leads/{world.lead.pk}/").json()),
        json.dumps(api(manager).get(f"/api/v1/leads/{world.lead.pk}/export/").json()),
        json.dumps(api(marketer).get(f"/api/v1/leads/{world.lead.pk}/emails/").json()),
        logged_in(manager).get(f"/leads/deals/{world.deal.pk}/").content.decode(),
    ]
    for text in shown:
        for word in SECRET_WORDS:
            assert word not in text, word
    assert "bea@beta.io" in shown[2]  # the export still lists everyone else
    for query in ("ana.perez", "Pérez", "Acme"):
        assert api(marketer).get("/api/v1/leads/", {"q": query}).json()["count"] == 0
        assert "erased-" not in client.get("/leads/", {"q": query}).content.decode()


def test_reports_totals_are_the_same_before_and_after(rep, manager):
    world = person_world(rep)
    reports = ["/api/v1/reports/win-loss/", "/api/v1/agreement/"]
    before = [api(manager).get(url).json() for url in reports]
    assert before[0]["deals"]["totals"]["won_revenue"] in ("5000.00", 5000.0, "5000")
    erase_by_page(manager, world.lead)
    assert [api(manager).get(url).json() for url in reports] == before


def test_erasing_twice_keeps_the_first_record(rep, manager):
    world = person_world(rep)
    first, now = lead_erase(lead=world.lead, by=manager)
    again = api(manager).post(f"/api/v1/leads/{world.lead.pk}/erase/", {"confirm": True}, format="json")
    assert now and again.status_code == 200
    assert again.json()["already_erased"] is True and again.json()["erased_by"] == "manager"
    assert LeadErasure.objects.get().pk == first.pk


def test_an_erasure_whose_manager_left_answers_with_no_name(rep, manager, django_user_model):
    world = person_world(rep)
    lead_erase(lead=world.lead, by=manager)
    other_manager = django_user_model.objects.create_user("manager-two")
    other_manager.groups.set(manager.groups.all())
    manager.delete()
    again = api(other_manager).post(f"/api/v1/leads/{world.lead.pk}/erase/", {"confirm": True}, format="json")
    assert again.status_code == 200
    assert again.json()["already_erased"] is True and again.json()["erased_by"] is None
    schema = api(other_manager).get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["ErasureOut"]["properties"]["erased_by"]["nullable"] is True


# --- Never captured again -----------------------------------------------------------------


@pytest.fixture
def erased(rep, manager):
    world = person_world(rep)
    lead_erase(lead=world.lead, by=manager)
    return world


def test_the_api_upsert_refuses_an_erased_address_with_a_message(erased, marketer):
    response = api(marketer).post("/api/v1/leads/", {"email": "  ANA.Perez@acme.io "}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "email": ["This address was erased at its owner's request: it may not be captured again."]
    }
    assert not Lead.objects.filter(email=ANA).exists()


def test_events_for_an_erased_address_are_dropped_and_counted_the_rest_kept(erased, marketer):
    batch = [
        {"email": ANA, "type": "page_viewed", "idempotency_key": "k1", "occurred_at": "2026-01-05T10:00:00Z"},
        {"email": ANA_OLD, "type": "page_viewed", "idempotency_key": "k2", "occurred_at": "2026-01-05T10:00:00Z"},
        {
            "email": erased.lead.email,  # the placeholder reaches nothing either
            "type": "page_viewed",
            "idempotency_key": "k3",
            "occurred_at": "2026-01-05T10:00:00Z",
        },
        {
            "email": "new@gamma.io",
            "type": "page_viewed",
            "idempotency_key": "k4",
            "occurred_at": "2026-01-05T10:00:00Z",
        },
    ]
    response = api(marketer).post("/api/v1/events/", batch, format="json")
    assert response.status_code == 201
    assert response.json() == {"created": 1, "duplicates": 0, "leads_created": 1, "erased": 3}
    assert not Lead.objects.filter(email__in=[ANA, ANA_OLD]).exists()
    assert Event.objects.filter(lead=erased.lead).count() == 1
    assert Lead.objects.filter(email="new@gamma.io").exists()


def test_a_public_form_drops_an_erased_address_without_telling_the_visitor(erased, client):
    form = CaptureForm.objects.create(name="Trial", key=secrets.token_urlsafe(12), fields=["email", "first_name"])
    body = json.dumps({"email": ANA, "first_name": "Ana"})
    response = client.post(f"/api/v1/capture/{form.key}/", body, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"status": "received"}
    assert not Lead.objects.filter(email=ANA).exists()
    assert not Event.objects.filter(type="form_submitted").exists()


def test_a_csv_import_lists_an_erased_address_as_a_bad_row_and_creates_no_lead(
    erased, marketer, settings, tmp_path: Path
):
    settings.MEDIA_ROOT = tmp_path
    text = f"email,first name\n{ANA},Ana\nnew@delta.io,Dee\n"
    upload = csv_io.import_store_upload(upload=SimpleUploadedFile("people.csv", text.encode(), "text/csv"))
    mapping = {target: index for index, target in import_guess_mapping(upload.headers).items()}
    params = {"file": f"{upload.token}.csv", "name": upload.name, "delimiter": upload.delimiter}
    job = Job.objects.create(
        kind="import", created_by=marketer, params=params | {"headers": upload.headers, "mapping": mapping}
    )
    import_run(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error
    assert (job.result["created"], job.result["updated"], job.result["failed"]) == (1, 0, 1)
    assert not Lead.objects.filter(email=ANA).exists()
    assert Lead.objects.filter(email="new@delta.io", first_name="Dee").exists()
    errors = csv_io.import_path(job.result["errors_file"]).read_text(encoding="utf-8-sig")
    assert "2,This address was erased at its owner's request: it may not be captured again." in errors
    assert ANA not in errors


# --- Never emailed again --------------------------------------------------------------------


def test_queued_email_stops_and_no_new_email_goes_to_an_erased_lead(erased):
    stopped = OutboundEmail.objects.get(pk=erased.email.pk)
    placeholder = f"erased-{erased.lead.pk}@erased.invalid"
    assert (stopped.status, stopped.reason, stopped.to_email) == ("suppressed", "erased", placeholder)
    assert (stopped.subject, stopped.html, stopped.text) == ("(erased)", "", "")
    template = EmailTemplate.objects.create(
        name="Offer", kind=TemplateKind.TRANSACTIONAL, subject="Hi", body="<p>Hi</p>"
    )
    email = email_queue(lead=Lead.objects.get(pk=erased.lead.pk), template=template, cause="test")
    assert (email.status, email.reason) == ("suppressed", "erased")
    assert not Suppression.objects.exists()  # the plain address went; its hash refuses it


def test_running_playbooks_let_an_erased_lead_go(rep, manager):
    world = person_world(rep)
    playbook = Playbook.objects.create(name="Nurture", status=Playbook.Status.ACTIVE)
    Enrollment.objects.create(playbook=playbook, lead=world.lead, cause="test", due_at=world.lead.created_at)
    lead_erase(lead=world.lead, by=manager)
    enrollment = Enrollment.objects.get()
    assert (enrollment.status, enrollment.exit_reason, enrollment.due_at) == ("exited", "erased", None)


# --- Who may erase ------------------------------------------------------------------------------


def test_only_managers_may_erase_on_the_page_and_through_the_api(rep, other_rep, marketer):
    mine, theirs = LeadFactory(owner=rep), LeadFactory(owner=other_rep)
    for user in (rep, marketer):
        for lead in (mine, theirs):
            assert logged_in(user).get(f"/leads/{lead.pk}/erase/").status_code == 403
            assert logged_in(user).post(f"/leads/{lead.pk}/erase/", {"confirm": "on"}).status_code == 403
            answer = api(user).post(f"/api/v1/leads/{lead.pk}/erase/", {"confirm": True}, format="json")
            assert answer.status_code == 403
    assert b"/erase/" not in logged_in(marketer).get(f"/leads/{mine.pk}/").content
    assert not LeadErasure.objects.exists()


def test_the_api_erasure_needs_confirm_true(manager):
    lead = LeadFactory()
    for body in ({}, {"confirm": False}, {"confirm": "perhaps"}):
        response = api(manager).post(f"/api/v1/leads/{lead.pk}/erase/", body, format="json")
        assert response.status_code == 400 and "confirm" in response.json()
    assert not LeadErasure.objects.exists()
    done = api(manager).post(f"/api/v1/leads/{lead.pk}/erase/", {"confirm": True}, format="json")
    assert done.status_code == 200
    assert done.json()["already_erased"] is False and done.json()["lead"] == lead.pk
    assert api(manager).post("/api/v1/leads/987654/erase/", {"confirm": True}, format="json").status_code == 404
