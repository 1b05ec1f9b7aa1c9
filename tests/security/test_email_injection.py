"""Email template variables: whatever a lead typed into a form reaches a message as text. It is
escaped in element text and attributes, never evaluated as a template, never a header of its
own; and a template may not begin a link with a lead's text, which could make it javascript:."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from leads.models import Lead
from playbooks.email import services
from playbooks.models import EmailTemplate, TemplateKind
from tests.bad_input import XSS, XSS_URL, live_markup
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

# Every variable a lead's text fills, in element text, quoted attributes and a link's query.
BODY = """<html><body>
<h1 title="{{ first_name }}">Hi {{ first_name }} {{ last_name }}</h1>
<p class='{{ company }}'>From {{ company }}, {{ title }}: {{ full_name }}.</p>
<p><a href="https://example.com/guide?who={{ company }}">Read the guide</a></p>
</body></html>"""


def template(marketer, body: str = BODY, subject: str = "News for {{ first_name }} at {{ company }}") -> EmailTemplate:
    data = {"name": "Newsletter", "kind": TemplateKind.PROMOTIONAL, "subject": subject, "body": body}
    return services.template_save(data=data, by=marketer)


@pytest.mark.parametrize("payload", [text for text in XSS if "\x00" not in text])
def test_a_leads_text_is_inert_in_the_message_it_receives(marketer, payload):
    lead = LeadFactory(first_name=payload, last_name=payload, company=payload, title=payload, consent=True)
    email = services.email_queue(lead=lead, template=template(marketer), cause="test")
    email.refresh_from_db()
    assert email.status == email.Status.QUEUED
    assert live_markup(email.html) == [], email.html
    assert "\n" not in email.subject and "\r" not in email.subject
    if "{{" in payload:  # never evaluated: the lead's braces are shown as typed
        assert payload in email.text and "14" not in email.text


def test_a_line_break_in_a_leads_name_cannot_add_a_header(marketer):
    lead = LeadFactory(first_name="Ann\r\nBcc: victim@example.com\r\n", company="Acme\nX-Evil: 1", consent=True)
    email = services.email_queue(lead=lead, template=template(marketer), cause="test")
    services.outbox_send(email_id=email.pk)
    [sent] = mail.outbox
    assert sent.bcc == [] and sent.recipients() == [lead.email]
    message = sent.message()
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "News for Ann Bcc: victim@example.com at Acme X-Evil: 1"


@pytest.mark.parametrize(
    "body",
    [
        '<a href="{{ company }}">Your site</a>',
        "<a href='{{first_name}}'>x</a>",
        "<a href={{ title }}>x</a>",
        '<img src="{{ last_name }}" alt="">',
        '<form action=" {{ full_name }}"><button>Go</button></form>',
        '<a HREF = "{{ email }}/x">x</a>',
    ],
)
def test_a_template_may_not_begin_a_link_with_a_leads_text(marketer, body):
    with pytest.raises(ValidationError) as refused:
        template(marketer, body=body)
    [message] = refused.value.message_dict["body"]
    assert "cannot begin a link" in message and "https://" in message
    assert not EmailTemplate.objects.exists()


def test_the_api_answers_a_link_begun_with_a_leads_text_with_a_400_on_the_body(marketer):
    client = APIClient()
    client.force_authenticate(marketer)
    body = {"name": "Site", "kind": "promotional", "subject": "Hi", "body": '<a href="{{ company }}">x</a>'}
    response = client.post("/api/v1/email-templates/", body, format="json")
    assert response.status_code == 400
    assert "cannot begin a link" in response.json()["body"][0]


@pytest.mark.parametrize("link", ["{{ unsubscribe_url }}", "{{ referral_url }}", "{{ nps_url }}?score=10"])
def test_the_products_own_links_may_begin_a_link(marketer, link):
    saved = template(marketer, body=f'<p><a href="{link}">Here</a> for {{{{ first_name }}}}</p>')
    assert saved.pk


@pytest.mark.parametrize("url", XSS_URL)
def test_a_javascript_link_in_a_leads_text_stays_text_in_a_links_query(marketer, url):
    lead = LeadFactory(company=url, consent=True)
    email = services.email_queue(lead=lead, template=template(marketer), cause="test")
    email.refresh_from_db()
    assert live_markup(email.html) == []
    assert Lead.objects.get(pk=lead.pk).company == url  # stored as given
