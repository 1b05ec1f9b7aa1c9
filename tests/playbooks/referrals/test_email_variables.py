"""The two email variables that carry a lead's links, {{ referral_url }} and {{ nps_url }}:
made only for a template that uses them, and followed through the click tracking."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from leads.models import Event, Lead, Stage
from playbooks.email import rendering
from playbooks.email import services as email
from playbooks.models import EmailTemplate, Referrer, TemplateKind
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def answers(lead: Lead) -> list[dict]:
    return list(Event.objects.filter(lead=lead, type="nps_answered").values_list("properties", flat=True))


LOYALTY = (
    '<p>Hi {{ first_name }}, <a href="{{ nps_url }}?score=10">would you recommend us?</a></p>'
    '<p><a href="{{ referral_url }}">Invite a friend</a></p>'
)


def loyalty_template() -> EmailTemplate:
    return EmailTemplate.objects.create(
        name="Loyalty", kind=TemplateKind.CUSTOMER, subject="Thanks, {{ first_name }}", body=LOYALTY
    )


def test_the_variables_are_known_to_templates_but_not_to_subjects(marketer):
    template = email.template_save(
        data={"name": "Ask", "kind": "customer", "subject": "Hello", "body": LOYALTY}, by=marketer
    )
    assert template.body == LOYALTY
    with pytest.raises(ValidationError) as refused:
        data = {"name": "B", "kind": "customer", "subject": "{{ nps_url }}", "body": "x"}
        email.template_save(data=data, by=marketer)
    assert "Unknown variable {{ nps_url }}" in refused.value.message_dict["subject"][0]


def test_a_sent_loyalty_email_links_through_click_tracking_to_working_pages(customer, settings):
    settings.SITE_URL = "http://testserver"
    customer.consent = True
    customer.save()
    sent = email.email_queue(lead=customer, template=loyalty_template(), cause="loyalty")
    sent.refresh_from_db()
    assert sent.status == "queued", sent.reason
    tracked = re.findall(r'href="(http://testserver/e/c/[^"]+)"', sent.html)
    assert len(tracked) == 2  # both links go through the signed click redirect

    browser = Client()
    nps_target, referral_target = (browser.get(path_of(url))["Location"] for url in tracked)
    code = Referrer.objects.get(lead=customer).code
    assert referral_target == f"http://testserver/r/{code}/"
    assert nps_target.startswith("http://testserver/r/nps/") and nps_target.endswith("/?score=10")

    question = browser.get(path_of(nps_target))
    assert question.status_code == 200 and "You chose 10 in our email" in question.content.decode()
    answered = browser.post(path_of(nps_target).split("?")[0], {"score": "10"})
    assert f"/r/{code}/" in answered.content.decode()
    assert answers(customer) == [{"score": 10, "group": "promoter"}]

    landing = browser.get(path_of(referral_target))
    assert landing.status_code == 200 and 'name="email"' in landing.content.decode()
    browser.post(path_of(referral_target), {"email": "friend@example.com"})
    assert Lead.objects.get(email="friend@example.com").source == "referral"
    assert Event.objects.filter(lead=customer, type="email_clicked").count() == 2


def test_a_non_customer_gets_an_empty_referral_link_and_no_code():
    lead = LeadFactory(stage=Stage.SQL)
    values = rendering.lead_values(lead, unsubscribe_url="#", used={"referral_url", "nps_url"})
    assert values["referral_url"] == ""
    assert values["nps_url"].startswith("http")
    assert not Referrer.objects.exists()
    preview = email.template_preview(template=loyalty_template(), lead=lead)
    assert 'href=""' in preview.html
    assert not Referrer.objects.exists()


def test_the_links_are_made_only_for_a_template_that_uses_them(customer):
    values = rendering.lead_values(customer, unsubscribe_url="#")
    assert "referral_url" not in values and "nps_url" not in values
    plain = EmailTemplate.objects.create(name="Plain", kind=TemplateKind.CUSTOMER, subject="Hi", body="<p>Hi</p>")
    email.template_preview(template=plain, lead=customer)
    assert not Referrer.objects.exists()


def test_a_preview_shows_the_referral_link_but_a_dead_nps_link(customer):
    preview = email.template_preview(template=loyalty_template(), lead=customer)
    code = Referrer.objects.get(lead=customer).code
    assert f"/r/{code}/" in preview.html
    assert 'href="#nps?score=10"' in preview.html  # a tester's answer must not count as the lead's
