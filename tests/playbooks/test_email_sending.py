"""Email through the outbox: rendering, the rules that always hold, sending at most once,
tracking and unsubscribing, as a lead and an integration meet them."""

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from leads.models import Event, Lead, Stage
from playbooks.email import services, tracking
from playbooks.models import EmailTemplate, OutboundEmail, Suppression, TemplateKind
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
Status = OutboundEmail.Status

BODY = """<html><head><style>.cta { color: #c00; }</style></head>
<body><p>Hi {{ first_name }}, from {{ company }}.</p>
<p><a class="cta" href="https://example.com/guide?a=1&amp;b=2">Read the guide</a></p></body></html>"""


@pytest.fixture
def newsletter(marketer) -> EmailTemplate:
    data = {
        "name": "Newsletter",
        "kind": TemplateKind.PROMOTIONAL,
        "subject": "News for {{ first_name }}",
        "body": BODY,
    }
    return services.template_save(data=data, by=marketer)


@pytest.fixture
def lead() -> Lead:
    return LeadFactory(first_name="<b>Ann</b>", company="Acme & Co", consent=True)


def queued(lead: Lead, template: EmailTemplate) -> OutboundEmail:
    email = services.email_queue(lead=lead, template=template, cause="test")
    email.refresh_from_db()
    return email


def test_a_template_with_an_unknown_variable_is_refused_naming_the_known_ones(marketer):
    with pytest.raises(ValidationError) as refused:
        services.template_save(
            data={"name": "X", "kind": "promotional", "subject": "Hi {{ nope }}", "body": "{{ first_nme }}"},
            by=marketer,
        )
    errors = refused.value.message_dict
    assert "{{ nope }}" in errors["subject"][0] and "first_name" in errors["subject"][0]
    assert "{{ first_nme }}" in errors["body"][0]
    assert not EmailTemplate.objects.exists()


def test_a_template_name_is_unique_ignoring_case(newsletter, marketer):
    with pytest.raises(ValidationError) as refused:
        services.template_save(
            data={"name": "NEWSLETTER", "kind": "promotional", "subject": "s", "body": "b"}, by=marketer
        )
    assert refused.value.message_dict["name"] == ["A template with this name exists."]


def test_the_message_is_rendered_for_its_lead_escaped_inlined_tracked_and_unsubscribable(newsletter, lead):
    email = queued(lead, newsletter)
    assert email.status == Status.QUEUED and email.to_email == lead.email
    assert email.subject == "News for <b>Ann</b>"  # a header line is plain text
    assert "&lt;b&gt;Ann&lt;/b&gt;" in email.html and "<b>Ann</b>" not in email.html
    assert "Acme &amp; Co" in email.html
    assert "<style" not in email.html and 'style="color: #c00;"' in email.html  # CSS inlined
    assert "https://example.com/guide" not in email.html  # the link goes through tracking
    assert "/e/c/" in email.html and "/e/o/" in email.html and "/e/u/" in email.html
    assert "Hi <b>Ann</b>, from Acme & Co." in email.text


def test_sending_delivers_once_with_the_one_click_unsubscribe_headers(newsletter, lead):
    email = queued(lead, newsletter)
    assert services.outbox_send(email_id=email.pk) == Status.SENT
    assert services.outbox_send(email_id=email.pk) == Status.SENT  # a second delivery of the task
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [lead.email]
    assert (
        message.extra_headers["List-Unsubscribe"].startswith("<http")
        and "/e/u/" in message.extra_headers["List-Unsubscribe"]
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.alternatives[0][1] == "text/html"
    email.refresh_from_db()
    assert email.sent_at is not None and email.message_id == message.extra_headers["Message-ID"]
    assert Event.objects.filter(lead=lead, type="email_sent").count() == 1


@pytest.mark.parametrize(
    ("change", "kind", "reason"),
    [
        ({"unsubscribed_at": timezone.now()}, TemplateKind.PROMOTIONAL, "unsubscribed"),
        ({"consent": False}, TemplateKind.PROMOTIONAL, "no_consent"),
        ({"stage": Stage.OPPORTUNITY}, TemplateKind.PROMOTIONAL, "stage"),
        ({"stage": Stage.CUSTOMER}, TemplateKind.CONVERSION, "stage"),
        ({"stage": Stage.MQL}, TemplateKind.CUSTOMER, "stage"),
    ],
)
def test_the_rules_that_always_hold_refuse_with_a_reason_and_send_nothing(marketer, lead, change, kind, reason):
    Lead.objects.filter(pk=lead.pk).update(**change)
    lead.refresh_from_db()
    template = services.template_save(data={"name": "T", "kind": kind, "subject": "s", "body": "<p>b</p>"}, by=marketer)
    email = queued(lead, template)
    assert (email.status, email.reason) == (Status.SUPPRESSED, reason)
    assert services.outbox_send(email_id=email.pk) == Status.SUPPRESSED
    assert mail.outbox == []
    assert Event.objects.get(lead=lead, type="email_suppressed").properties["reason"] == reason


def test_conversion_content_still_reaches_an_opportunity(marketer, lead):
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.OPPORTUNITY)
    lead.refresh_from_db()
    template = services.template_save(
        data={"name": "Case study", "kind": "conversion", "subject": "s", "body": "b"}, by=marketer
    )
    assert queued(lead, template).status == Status.QUEUED


