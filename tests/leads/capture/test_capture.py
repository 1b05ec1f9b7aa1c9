import json
import secrets
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from leads.capture.services import HONEYPOT_FIELD
from leads.models import CaptureForm, Event, Lead
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def make_form(**overrides) -> CaptureForm:
    values = {
        "name": "Spring webinar",
        "key": secrets.token_urlsafe(12),
        "fields": ["email", "first_name", "company"],
        "required_fields": ["email", "first_name"],
        **overrides,
    }
    return CaptureForm.objects.create(**values)


@pytest.fixture
def form() -> CaptureForm:
    return make_form()


def endpoint(form: CaptureForm) -> str:
    return reverse("api-capture", args=[form.key])


def post_json(client: Client, form: CaptureForm, body) -> object:
    return client.post(endpoint(form), json.dumps(body), content_type="application/json")


# --- JSON submissions -------------------------------------------------------------------


def test_json_submission_creates_the_lead_and_a_form_submitted_event(client, form):
    body = {
        "email": "Ana@Acme.io",
        "first_name": "Ana",
        "company": "Acme",
        "utm_source": "linkedin",
        "utm_campaign": "spring",
        "referrer": "https://blog.example.com/post",
        "referral_code": "FRIEND42",
    }
    response = post_json(client, form, body)
    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company, lead.source) == ("ana@acme.io", "Ana", "Acme", "linkedin")
    stored = Event.objects.get()
    assert stored.type == "form_submitted"
    assert stored.properties == {
        "form": form.key,
        "utm_source": "linkedin",
        "utm_campaign": "spring",
        "referrer": "https://blog.example.com/post",
        "referral_code": "FRIEND42",
    }


def test_a_second_submission_with_the_same_email_dedupes_to_one_lead(client, form):
    post_json(client, form, {"email": "ana@acme.io", "first_name": "Ana"})
    post_json(client, form, {"email": " ANA@acme.io", "first_name": "Anita", "company": "Acme"})
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company) == ("Ana", "Acme")
    assert Event.objects.filter(lead=lead, type="form_submitted").count() == 2


def test_json_errors_come_back_per_field(client, form):
    response = post_json(client, form, {"email": "not-an-email", "first_name": ""})
    assert response.status_code == 400
    assert set(response.json()) == {"email", "first_name"}
    assert response.json()["first_name"] == ["This field is required."]
    assert Lead.objects.count() == 0


def test_an_edited_form_is_validated_by_its_new_fields(client, form):
    """Each process keeps a validator per form shape; an edit must never meet the old one."""
    assert post_json(client, form, {"email": "a@acme.io", "first_name": "Ana"}).status_code == 200
    form.required_fields = ["email", "first_name", "company"]
    form.save()
    response = post_json(client, form, {"email": "b@acme.io", "first_name": "Bo"})
    assert response.status_code == 400 and response.json()["company"] == ["This field is required."]


def test_email_is_required(client, form):
    response = post_json(client, form, {"first_name": "Ana"})
    assert response.json()["email"] == ["This field is required."]


def test_only_the_forms_own_fields_are_read(client, form):
    post_json(client, form, {"email": "a@acme.io", "first_name": "Ana", "title": "CEO", "owner": 1, "stage": "sql"})
    lead = Lead.objects.get()
    assert (lead.title, lead.stage, lead.owner) == ("", "lead", None)


def test_a_json_body_that_is_not_an_object_is_a_400(client, form):
    assert post_json(client, form, ["a@acme.io"]).status_code == 400


