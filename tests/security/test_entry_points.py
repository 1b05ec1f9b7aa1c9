"""Every attack in the corpus, pushed through each place a user or an integration types text
(the leads API, the public capture endpoint, the lead edit page, activity notes, campaigns,
playbooks, lists and email templates): each is stored as given or answered with a 400 naming
the field, never a 500; and the pages that show it hold nothing live (tests.bad_input.live_markup)."""

import secrets
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from leads.models import Activity, CaptureForm, Lead
from playbooks.models import EmailTemplate, LeadList, Playbook
from tests.bad_input import XSS, live_markup
from tests.leads.sales.helpers import assigned_lead

pytestmark = pytest.mark.django_db
LEAD_TEXTS = ["first_name", "last_name", "company", "title", "industry", "phone", "website"]
TOUCH_TEXTS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer"]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def stored_or_refused(response, fields: list[str]) -> bool:
    """True when stored; a refusal must be a 400 naming one of `fields` with a message."""
    assert response.status_code in (200, 201, 303, 302, 400), (response.status_code, response.content[:300])
    if response.status_code != 400:
        return True
    errors = response.json() if response["Content-Type"].startswith("application/json") else {}
    named = [field for field in fields if field in errors]
    assert named and all(isinstance(m, str) and m for f in named for m in errors[f]), errors
    return False


