"""/api/v1/lists/: lists and segments with their counts, a refusal per field, and a static
list's members added and removed by id or email address."""

import json

import pytest
from django.urls import reverse

from playbooks.lists import services
from playbooks.models import LeadList, ListMembership
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LISTS = reverse("api-lists")
SPAIN = {"op": "attr", "field": "country", "cmp": "in", "value": ["ES"]}


def detail(lead_list: LeadList) -> str:
    return reverse("api-list-detail", args=[lead_list.pk])


def members(lead_list: LeadList) -> str:
    return reverse("api-list-members", args=[lead_list.pk])


def send(client, method: str, path: str, body: dict):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def test_a_marketer_creates_a_static_list_and_a_segment_with_their_counts(marketer_client, marketer):
    LeadFactory(country="ES")
    LeadFactory(country="FR")
    created = send(marketer_client, "post", LISTS, {"name": "Newsletter", "description": "Monthly"})
    assert created.status_code == 201
    assert created.json() | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "name": "Newsletter",
        "kind": "static",
        "description": "Monthly",
        "condition": {},
        "member_count": 0,
        "created_at": "",
        "updated_at": "",
    }
    seg = send(marketer_client, "post", LISTS, {"name": "Spain", "kind": "segment", "condition": SPAIN})
    assert seg.status_code == 201 and seg.json()["member_count"] == 1
    assert LeadList.objects.get(name="Spain").created_by == marketer
    listed = marketer_client.get(LISTS).json()
    assert [(row["name"], row["member_count"]) for row in listed["results"]] == [("Newsletter", 0), ("Spain", 1)]


def test_bad_input_is_refused_per_field_and_nothing_is_stored(marketer_client):
    LeadList.objects.create(name="Newsletter")
    response = send(
        marketer_client,
        "post",
        LISTS,
        {"name": "NEWSLETTER", "kind": "segment", "condition": {"op": "has_event", "event": "Bad Type!"}},
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["name"] == ["A list with this name exists."]
    assert errors["condition"][0].startswith("event must be an event type")
    shapes = send(marketer_client, "post", LISTS, {"name": "X", "kind": "smart", "description": 5})
    assert shapes.status_code == 400 and set(shapes.json()) == {"kind"}
    static_with_tree = send(marketer_client, "post", LISTS, {"name": "Y", "condition": SPAIN})
    assert static_with_tree.status_code == 400 and set(static_with_tree.json()) == {"condition"}
    assert LeadList.objects.count() == 1


def test_a_list_is_read_changed_and_deleted(marketer_client):
    lead_list = services.list_save(data={"name": "Newsletter"}, by=None)
    services.list_add_leads(lead_list=lead_list, lead_ids=[LeadFactory().pk], source="manual")
    assert marketer_client.get(detail(lead_list)).json()["member_count"] == 1
    changed = send(marketer_client, "patch", detail(lead_list), {"description": "Monthly news"})
    assert changed.status_code == 200 and changed.json()["description"] == "Monthly news"
    refused = send(marketer_client, "patch", detail(lead_list), {"kind": "segment", "condition": SPAIN})
    assert refused.status_code == 400 and list(refused.json()) == ["kind"]
    assert marketer_client.delete(detail(lead_list)).status_code == 204
    assert not LeadList.objects.exists() and not ListMembership.objects.exists()
    assert marketer_client.get(detail(lead_list)).status_code == 404


def test_members_are_added_and_removed_by_id_or_email(manager_client, manager):
    lead_list = services.list_save(data={"name": "Newsletter"}, by=None)
    ana, ben = LeadFactory(email="ana@example.com"), LeadFactory(email="ben@example.com")
    added = send(manager_client, "post", members(lead_list), {"lead_ids": [ana.pk, 987654]})
    assert added.status_code == 200 and added.json() == {"added": 1, "already": 0, "unknown": [987654]}
    again = send(manager_client, "post", members(lead_list), {"emails": ["ANA@example.com", "ben@example.com"]})
    assert again.json() == {"added": 1, "already": 1, "unknown": []}
    assert ListMembership.objects.get(lead=ben).added_by == manager
    listed = manager_client.get(members(lead_list)).json()
    assert listed["count"] == 2
    assert [(row["id"], row["email"], row["source"]) for row in listed["results"]] == [
        (ben.pk, "ben@example.com", "manual"),
        (ana.pk, "ana@example.com", "manual"),
    ]
    removed = send(manager_client, "delete", members(lead_list), {"emails": ["ana@example.com", "x@example.com"]})
    assert removed.status_code == 200 and removed.json() == {"removed": 1, "unknown": ["x@example.com"]}
    assert list(ListMembership.objects.values_list("lead_id", flat=True)) == [ben.pk]


def test_members_input_is_refused_per_field(marketer_client):
    lead_list = services.list_save(data={"name": "Newsletter"}, by=None)
    cases = [
        ({}, "lead_ids"),
        ({"lead_ids": []}, "lead_ids"),
        ({"lead_ids": ["x"]}, "lead_ids"),
        ({"lead_ids": [1], "emails": ["a@example.com"]}, "emails"),
        ({"emails": ["a@example.com"], "source": "playbook"}, "source"),
    ]
    for body, field in cases:
        response = send(marketer_client, "post", members(lead_list), body)
        assert response.status_code == 400, body
        assert list(response.json()) == [field], body
    assert not ListMembership.objects.exists()


def test_a_segments_members_are_read_but_not_changed(marketer_client):
    seg = services.list_save(data={"name": "Spain", "kind": "segment", "condition": SPAIN}, by=None)
    ana = LeadFactory(email="ana@example.com", country="ES")
    LeadFactory(country="PT")
    listed = marketer_client.get(members(seg)).json()
    assert listed["results"] == [{"id": ana.pk, "email": "ana@example.com", "added_at": None, "source": None}]
    refused = send(marketer_client, "post", members(seg), {"lead_ids": [ana.pk]})
    assert refused.status_code == 400 and list(refused.json()) == ["non_field_errors"]
    assert send(marketer_client, "delete", members(seg), {"lead_ids": [ana.pk]}).status_code == 400


def test_reps_and_strangers_are_refused(rep_client, client):
    lead_list = services.list_save(data={"name": "Newsletter"}, by=None)
    for anyone in (rep_client, client):
        assert anyone.get(LISTS).status_code in (401, 403)
        assert send(anyone, "post", LISTS, {"name": "Mine"}).status_code in (401, 403)
        assert anyone.get(members(lead_list)).status_code in (401, 403)
        assert send(anyone, "post", members(lead_list), {"lead_ids": [LeadFactory().pk]}).status_code in (401, 403)
    assert rep_client.get(LISTS).status_code == 403
    assert LeadList.objects.count() == 1 and not ListMembership.objects.exists()


def test_the_schema_documents_the_lists_endpoints(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/lists/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/lists/{id}/"])
    assert {"get", "post", "delete"} <= set(paths["/api/v1/lists/{id}/members/"])
    assert "400" in paths["/api/v1/lists/"]["post"]["responses"]
    # OpenAPI 3.0 gives DELETE no request body: the operation's description shows it.
    assert '{"lead_ids": [1, 2]}' in paths["/api/v1/lists/{id}/members/"]["delete"]["description"]
    assert "ListKindEnum" in schema["components"]["schemas"]