def test_malformed_json_is_a_400_json_reply(client, form):
    response = client.post(endpoint(form), '{"email": ', content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_consent_is_recorded_when_the_form_asks_for_it(client):
    form = make_form(consent_text="Send me product news.")
    post_json(client, form, {"email": "a@acme.io", "first_name": "Ana", "consent": True})
    lead = Lead.objects.get()
    assert lead.consent and lead.consent_at


def test_consent_is_ignored_when_the_form_does_not_ask(client, form):
    post_json(client, form, {"email": "a@acme.io", "first_name": "Ana", "consent": True})
    assert Lead.objects.get().consent is False


def test_the_forms_campaign_is_credited(client):
    campaign = CampaignFactory(utm_campaign="spring-webinar")
    form = make_form(campaign=campaign)
    post_json(client, form, {"email": "a@acme.io", "first_name": "Ana"})
    assert Lead.objects.get().first_campaign == campaign
    assert Event.objects.get().campaign == campaign


def test_markup_is_stored_and_never_echoed_back(client, form):
    script = "<script>alert(1)</script>"
    response = post_json(client, form, {"email": "a@acme.io", "first_name": script, "company": "<b>Acme</b>"})
    assert script not in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company) == (script, "<b>Acme</b>")


# --- Browser (form-encoded) submissions -------------------------------------------------


def test_browser_post_redirects_to_our_thank_you_page(client, form):
    response = client.post(endpoint(form), {"email": "a@acme.io", "first_name": "Ana", "utm_source": "news"})
    assert response.status_code == 303
    assert response.url == reverse("capture-thanks", args=[form.key])
    assert Lead.objects.get().source == "news"
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Thank you" in page.content.decode()


def test_browser_post_redirects_to_the_forms_thank_you_url(client):
    form = make_form(thank_you_url="https://acme.example.com/thanks")
    response = client.post(endpoint(form), {"email": "a@acme.io", "first_name": "Ana"})
    assert (response.status_code, response.url) == (303, "https://acme.example.com/thanks")


def test_browser_post_needs_no_csrf_token(form):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(endpoint(form), {"email": "a@acme.io", "first_name": "Ana"}).status_code == 303


def test_a_form_encoded_post_asking_for_json_gets_json(client, form):
    response = client.post(endpoint(form), {"email": "a@acme.io", "first_name": "Ana"}, HTTP_ACCEPT="application/json")
    assert (response.status_code, response.json()) == (200, {"status": "received"})


def test_browser_errors_re_render_the_page_with_escaped_values(client, form):
    script = "<script>alert(1)</script>"
    response = client.post(endpoint(form), {"email": "nope", "first_name": script, "utm_source": '"><svg onload=x>'})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert script not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<svg" not in html
    assert 'aria-invalid="true"' in html
    assert Lead.objects.count() == 0


# --- Honeypot, rate limit, unknown keys -------------------------------------------------


def test_a_filled_honeypot_gets_the_same_reply_and_stores_nothing(client, form):
    body = {"email": "bot@spam.io", "first_name": "Bot", HONEYPOT_FIELD: "http://spam.example"}
    assert post_json(client, form, body).json() == {"status": "received"}
    browser = client.post(endpoint(form), body)
    assert (browser.status_code, browser.url) == (303, reverse("capture-thanks", args=[form.key]))
    assert Lead.objects.count() == 0
    assert Event.objects.count() == 0


def test_the_rate_limit_answers_429_with_a_message(client, settings):
    settings.CAPTURE_RATE_LIMIT = 3
    form = make_form()
    for n in range(3):
        assert post_json(client, form, {"email": f"a{n}@acme.io", "first_name": "A"}).status_code == 200
    response = post_json(client, form, {"email": "late@acme.io", "first_name": "A"})
    assert response.status_code == 429
    assert "Wait a minute" in response.json()["detail"]
    assert response["Retry-After"] == "60"
    assert not Lead.objects.filter(email="late@acme.io").exists()
    browser = client.post(endpoint(form), {"email": "late@acme.io", "first_name": "A"})
    assert browser.status_code == 429
    assert "Wait a minute" in browser.content.decode()


