"""Signed links that work without a login: the open pixel, click redirects, the unsubscribe
page and the NPS question. A forged, tampered, cut, re-keyed or re-purposed token is a 400
that says the link is not valid, records nothing and redirects nowhere; a genuine one replayed
counts once (the first open, one click per link, the first unsubscribe moment).

The tokens carry no expiry on purpose: an unsubscribe link must keep working for as long as
the message can be read, and a late open or click only repeats what is already recorded."""

import base64
import json

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from leads.models import Event, Lead
from playbooks.email import services, tracking
from playbooks.models import OutboundEmail, TemplateKind
from playbooks.referrals import services as referrals
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
TARGET = "https://example.com/guide"


@pytest.fixture
def email(marketer) -> OutboundEmail:
    template = services.template_save(
        data={
            "name": "News",
            "kind": TemplateKind.PROMOTIONAL,
            "subject": "News",
            "body": f'<p><a href="{TARGET}">Guide</a></p>',
        },
        by=marketer,
    )
    lead = LeadFactory(consent=True)
    return services.email_queue(lead=lead, template=template, cause="test")


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def genuine(email: OutboundEmail) -> dict[str, str]:
    return {
        "email:open": token_of(tracking.open_url(email.pk)),
        "email:click": token_of(tracking.click_url(email.pk, TARGET)),
        "email:unsubscribe": token_of(tracking.unsubscribe_url(email.lead_id, email.pk)),
    }


def forgeries(token: str, salt: str, payload: dict) -> dict[str, str]:
    """What an attacker makes of a genuine token without the instance's secret."""
    unsigned = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    body, _, signature = token.rpartition(":")
    flipped = {
        f"one character changed at {at}": token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
        for at in (0, len(token) // 2, len(token) - 1)
    }
    return {
        **flipped,
        "cut short by one": token[:-1],
        "signature dropped": body,
        "signature only": signature,
        "payload without a signature": unsigned,
        "another lead's payload under this signature": f"{unsigned}:{signature}",
        "signed with another key": signing.dumps(payload, key="not-this-instances-secret-key-at-all", salt=salt),
        "signed without the purpose": signing.dumps(payload),
        "garbage": "x",
        "colons": ":::",
        "long": "A" * 4000,
    }


def assert_refused(response) -> None:
    assert response.status_code == 400
    assert "Location" not in response
    assert "not valid" in response.content.decode()


@pytest.mark.parametrize("name", ["email:open", "email:click", "email:unsubscribe"])
def test_every_forgery_of_a_token_is_a_400_and_records_nothing(email, name):
    salt = {"email:open": tracking.OPEN, "email:click": tracking.CLICK, "email:unsubscribe": tracking.UNSUBSCRIBE}
    payload = {"e": email.pk, "u": "https://evil.example/", "l": email.lead_id + 1}
    visitor = Client()
    for label, forged in forgeries(genuine(email)[name], salt[name], payload).items():
        url = reverse(name, args=[forged])
        for method in ("get", "post") if name == "email:unsubscribe" else ("get",):
            response = getattr(visitor, method)(url)
            assert response.status_code == 400, (label, method, response.status_code)
            assert_refused(response)
    assert not Event.objects.filter(type__in=["email_opened", "email_clicked"]).exists()
    assert not Lead.objects.exclude(unsubscribed_at=None).exists()
    email.refresh_from_db()
    assert (email.opened_at, email.clicked_at) == (None, None)


def test_a_token_made_for_one_purpose_is_refused_by_every_other(email, customer_lead):
    tokens = {**genuine(email), "referrals:nps": token_of(referrals.nps_url(customer_lead))}
    visitor = Client()
    for made_for, token in tokens.items():
        for used_on in tokens:
            if used_on != made_for:
                assert visitor.get(reverse(used_on, args=[token])).status_code == 400, (made_for, used_on)
    assert not Event.objects.filter(type__in=["email_opened", "email_clicked"]).exists()


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "//evil.example/", "data:text/html,x", "ftp://example.com/", "/admin/"]
)
def test_a_genuinely_signed_click_to_anything_but_a_web_address_is_refused(email, target):
    # Only the product signs click tokens, for the message's own http(s) links; even so the
    # endpoint redirects to nothing else.
    response = Client().get(reverse("email:click", args=[token_of(tracking.click_url(email.pk, target))]))
    assert_refused(response)


