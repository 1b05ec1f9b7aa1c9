import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Event, Lead, ScoringRule

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


@pytest.fixture
def integration(marketer) -> APIClient:
    """An integration is a Marketing user with a token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=marketer).key}")
    return client


def event(n: int = 0, **overrides) -> dict:
    return {
        "idempotency_key": f"key-{n}",
        "email": f"lead{n}@acme.io",
        "type": "page_viewed",
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "properties": {"page": "/pricing"},
        **overrides,
    }


def post(client: APIClient, body) -> object:
    return client.post(URL, json.dumps(body), content_type="application/json")


def test_one_event_creates_its_lead_and_replies_201_with_counts(integration):
    response = post(integration, event(lead={"first_name": "Ana", "company": "Acme"}))
    assert response.status_code == 201
    assert response.json() == {"created": 1, "duplicates": 0, "leads_created": 1, "erased": 0}
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company) == ("lead0@acme.io", "Ana", "Acme")
    stored = Event.objects.get()
    assert (stored.type, stored.properties, stored.lead) == ("page_viewed", {"page": "/pricing"}, lead)


def test_events_for_a_known_email_join_its_lead(integration):
    post(integration, event(0))
    response = post(integration, event(1, email=" LEAD0@acme.io "))
    assert response.json() == {"created": 1, "duplicates": 0, "leads_created": 0, "erased": 0}
    assert Lead.objects.count() == 1
    assert Event.objects.count() == 2


def test_a_batch_is_stored_whole(integration):
    response = post(integration, [event(n) for n in range(5)])
    assert response.status_code == 201
    assert response.json() == {"created": 5, "duplicates": 0, "leads_created": 5, "erased": 0}


def test_a_repeated_key_is_accepted_and_stored_once(integration):
    assert post(integration, event(7)).status_code == 201
    again = post(integration, event(7))
    assert again.status_code == 200
    assert again.json() == {"created": 0, "duplicates": 1, "leads_created": 0, "erased": 0}
    assert Event.objects.count() == 1


def test_the_same_key_twice_in_one_batch_is_stored_once(integration):
    response = post(integration, [event(1), event(1)])
    assert response.json() == {"created": 1, "duplicates": 1, "leads_created": 1, "erased": 0}
    assert Event.objects.count() == 1


def test_a_repeat_adds_no_points(integration):
    ScoringRule.objects.create(name="Views", event_type="page_viewed", points=5)
    post(integration, event(3))
    post(integration, event(3))
    assert Lead.objects.get().score == 5


def test_batch_with_one_bad_item_stores_nothing_and_names_the_index(integration):
    batch = [event(n) for n in range(5)]
    batch[3]["occurred_at"] = "2026-13-45T10:00:00Z"
    response = post(integration, batch)
    assert response.status_code == 400
    body = response.json()
    assert list(body["items"]) == ["3"]
    assert "occurred_at" in body["items"]["3"]
    assert "none was stored" in body["detail"]
    assert Event.objects.count() == 0
    assert Lead.objects.count() == 0


def test_every_bad_item_is_named(integration):
    batch = [event(n) for n in range(4)]
    batch[0]["email"] = "nope"
    batch[2]["type"] = "Page Viewed!"
    batch[3] = "not an object"
    items = post(integration, batch).json()["items"]
    assert set(items) == {"0", "2", "3"}
    assert "email" in items["0"]
    assert "type" in items["2"]


def test_a_naive_timestamp_is_refused(integration):
    response = post(integration, event(occurred_at="2026-03-01T10:00:00"))
    assert response.status_code == 400
    assert "time zone" in response.json()["occurred_at"][0]
    assert Event.objects.count() == 0


def test_a_time_more_than_a_day_ahead_is_refused(integration):
    far = (timezone.now() + timedelta(days=2)).isoformat()
    near = (timezone.now() + timedelta(hours=2)).isoformat()
    assert "future" in post(integration, event(1, occurred_at=far)).json()["occurred_at"][0]
    assert post(integration, event(2, occurred_at=near)).status_code == 201


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "1970-01-01T00:00:00Z", 1700000000, "yesterday"])
def test_impossible_times_are_a_400_not_a_500(integration, when):
    response = post(integration, event(occurred_at=when))
    assert response.status_code == 400
    assert "occurred_at" in response.json()


def test_1001_items_are_refused_naming_the_limit(integration):
    response = post(integration, [event(n) for n in range(1001)])
    assert response.status_code == 400
    assert "at most 1000" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_1000_items_are_accepted(integration):
    response = post(integration, [event(n, email="bulk@acme.io") for n in range(1000)])
    assert response.status_code == 201
    assert response.json()["created"] == 1000


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (["a", "b"], "object"),
        ("page=/pricing", "object"),
        ({"blob": "x" * 9000}, "larger"),
        ({"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}, "deep"),
        ({"text": "nul\x00here"}, "NUL"),
        ({"nul\x00key": 1}, "NUL"),
        ({"text": "lone \ud800 half"}, "surrogate"),
        ({"lone \udfff key": 1}, "surrogate"),
    ],
)
def test_properties_must_be_a_small_object(integration, properties, message):
    response = post(integration, event(properties=properties))
    assert response.status_code == 400
    assert message in response.json()["properties"][0]


def test_a_number_too_large_to_store_is_a_400_and_nothing_is_stored(integration):
    # 1e400 is valid JSON text but parses to infinity, which the database cannot hold.
    body = json.dumps([event(0), event(1)]).replace('"/pricing"', "1e400", 1)
    response = integration.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["items"]["0"]["properties"] == ["Value must be valid JSON."]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("event_type", ["", "Page_Viewed", "page viewed", "x" * 65, "<script>", "-start"])
def test_type_must_be_a_short_slug(integration, event_type):
    response = post(integration, event(type=event_type))
    assert response.status_code == 400
    assert "type" in response.json()


def test_missing_fields_are_each_named(integration):
    response = post(integration, {"properties": {}})
    assert response.status_code == 400
    assert set(response.json()) >= {"idempotency_key", "email", "type", "occurred_at"}


@pytest.mark.parametrize("body", ["", "[]", '"text"', "42", "[1, 2"])
def test_bodies_that_are_not_events_are_a_400_json(integration, body):
    response = integration.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()


def test_an_oversize_body_is_refused(integration, monkeypatch):
    monkeypatch.setattr("leads.capture.api.EVENTS_MAX_BYTES", 1_000)
    response = post(integration, [event(n) for n in range(20)])
    assert response.status_code == 413
    assert "limit is 1000" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_form_encoded_bodies_are_refused_as_unsupported(integration):
    response = integration.post(URL, {"email": "a@b.io"})
    assert response.status_code == 415


def test_lead_attributes_are_validated_too(integration):
    response = post(integration, event(lead={"company_size": "many", "country": "Spain"}))
    assert set(response.json()["lead"]) == {"company_size", "country"}


def test_markup_in_properties_is_stored_as_given(integration):
    post(integration, event(properties={"title": "<img src=x onerror=alert(1)>"}))
    assert Event.objects.get().properties == {"title": "<img src=x onerror=alert(1)>"}


def test_rep_cannot_post_events(rep):
    client = APIClient()
    client.force_authenticate(rep)
    assert post(client, event()).status_code == 403
    assert Event.objects.count() == 0


def test_events_without_a_token_are_401():
    assert post(APIClient(), event()).status_code == 401
    assert Event.objects.count() == 0


def test_manager_may_post_events(manager):
    client = APIClient()
    client.force_authenticate(manager)
    assert post(client, event()).status_code == 201