def test_the_rate_limit_is_per_address_and_per_form(client, settings):
    settings.CAPTURE_RATE_LIMIT = 1
    first, second = make_form(), make_form()
    assert post_json(client, first, {"email": "a@acme.io", "first_name": "A"}).status_code == 200
    assert post_json(client, second, {"email": "a@acme.io", "first_name": "A"}).status_code == 200
    other_ip = client.post(
        endpoint(first),
        json.dumps({"email": "b@acme.io", "first_name": "B"}),
        content_type="application/json",
        REMOTE_ADDR="10.1.2.3",
    )
    assert other_ip.status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(client, settings):
    settings.CAPTURE_RATE_LIMIT = 1
    form = make_form()
    for n in range(2):
        response = client.post(
            endpoint(form),
            json.dumps({"email": f"a{n}@acme.io", "first_name": "A"}),
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    assert response.status_code == 429


def test_an_unknown_key_is_404(client):
    assert client.post("/api/v1/capture/no-such-form/", {"email": "a@acme.io"}).status_code == 404
    assert client.get("/f/no-such-form/").status_code == 404
    assert client.get("/f/no-such-form/thanks/").status_code == 404


def test_an_inactive_form_is_404(client):
    form = make_form(is_active=False)
    assert post_json(client, form, {"email": "a@acme.io", "first_name": "A"}).status_code == 404
    assert client.get(reverse("capture-page", args=[form.key])).status_code == 404
    assert Lead.objects.count() == 0


# --- Hosted page ------------------------------------------------------------------------


def test_the_hosted_page_renders_the_fields_with_labels_and_hidden_utm_values(client, form):
    response = client.get(reverse("capture-page", args=[form.key]), {"utm_source": "news", "referral_code": "R1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'action="{reverse("api-capture", args=[form.key])}"' in html
    for name in ("email", "first_name", "company"):
        assert f'<label for="cf-{name}"' in html
        assert f'name="{name}"' in html
    assert 'name="title"' not in html
    assert '<input type="hidden" name="utm_source" value="news">' in html
    assert '<input type="hidden" name="referral_code" value="R1">' in html
    assert '<input type="hidden" name="referrer" value="">' in html
    assert f'name="{HONEYPOT_FIELD}"' in html
    assert "js/forms.js" in html
    assert "<script>" not in html  # no inline script


def test_the_hosted_page_escapes_query_values_and_form_text(client):
    form = make_form(name="<i>Webinar</i>", consent_text="<b>Yes</b>, email me")
    response = client.get(reverse("capture-page", args=[form.key]), {"utm_source": '"><script>alert(1)</script>'})
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;i&gt;Webinar&lt;/i&gt;" in html
    assert "&lt;b&gt;Yes&lt;/b&gt;, email me" in html
    assert '<label for="cf-consent">' in html


def test_the_hosted_page_shows_inside_the_app_for_a_logged_in_marketer(marketer_client, form):
    response = marketer_client.get(reverse("capture-page", args=[form.key]))
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_a_submission_for_a_known_lead_keeps_its_owner(client, form, rep):
    LeadFactory(email="known@acme.io", owner=rep)
    post_json(client, form, {"email": "known@acme.io", "first_name": "K"})
    assert Lead.objects.get().owner == rep


# --- Concurrency (PostgreSQL) -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_identical_submissions_at_once_make_one_lead_and_twenty_events(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    settings.CAPTURE_RATE_LIMIT = 1_000
    form = make_form()
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def submit() -> None:
        try:
            barrier.wait()
            response = Client().post(
                endpoint(form),
                json.dumps({"email": "same@acme.io", "first_name": "Same"}),
                content_type="application/json",
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert Lead.objects.filter(email="same@acme.io").count() == 1
    assert Event.objects.filter(type="form_submitted").count() == 20


def test_an_oversize_body_is_refused_before_it_is_read(client, form):
    body = json.dumps({"email": "a@acme.io", "first_name": "A", "company": "x" * 70_000})
    response = client.post(endpoint(form), body, content_type="application/json")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert Lead.objects.count() == 0