def test_a_bounced_address_gets_nothing_not_even_transactional(marketer, lead):
    services.address_suppress(email=lead.email.upper(), reason=Suppression.Reason.BOUNCED)
    template = services.template_save(
        data={"name": "Receipt", "kind": "transactional", "subject": "s", "body": "b"}, by=marketer
    )
    assert queued(lead, template).reason == "bounced"


def test_transactional_email_reaches_an_unsubscribed_lead_without_an_unsubscribe_header(marketer, lead):
    Lead.objects.filter(pk=lead.pk).update(unsubscribed_at=timezone.now())
    lead.refresh_from_db()
    template = services.template_save(
        data={"name": "Receipt", "kind": "transactional", "subject": "s", "body": "b"}, by=marketer
    )
    email = queued(lead, template)
    services.outbox_send(email_id=email.pk)
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers
    assert "/e/u/" not in email.html


def test_the_fourth_promotional_email_in_a_week_is_capped(newsletter, lead, settings):
    settings.EMAIL_PROMOTIONAL_PER_WEEK = 3
    statuses = [queued(lead, newsletter).status for _ in range(4)]
    assert statuses == [Status.QUEUED] * 3 + [Status.SUPPRESSED]
    assert OutboundEmail.objects.filter(reason="frequency_cap").count() == 1
    OutboundEmail.objects.update(created_at=timezone.now() - timedelta(days=8))  # a week later
    assert queued(lead, newsletter).status == Status.QUEUED


def test_a_send_interrupted_midway_is_marked_unknown_and_never_resent_by_itself(newsletter, lead):
    email = queued(lead, newsletter)
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=Status.SENDING, sending_at=timezone.now() - timedelta(minutes=11)
    )
    assert services.outbox_flush() == {"unknown": 1, "sent": 0}
    assert services.outbox_send(email_id=email.pk) == Status.UNKNOWN
    assert mail.outbox == []
    services.outbox_retry(email=OutboundEmail.objects.get(pk=email.pk))  # a person decides
    assert services.outbox_send(email_id=email.pk) == Status.SENT and len(mail.outbox) == 1