def inert(client: Client, url: str, payload: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    assert live_markup(html) == [], (url, live_markup(html))
    assert escape(payload.strip()) in html, f"{url} does not show {payload!r} as text"


def test_lead_texts_and_touches_through_the_api(marketer, marketer_client):
    stored = 0
    for number, payload in enumerate(XSS):
        body = {"email": f"x{number}@example.com", **dict.fromkeys(TOUCH_TEXTS, payload)}
        body |= {name: payload[: Lead._meta.get_field(name).max_length] for name in LEAD_TEXTS}
        if not stored_or_refused(api(marketer).post("/api/v1/leads/", body, format="json"), LEAD_TEXTS + TOUCH_TEXTS):
            assert not Lead.objects.filter(email=body["email"]).exists()
            continue
        lead = Lead.objects.get(email=body["email"])
        assert lead.company == payload.strip()  # the API trims, as for every text
        inert(marketer_client, reverse("leads:detail", args=[lead.pk]), payload)
        stored += 1
    assert stored >= len(XSS) - 2  # only a NUL character is refused
    inert(marketer_client, reverse("leads:list") + "?page_size=100", XSS[0])


def test_lead_texts_and_touches_through_the_public_capture_endpoint(settings, marketer_client):
    settings.CAPTURE_RATE_LIMIT = 1_000
    cache.clear()
    form = CaptureForm.objects.create(
        name="Webinar", key=secrets.token_urlsafe(12), fields=["email", *LEAD_TEXTS[:4]], required_fields=["email"]
    )
    visitor = Client()
    for number, payload in enumerate(XSS):
        body = {"email": f"c{number}@example.com", **dict.fromkeys(LEAD_TEXTS[:4] + TOUCH_TEXTS, payload)}
        response = visitor.post(reverse("api-capture", args=[form.key]), body)
        assert response.status_code in (303, 400), response.status_code
        html = response.content.decode()
        assert live_markup(html) == []  # a refusal re-renders the form with the values escaped
        if response.status_code == 303:
            lead = Lead.objects.get(email=body["email"])
            inert(marketer_client, reverse("leads:detail", args=[lead.pk]), payload)
    assert Lead.objects.count() >= len(XSS) - 2


def test_lead_texts_through_the_edit_page(marketer_client):
    lead = Lead.objects.create(email="edit@example.com")
    for payload in XSS:
        data = dict.fromkeys(["first_name", "last_name", "company", "title", "industry"], payload)
        response = marketer_client.post(reverse("leads:edit", args=[lead.pk]), data)
        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 400:
            assert response.context["form"].errors and live_markup(response.content.decode()) == []
            continue
        lead.refresh_from_db()
        assert lead.company == payload.strip()
        inert(marketer_client, reverse("leads:detail", args=[lead.pk]), payload)
        inert(marketer_client, reverse("leads:edit", args=[lead.pk]), payload)


def test_activity_notes_and_outcomes_through_the_api(rep, rep_client):
    lead = assigned_lead(rep)
    for number, payload in enumerate(XSS):
        body = {"kind": "note", "note": payload, "outcome": payload, "client_token": f"t{number}"}
        response = api(rep).post(f"/api/v1/leads/{lead.pk}/activities/", body, format="json")
        if stored_or_refused(response, ["note", "outcome"]):
            assert Activity.objects.filter(lead=lead, client_token=f"t{number}").exists()
    assert Activity.objects.filter(lead=lead).count() >= len(XSS) - 2
    html = rep_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert live_markup(html) == [] and escape(XSS[0]) in html


def test_campaign_names_and_utm_values_through_the_api(marketer, marketer_client):
    for number, payload in enumerate(XSS):
        body = {"name": f"{payload} {number}", "channel": "webinar", "utm_source": payload}
        body["utm_campaign"] = f"{payload}-{number}"
        response = api(marketer).post("/api/v1/campaigns/", body, format="json")
        if stored_or_refused(response, ["name", "utm_source", "utm_campaign"]):
            campaign = response.json()["id"]
            inert(marketer_client, reverse("leads:campaign", args=[campaign]), f"{payload} {number}".strip())
    inert(marketer_client, reverse("leads:campaigns"), f"{XSS[0]} 0")


def _named_through_the_api(user, client: Client, path: str, body: dict[str, Any], page: str, model: Any) -> None:
    for number, payload in enumerate(XSS):
        name = f"{payload} {number}"
        response = api(user).post(path, {**body, "name": name, "description": payload}, format="json")
        if stored_or_refused(response, ["name", "description"]):
            assert model.objects.filter(name=name.strip()).exists()
    html = client.get(reverse(page)).content.decode()
    assert live_markup(html) == [] and escape(f"{XSS[0]} 0") in html


def test_playbook_names_through_the_api(marketer, marketer_client):
    body = {"trigger": {"type": "stage_entered", "stage": "mql"}, "steps": [{"type": "wait", "days": 1}]}
    _named_through_the_api(marketer, marketer_client, "/api/v1/playbooks/", body, "playbooks:playbooks", Playbook)
    for playbook in Playbook.objects.all()[:5]:
        inert(marketer_client, reverse("playbooks:playbook", args=[playbook.pk]), playbook.name)


def test_list_names_through_the_api(marketer, marketer_client):
    _named_through_the_api(marketer, marketer_client, "/api/v1/lists/", {"kind": "static"}, "playbooks:lists", LeadList)
    for lead_list in LeadList.objects.all()[:5]:
        inert(marketer_client, reverse("playbooks:list", args=[lead_list.pk]), lead_list.name)


def test_email_template_names_and_subjects_through_the_api(marketer, marketer_client):
    for number, payload in enumerate(XSS):
        body = {"name": f"{payload} {number}", "kind": "promotional", "subject": payload, "body": f"<p>{number}</p>"}
        response = api(marketer).post("/api/v1/email-templates/", body, format="json")
        if stored_or_refused(response, ["name", "subject"]):
            template = EmailTemplate.objects.get(pk=response.json()["id"])
            inert(marketer_client, reverse("playbooks:email-template", args=[template.pk]), template.name)
            preview = marketer_client.get(reverse("playbooks:email-template-preview", args=[template.pk]))
            assert live_markup(preview.content.decode()) == []
    assert EmailTemplate.objects.count() >= len(XSS) - len([p for p in XSS if "{" in p]) - 2
    html = marketer_client.get(reverse("playbooks:email-templates")).content.decode()
    assert live_markup(html) == []


def test_column_names_and_cells_of_an_uploaded_file_are_shown_as_text_on_the_mapping_page(
    marketer_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    attacks = [payload for payload in XSS if "\x00" not in payload][:12]
    header = ",".join(["email", *(_csv_cell(payload) for payload in attacks)])
    row = ",".join(["ana@example.com", *(_csv_cell(payload) for payload in attacks)])
    upload = SimpleUploadedFile("contacts.csv", f"{header}\n{row}\n".encode(), content_type="text/csv")
    response = marketer_client.post(reverse("leads:import_new"), {"file": upload})
    assert response.status_code == 302
    page = marketer_client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert live_markup(html) == []
    assert escape(attacks[0]) in html


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