def test_a_shape_the_product_never_signs_is_refused(email):
    for name, salt, payload in [
        ("email:open", tracking.OPEN, {"e": str(email.pk)}),
        ("email:open", tracking.OPEN, [email.pk]),
        ("email:click", tracking.CLICK, {"e": email.pk}),
        ("email:unsubscribe", tracking.UNSUBSCRIBE, {"l": "1 OR 1=1"}),
    ]:
        assert_refused(Client().get(reverse(name, args=[signing.dumps(payload, salt=salt)])))


def test_a_replayed_open_and_click_count_once(email):
    tokens = genuine(email)
    visitor = Client()
    for _ in range(3):
        assert visitor.get(reverse("email:open", args=[tokens["email:open"]])).status_code == 200
        click = visitor.get(reverse("email:click", args=[tokens["email:click"]]))
        assert (click.status_code, click["Location"]) == (302, TARGET)
    first = OutboundEmail.objects.get(pk=email.pk)
    assert visitor.get(reverse("email:open", args=[tokens["email:open"]])).status_code == 200
    assert OutboundEmail.objects.get(pk=email.pk).opened_at == first.opened_at
    assert Event.objects.filter(type="email_opened").count() == 1
    assert Event.objects.filter(type="email_clicked").count() == 1


def test_a_replayed_unsubscribe_keeps_the_first_moment(email):
    url = reverse("email:unsubscribe", args=[genuine(email)["email:unsubscribe"]])
    visitor = Client(enforce_csrf_checks=True)
    assert visitor.post(url).status_code == 200
    first = Lead.objects.get(pk=email.lead_id).unsubscribed_at
    assert first is not None
    for _ in range(2):
        assert visitor.post(url).status_code == 200
    assert Lead.objects.get(pk=email.lead_id).unsubscribed_at == first


def test_a_token_for_a_message_or_lead_that_is_gone_records_nothing_and_fails_no_one(email):
    tokens = genuine(email)
    lead_id = email.lead_id
    OutboundEmail.objects.filter(pk=email.pk).delete()
    Lead.objects.filter(pk=lead_id).delete()
    visitor = Client()
    assert visitor.get(reverse("email:open", args=[tokens["email:open"]])).status_code == 200  # the pixel
    assert visitor.get(reverse("email:click", args=[tokens["email:click"]]))["Location"] == TARGET
    assert visitor.post(reverse("email:unsubscribe", args=[tokens["email:unsubscribe"]])).status_code == 200
    assert not Event.objects.exists()


@pytest.fixture
def customer_lead() -> Lead:
    return LeadFactory(stage="customer", consent=True)


def test_every_forgery_of_an_nps_token_is_a_400_and_records_no_answer(customer_lead):
    token = token_of(referrals.nps_url(customer_lead))
    payload = {"l": customer_lead.pk + 1}
    visitor = Client()
    for label, forged in forgeries(token, referrals.NPS_SALT, payload).items():
        url = reverse("referrals:nps", args=[forged])
        assert visitor.get(url).status_code == 400, label
        assert visitor.post(url, {"score": "10"}).status_code == 400, label
    assert not Event.objects.filter(lead=customer_lead).exists()


@pytest.mark.parametrize(
    "code", ["AAAAAAAA", "<script>alert(1)</script>", "' OR '1'='1", "%00", "..%2F..%2Fadmin", "x" * 300]
)
def test_a_made_up_referral_code_or_form_key_is_a_404_that_echoes_nothing(code):
    visitor = Client()
    for response in (
        visitor.get(f"/r/{code}/"),
        visitor.post(f"/r/{code}/", {"email": "a@example.com"}),
        visitor.get(f"/f/{code}/"),
        visitor.post(f"/api/v1/capture/{code}/", {"email": "a@example.com"}),
    ):
        assert response.status_code == 404, (code, response.status_code)
        assert "<script>alert(1)" not in response.content.decode()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("week", ["%00", "2026-W99", "<script>alert(1)</script>", "x" * 300, "2026-W01%00"])
def test_a_made_up_meeting_pack_week_is_a_4xx_that_echoes_nothing(manager_client, week):
    for path in (f"/reports/meeting-packs/{week}/", f"/reports/meeting-packs/{week}/csv/"):
        response = manager_client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert "<script>alert(1)" not in response.content.decode()
    response = manager_client.get(f"/api/v1/reports/meeting-packs/{week}/")
    assert 400 <= response.status_code < 500, response.status_code
