"""SSRF: every spelling of an address on this machine, its network or the cloud's metadata
service, and every scheme or userinfo trick, is refused when a webhook step is saved (through
the API and the builder page, with a message on the step's url) and again when the delivery is
sent, when a name that was public may have been re-pointed at a private address (DNS rebinding).
Names resolve through a table (the guard's `resolve` seam), never through the network."""

import pytest
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from playbooks.models import Playbook, WebhookDelivery
from playbooks.outgoing import services
from playbooks.outgoing.safety import url_refusal
from tests.bad_input import PRIVATE_ANSWERS, PUBLIC_ADDRESS, REDIRECT_TARGETS, SSRF, live_markup
from tests.playbooks.outgoing.receiver import Receiver, resolver

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status
PUBLIC = resolver({"hooks.example.com": [PUBLIC_ADDRESS], **{name: [PUBLIC_ADDRESS] for name in PRIVATE_ANSWERS}})
REBOUND = resolver({name: [address] for name, address in PRIVATE_ANSWERS.items()})


def playbook_with_webhook(url: str) -> dict:
    return {
        "name": "Tell the CRM",
        "trigger": {"type": "stage_entered", "stage": "mql"},
        "steps": [{"type": "webhook", "key": "hook", "url": url}],
    }


@pytest.fixture(autouse=True)
def _no_allow_list(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []


@pytest.mark.parametrize(("url", "phrase"), SSRF)
def test_the_guard_refuses_each_spelling_saying_why(url, phrase):
    refused = url_refusal(url, resolve=PUBLIC)
    assert refused is not None and phrase in refused, refused


@pytest.mark.parametrize(("url", "phrase"), SSRF)
def test_a_webhook_step_with_each_spelling_is_a_400_on_the_steps_url(marketer, url, phrase):
    client = APIClient()
    client.force_authenticate(marketer)
    response = client.post("/api/v1/playbooks/", playbook_with_webhook(url), format="json")
    assert response.status_code == 400
    said = " ".join(text for field, texts in response.json().items() if field == "steps.0.url" for text in texts)
    # This path resolves through the machine's own resolver, which has no network in tests: a
    # public name is refused as unresolvable before its scheme is judged, a refusal all the same.
    assert phrase in said or (phrase == "Use https://" and "does not resolve" in said), response.json()
    assert not Playbook.objects.exists()


@pytest.mark.parametrize(("url", "phrase"), SSRF[:12])
def test_an_existing_playbook_cannot_be_changed_to_call_it(marketer, url, phrase):
    client = APIClient()
    client.force_authenticate(marketer)
    created = client.post("/api/v1/playbooks/", playbook_with_webhook("https://93.184.216.34/hook"), format="json")
    assert created.status_code == 201
    changed = client.patch(f"/api/v1/playbooks/{created.json()['id']}/", playbook_with_webhook(url), format="json")
    assert changed.status_code == 400
    assert Playbook.objects.get().steps[0]["url"] == "https://93.184.216.34/hook"


@pytest.mark.parametrize(("name", "address"), PRIVATE_ANSWERS.items())
def test_a_name_public_when_saved_and_private_when_sent_is_refused_without_a_connection(name, address):
    url = f"https://{name}/hook"
    assert services.webhook_step_errors({"type": "webhook", "url": url}, resolve=PUBLIC) == {}
    delivery = services.webhook_queue(url=url, payload={"event": "playbook.step"})

    assert services.webhook_deliver(delivery_id=delivery.pk, resolve=REBOUND) == Status.FAILED

    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Refused, not sent") and address.split(":")[-1] in delivery.last_error


@pytest.mark.parametrize(("url", "_"), SSRF)
def test_a_delivery_row_holding_any_spelling_is_refused_at_send_time(url, _):
    # A row written before the guard, or by hand: the send checks again and connects nowhere.
    delivery = services.webhook_queue(url="https://hooks.example.com/hook", payload={"event": "x"})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(url=url)

    assert services.webhook_deliver(delivery_id=delivery.pk, resolve=PUBLIC) == Status.FAILED

    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Refused, not sent"), delivery.last_error


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
def test_a_receiver_redirecting_elsewhere_is_not_followed(settings, target):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]  # the test receiver itself, on this machine
    with Receiver() as receiver:
        receiver.replies = [(302, {"Location": target})] * 6
        delivery = services.webhook_queue(url=receiver.url(), payload={"event": "x"})
        services.webhook_deliver(delivery_id=delivery.pk)
        assert len(receiver.requests) == 1  # one post, and nothing fetched from where it pointed
    delivery.refresh_from_db()
    assert delivery.status != Status.DELIVERED and target in delivery.last_error


def builder_fields(url: str) -> dict:
    return {
        "name": "Tell the CRM",
        "trigger_type": "stage_entered",
        "trigger_stage": "mql",
        "reentry": "never",
        "step_count": 1,
        "s0-type": "webhook",
        "s0-key": "hook",
        "s0-url": url,
        "action": "save",
    }


def test_the_builder_page_saves_a_public_address(marketer_client):
    response = marketer_client.post(reverse("playbooks:playbook-new"), builder_fields("https://93.184.216.34/hook"))
    assert response.status_code == 302
    assert Playbook.objects.get().steps[0]["url"] == "https://93.184.216.34/hook"


@pytest.mark.parametrize(("url", "phrase"), [row for row in SSRF if "example.com" not in row[0]])
def test_the_builder_page_refuses_each_spelling_with_a_400_beside_the_step(marketer_client, url, phrase):
    response = marketer_client.post(reverse("playbooks:playbook-new"), builder_fields(url))
    assert response.status_code == 400
    assert escape(phrase) in response.content.decode()
    assert live_markup(response.content.decode()) == []  # a javascript: URL is shown back as text
    assert not Playbook.objects.exists()