def test_the_sweep_sends_what_the_worker_never_got(newsletter, lead):
    email = queued(lead, newsletter)
    assert services.outbox_flush() == {"unknown": 0, "sent": 0}  # too fresh: the worker has it
    OutboundEmail.objects.filter(pk=email.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert services.outbox_flush() == {"unknown": 0, "sent": 1}
    assert len(mail.outbox) == 1


def test_a_sent_email_cannot_be_retried(newsletter, lead):
    email = queued(lead, newsletter)
    services.outbox_send(email_id=email.pk)
    with pytest.raises(ValidationError):
        services.outbox_retry(email=OutboundEmail.objects.get(pk=email.pk))


def test_a_mail_server_refusal_is_recorded_as_failed(newsletter, lead, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    email = queued(lead, newsletter)
    assert services.outbox_send(email_id=email.pk) == Status.FAILED
    email.refresh_from_db()
    assert email.reason == "send_error" and email.detail


def _links(html: str, kind: str) -> list[str]:
    return re.findall(rf'(https?://[^"\']+/e/{kind}/[^"\']+/)', html)


def test_an_open_is_recorded_once_as_an_event(newsletter, lead):
    email = queued(lead, newsletter)
    pixel = _links(email.html, "o")[0]
    client = Client()
    for _ in range(2):
        response = client.get(_path(pixel))
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    email.refresh_from_db()
    assert email.opened_at is not None
    assert Event.objects.filter(lead=lead, type="email_opened").count() == 1


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_a_click_redirects_to_the_link_in_the_message_and_becomes_an_event(newsletter, lead):
    email = queued(lead, newsletter)
    response = Client().get(_path(_links(email.html, "c")[0]))
    assert response.status_code == 302 and response["Location"] == "https://example.com/guide?a=1&b=2"
    event = Event.objects.get(lead=lead, type="email_clicked")
    assert event.properties["url"] == "https://example.com/guide?a=1&b=2"
    email.refresh_from_db()
    assert email.clicked_at and email.opened_at


@pytest.mark.parametrize("kind", ["c", "o", "u"])
def test_a_tampered_token_gets_a_400_and_no_redirect(newsletter, lead, kind):
    email = queued(lead, newsletter)
    path = _path(_links(email.html, kind)[0])
    forged = path[:-6] + ("A" if path[-6] != "A" else "B") + path[-5:]
    response = Client().get(forged)
    assert response.status_code == 400 and "Location" not in response
    assert not Event.objects.filter(type__in=["email_opened", "email_clicked"]).exists()


def test_a_click_token_for_another_target_cannot_be_made_from_an_open_token(newsletter, lead):
    open_token = _path(_links(queued(lead, newsletter).html, "o")[0]).split("/")[-2]
    assert Client().get(f"/e/c/{open_token}/").status_code == 400  # signed for another purpose


def test_one_click_unsubscribe_works_without_a_csrf_token_and_stops_marketing_email(newsletter, lead):
    email = queued(lead, newsletter)
    services.outbox_send(email_id=email.pk)
    url = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    client = Client(enforce_csrf_checks=True)
    page = client.get(_path(url))
    assert page.status_code == 200 and b"Unsubscribe?" in page.content
    response = client.post(_path(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and b"You are unsubscribed" in response.content
    lead.refresh_from_db()
    assert lead.is_unsubscribed
    assert queued(lead, newsletter).reason == "unsubscribed"


def test_the_api_creates_templates_with_a_message_per_field_and_lists_a_leads_emails(
    marketer_client, rep_client, newsletter, lead
):
    bad = marketer_client.post(
        "/api/v1/email-templates/",
        {"name": "", "kind": "promotional", "subject": "{{ x }}", "body": "b"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and set(bad.json()) == {"name", "subject"}
    assert EmailTemplate.objects.count() == 1
    made = marketer_client.post(
        "/api/v1/email-templates/",
        {"name": "Webinar", "kind": "conversion", "subject": "See you", "body": "<p>Hi</p>"},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["kind"] == "conversion"
    assert rep_client.get("/api/v1/email-templates/").status_code == 403
    queued(lead, newsletter)
    Lead.objects.filter(pk=lead.pk).update(consent=False)
    lead.refresh_from_db()
    queued(lead, newsletter)
    emails = marketer_client.get(f"/api/v1/leads/{lead.pk}/emails/").json()["results"]
    assert [(e["status"], e["reason"]) for e in emails] == [("suppressed", "no_consent"), ("queued", "")]
    assert emails[0]["reason_text"] == "The lead has not given consent to marketing email."
    assert rep_client.get(f"/api/v1/leads/{lead.pk}/emails/").status_code == 404  # not the rep's lead


def test_the_api_unsubscribes_a_lead_once(marketer_client, lead):
    first = marketer_client.post(f"/api/v1/leads/{lead.pk}/unsubscribe/").json()
    second = marketer_client.post(f"/api/v1/leads/{lead.pk}/unsubscribe/").json()
    assert first["unsubscribed_at"] and first == second


def test_an_email_service_bounce_webhook_suppresses_the_address(client, settings, lead):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "Email": lead.email,
        "Description": "No such mailbox",
    }
    response = client.post(
        "/email/webhooks/postmark/tracking/",
        json.dumps(bounce),
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic aG9vazpzZWNyZXQ=",
    )
    assert response.status_code == 200
    assert Suppression.objects.get(email=lead.email).reason == "bounced"
    forged = client.post("/email/webhooks/postmark/tracking/", json.dumps(bounce), content_type="application/json")
    assert forged.status_code == 400
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}  # without a secret the webhooks are off, not open
    assert (
        client.post(
            "/email/webhooks/postmark/tracking/", json.dumps(bounce), content_type="application/json"
        ).status_code
        == 404
    )


def test_every_link_token_round_trips():
    assert tracking.opened(tracking.open_url(5).split("/")[-2]) == 5
    assert tracking.clicked(tracking.click_url(5, "https://x.test/a").split("/")[-2]).url == "https://x.test/a"
    assert tracking.unsubscribing(tracking.unsubscribe_url(7, 5).split("/")[-2]) == (7, 5)
