"""Referral codes and the page a referral link leads to: who gets a code, what a visitor's
submission captures, and who is credited for it."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from leads.capture.services import HONEYPOT_FIELD
from leads.models import Campaign, CaptureForm, Channel, Event, Lead, Stage
from playbooks.models import Referral, Referrer
from playbooks.referrals import services
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

CODE = re.compile(rf"^[{services.CODE_ALPHABET}]{{8}}$")


def landing(code: str) -> str:
    return reverse("referrals:landing", args=[code])


def without_csrf(page: bytes) -> str:
    """A page without its CSRF token, which differs on every response."""
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", page.decode())


def friend(**overrides: object) -> dict:
    return {
        "email": "Bea.Friend@Example.com ",
        "first_name": "Bea",
        "last_name": "Friend",
        "company": "Friend & Co",
        "consent": "on",
        **overrides,
    }


# --- Codes ------------------------------------------------------------------------------


def test_a_customer_gets_one_code_kept_for_good(customer):
    first = services.referrer_for(customer)
    assert CODE.match(first.code), first.code
    assert services.referrer_for(customer) == first
    assert Referrer.objects.count() == 1


def test_codes_are_unique_and_avoid_look_alike_characters():
    leads = LeadFactory.create_batch(200, stage=Stage.EVANGELIST)
    codes = [services.referrer_for(lead).code for lead in leads]
    assert len(set(codes)) == 200
    assert all(CODE.match(code) for code in codes)
    assert not set("".join(codes)) & set("01ILO")


def test_a_code_that_is_taken_is_drawn_again(customer, monkeypatch):
    taken = services.referrer_for(LeadFactory(stage=Stage.CUSTOMER)).code
    draws = iter([taken, "ABCDEFGH"])
    monkeypatch.setattr(services, "new_code", lambda: next(draws))
    assert services.referrer_for(customer).code == "ABCDEFGH"


@pytest.mark.parametrize("stage", [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.DISQUALIFIED])
def test_only_customers_and_evangelists_may_have_a_code(stage):
    lead = LeadFactory(stage=stage)
    with pytest.raises(ValidationError) as refused:
        services.referrer_for(lead)
    assert "Only a customer or an evangelist" in refused.value.message_dict["lead"][0]
    with pytest.raises(ValidationError):
        services.referral_url(lead)
    assert not Referrer.objects.exists()


def test_the_referral_link_is_absolute_and_names_the_code(customer, settings):
    settings.SITE_URL = "https://crm.example.com/"
    code = services.referrer_for(customer).code
    assert services.referral_url(customer) == f"https://crm.example.com/r/{code}/"


# --- The referral page ------------------------------------------------------------------


def test_the_page_shows_a_form_with_consent(visitor, code):
    response = visitor.get(landing(code))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("email", "first_name", "last_name", "company", "consent", HONEYPOT_FIELD):
        assert f'name="{name}"' in page
    assert services.CONSENT_TEXT in page
    assert "ana@customer.example" not in page  # the referrer is not named to strangers


def test_a_new_lead_is_captured_from_the_referral_and_credited_pending(visitor, customer, code, settings):
    settings.REFERRAL_CREDIT = Decimal("75.00")
    response = visitor.post(landing(code), friend())
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:thanks", args=[code])

    lead = Lead.objects.get(email="bea.friend@example.com")
    campaign = Campaign.objects.get(name="Referral programme")
    assert campaign.channel == Channel.REFERRAL
    assert (lead.source, lead.first_campaign, lead.first_name, lead.company) == (
        "referral",
        campaign,
        "Bea",
        "Friend & Co",
    )
    assert lead.consent is True
    event = Event.objects.get(lead=lead)
    assert (event.type, event.campaign) == ("form_submitted", campaign)
    assert event.properties["referral_code"] == code
    form = CaptureForm.objects.get(campaign=campaign)
    assert event.properties["form"] == form.key and form.name == "Referral"

    referral = Referral.objects.get()
    assert (referral.referrer.lead, referral.lead, referral.status) == (customer, lead, Referral.Status.PENDING)
    assert referral.credit == Decimal("75.00")


def test_the_second_referral_reuses_the_campaign_and_its_form(visitor, code):
    visitor.post(landing(code), friend())
    visitor.post(landing(code), friend(email="carl@example.com"))
    assert Campaign.objects.filter(channel=Channel.REFERRAL).count() == 1
    assert CaptureForm.objects.count() == 1
    assert Referral.objects.count() == 2


def test_a_campaign_of_that_name_made_by_hand_is_used_and_given_its_utm(visitor, code):
    made = CampaignFactory(name="referral PROGRAMME", channel=Channel.REFERRAL, utm_campaign="")
    visitor.post(landing(code), friend())
    made.refresh_from_db()
    assert made.utm_campaign == services.PROGRAMME_UTM
    assert Lead.objects.get(email="bea.friend@example.com").first_campaign == made


def test_an_address_we_knew_is_not_credited_and_the_page_says_the_same(visitor, code):
    known = LeadFactory(email="bea.friend@example.com", source="webinar", first_name="")
    new = visitor.post(landing(code), friend(email="new.person@example.com"), follow=True)
    old = visitor.post(landing(code), friend(), follow=True)
    assert new.status_code == old.status_code == 200
    assert without_csrf(new.content) == without_csrf(old.content)
    assert "Thank you" in old.content.decode()
    assert list(Referral.objects.values_list("lead__email", flat=True)) == ["new.person@example.com"]
    known.refresh_from_db()
    assert known.source == "webinar"  # the first touch stays what it was
    assert known.first_name == "Bea"  # a blank field is filled, as any form does
    assert Event.objects.filter(lead=known, type="form_submitted").count() == 1  # the touch is kept


def test_a_referrer_referring_themself_is_not_credited(visitor, customer, code):
    response = visitor.post(landing(code), friend(email="ANA@customer.example"))
    assert response.status_code == 302
    assert not Referral.objects.exists()
    assert Lead.objects.count() == 1


def test_a_lowercase_code_is_the_same_code(visitor, code):
    assert visitor.post(landing(code.lower()), friend()).status_code == 302
    assert Referral.objects.count() == 1


def test_an_unknown_code_is_a_404_page_that_says_so(visitor, db):
    for response in (visitor.get(landing("NOSUCH23")), visitor.post(landing("NOSUCH23"), friend())):
        assert response.status_code == 404
        assert "This invitation link is not valid" in response.content.decode()
    assert visitor.get(reverse("referrals:thanks", args=["NOSUCH23"])).status_code == 404
    assert not Lead.objects.exists()


def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(visitor, code):
    response = visitor.post(landing(code), friend(email="not-an-email", first_name="x" * 500))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["email"] == ["Enter a valid email address."]
    assert "first_name" in errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert Lead.objects.count() == 1 and not Referral.objects.exists()  # the referrer alone


def test_the_honeypot_is_thanked_and_nothing_is_kept(visitor, code):
    response = visitor.post(landing(code), friend(**{HONEYPOT_FIELD: "http://spam.example"}))
    assert response.status_code == 302
    assert Lead.objects.count() == 1 and not Referral.objects.exists()  # the referrer alone


def test_the_page_is_rate_limited_per_address_like_the_capture_endpoint(visitor, client, code, settings):
    settings.CAPTURE_RATE_LIMIT = 2
    for n in range(2):
        assert visitor.post(landing(code), friend(email=f"p{n}@example.com")).status_code == 302
    refused = visitor.post(landing(code), friend(email="late@example.com"))
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "Wait a minute" in refused.content.decode()
    assert not Lead.objects.filter(email="late@example.com").exists()
    other = client.post(landing(code), friend(email="other@example.com"), REMOTE_ADDR="10.99.0.1")
    assert other.status_code == 302
