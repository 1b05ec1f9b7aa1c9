"""The lists pages by role: the lists with their counts, a list's members, creating and editing
lists and segments with a live count, adding, taking off, importing, exporting and deleting."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Lead
from playbooks.lists import services
from playbooks.models import LeadList, ListMembership
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LISTS = reverse("playbooks:lists")
NEW = reverse("playbooks:list-new")
PREVIEW = reverse("playbooks:list-preview")
SPAIN = {"op": "attr", "field": "country", "cmp": "in", "value": ["ES"]}


def make_list(name: str = "Newsletter", leads: list[Lead] = (), **data) -> LeadList:
    lead_list = services.list_save(data={"name": name, **data}, by=None)
    if leads:
        services.list_add_leads(lead_list=lead_list, lead_ids=[lead.pk for lead in leads], source="manual")
    return lead_list


def url(name: str, lead_list: LeadList, *more: int) -> str:
    return reverse(f"playbooks:{name}", args=[lead_list.pk, *more])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def queries(client, path: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(captured)


# --- Who may see the pages --------------------------------------------------------------


def page_urls() -> list[str]:
    lead = LeadFactory(country="ES")
    lead_list = make_list(leads=[lead])
    seg = make_list("Spain", kind="segment", condition=SPAIN)
    return [
        LISTS,
        NEW,
        PREVIEW,
        url("list", lead_list),
        url("list", seg),
        url("list-edit", seg),
        url("list-delete", lead_list),
        url("list-import", lead_list),
        url("list-export", seg),
        url("list-member-remove", lead_list, lead.pk),
    ]


@pytest.mark.parametrize("client_name", ["marketer_client", "manager_client"])
def test_marketing_and_managers_open_every_page(request, client_name):
    client = request.getfixturevalue(client_name)
    for path in page_urls():
        assert client.get(path).status_code == 200, path


def test_sales_is_refused_every_page_and_action(rep_client):
    for path in page_urls():
        assert rep_client.get(path).status_code == 403, path
    lead_list = LeadList.objects.get(kind="static")
    lead = lead_list.memberships.get().lead
    posts = [
        (NEW, {"name": "Mine", "kind": "static"}),
        (url("list-members-add", lead_list), {"emails": lead.email}),
        (url("list-member-remove", lead_list, lead.pk), {}),
        (url("list-delete", lead_list), {}),
    ]
    for path, data in posts:
        assert rep_client.post(path, data).status_code == 403, path
    assert LeadList.objects.count() == 2 and ListMembership.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client):
    for path in page_urls():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("login")), path


def test_the_navigation_offers_lists_to_marketing_and_managers_only(marketer_client, manager_client, rep_client):
    link = f'href="{LISTS}"'
    assert link in marketer_client.get(reverse("home")).content.decode()
    assert link in manager_client.get(LISTS).content.decode()
    assert link not in rep_client.get(reverse("home")).content.decode()


# --- The lists page ---------------------------------------------------------------------


def test_the_lists_page_counts_static_lists_in_one_query_and_segments_when_shown(marketer_client):
    leads = [LeadFactory(country="ES") for _ in range(3)]
    make_list("Webinar", leads=leads[:2])
    seg = make_list("Spain", kind="segment", condition=SPAIN)
    page = marketer_client.get(LISTS).content.decode()
    assert ">2</td>" in page
    count_url = f"{url('list', seg)}?part=count"
    assert f'hx-get="{count_url}"' in page
    assert marketer_client.get(count_url).content.decode().strip() == "<span>3</span>"


def test_the_lists_page_takes_as_many_queries_with_many_lists_and_pages_by_25(marketer_client):
    lead = LeadFactory()
    make_list("List 0", leads=[lead])
    make_list("Seg 0", kind="segment", condition=SPAIN)
    few = queries(marketer_client, LISTS)
    for number in range(1, 30):
        make_list(f"List {number}", leads=[lead])
        make_list(f"Seg {number}", kind="segment", condition=SPAIN)
    assert queries(marketer_client, LISTS) == few
    response = marketer_client.get(LISTS, {"page": 3})
    assert len(response.context["rows"]) == 10


def test_the_lists_page_searches_by_name_and_kind(marketer_client):
    make_list("Newsletter")
    make_list("Webinar attendees")
    make_list("Spain", kind="segment", condition=SPAIN)
    names = lambda response: [lead_list.name for lead_list, _ in response.context["rows"]]  # noqa: E731
    assert names(marketer_client.get(LISTS, {"q": "WEB"})) == ["Webinar attendees"]
    assert names(marketer_client.get(LISTS, {"kind": "segment"})) == ["Spain"]
    assert marketer_client.get(LISTS, {"kind": "other"}).status_code == 400


# --- Creating and editing ---------------------------------------------------------------


def test_a_marketer_creates_a_static_list(marketer_client, marketer):
    response = marketer_client.post(NEW, {"name": "Newsletter", "kind": "static", "description": "", "condition": ""})
    lead_list = LeadList.objects.get()
    assert response.status_code == 302 and response["Location"] == url("list", lead_list)
    assert (lead_list.kind, lead_list.created_by) == ("static", marketer)


def test_a_marketer_creates_a_segment_from_json(marketer_client):
    data = {"name": "Spain", "kind": "segment", "condition": json.dumps(SPAIN)}
    response = marketer_client.post(NEW, data)
    seg = LeadList.objects.get()
    assert response.status_code == 302
    assert seg.condition == SPAIN
    page = marketer_client.get(url("list", seg)).content.decode()
    assert "Country is one of es" in page  # as a definition describes its rules


@pytest.mark.parametrize(
    ("condition", "shown"),
    [
        ("{not json", "This is not JSON"),
        ("[1, 2]", "Write one rule tree"),
        ('{"op": "fit_gte", "value": "high"}', "fit_gte needs a number."),
        ("", "A segment needs a condition"),
    ],
)
def test_a_bad_condition_is_refused_on_its_field_and_nothing_is_stored(marketer_client, condition, shown):
    response = marketer_client.post(NEW, {"name": "Spain", "kind": "segment", "condition": condition})
    assert response.status_code == 400
    assert shown in " ".join(response.context["form"].errors["condition"])
    assert not LeadList.objects.exists()


def test_editing_keeps_what_the_service_refuses(marketer_client):
    lead_list = make_list(leads=[LeadFactory()])
    make_list("Taken")
    data = {"name": "taken", "kind": "segment", "condition": json.dumps(SPAIN)}
    response = marketer_client.post(url("list-edit", lead_list), data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "kind"}
    lead_list.refresh_from_db()
    assert (lead_list.name, lead_list.kind) == ("Newsletter", "static")
    response = marketer_client.post(url("list-edit", lead_list), {"name": "Monthly", "kind": "static"})
    assert response.status_code == 302
    lead_list.refresh_from_db()
    assert lead_list.name == "Monthly"


@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_a_form_sent_without_its_fields_is_a_400_naming_each_required_one(marketer_client, editing):
    """Not the blank form again as if nothing had been sent (200): each missing field says so."""
    lead_list = make_list() if editing else None
    response = marketer_client.post(url("list-edit", lead_list) if editing else NEW, {})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert (errors["name"], errors["kind"]) == (["Give the list a name."], ["Choose a static list or a segment."])
    assert '<ul class="errorlist" id="id_name_error"><li>Give the list a name.</li></ul>' in response.content.decode()
    assert list(LeadList.objects.values_list("name", "kind")) == ([("Newsletter", "static")] if editing else [])


def test_the_edit_page_shows_the_condition_and_asks_for_a_live_count(marketer_client):
    seg = make_list("Spain", kind="segment", condition=SPAIN)
    page = marketer_client.get(url("list-edit", seg)).content.decode()
    assert f'hx-post="{PREVIEW}"' in page
    assert "&quot;country&quot;" in page  # the tree as JSON in the textarea


def test_the_preview_counts_what_a_condition_matches_now_or_says_why_not(marketer_client):
    LeadFactory(country="ES")
    LeadFactory(country="es")
    LeadFactory(country="PT")
    counted = marketer_client.post(PREVIEW, {"condition": json.dumps(SPAIN)})
    assert "Matches 2 leads now." in counted.content.decode()
    refused = marketer_client.post(PREVIEW, {"condition": '{"op": "any", "children": []}'}).content.decode()
    assert "needs at least one rule inside" in refused
    assert "not JSON" in marketer_client.post(PREVIEW, {"condition": "{"}).content.decode()
    assert "Write a condition" in marketer_client.get(PREVIEW).content.decode()


# --- A list's page ----------------------------------------------------------------------


def test_a_static_list_shows_its_members_with_how_they_were_added(marketer_client, marketer):
    ana = LeadFactory(first_name="Ana", last_name="Ruiz", email="ana@example.com", stage="mql", score=42)
    lead_list = make_list()
    services.list_add_leads(lead_list=lead_list, lead_ids=[ana.pk], source="import", by=marketer)
    page = marketer_client.get(url("list", lead_list)).content.decode()
    for text in ("Ana Ruiz", "ana@example.com", "MQL", ">42</td>", "Import", "Mara Keting"):
        assert text in page, text
    assert url("list-member-remove", lead_list, ana.pk) in page


def test_members_are_searched_and_paged_by_50_in_as_many_queries(marketer_client):
    lead_list = make_list(leads=[LeadFactory(company="Acme")])
    few = queries(marketer_client, url("list", lead_list))
    services.list_add_leads(
        lead_list=lead_list, lead_ids=[LeadFactory(company="Beta").pk for _ in range(60)], source="manual"
    )
    assert queries(marketer_client, url("list", lead_list)) == few
    response = marketer_client.get(url("list", lead_list), {"page": 2})
    assert len(response.context["page"].object_list) == 11
    found = marketer_client.get(url("list", lead_list), {"q": "acme"})
    assert [m.lead.company for m in found.context["page"].object_list] == ["Acme"]


def test_a_segments_page_lists_the_leads_matching_now_in_as_many_queries(marketer_client):
    seg = make_list("Spain", kind="segment", condition=SPAIN)
    LeadFactory(country="PT")
    LeadFactory(country="ES", email="es0@example.com")
    few = queries(marketer_client, url("list", seg))
    for number in range(1, 55):
        LeadFactory(country="ES", email=f"es{number}@example.com")
    assert queries(marketer_client, url("list", seg)) == few
    response = marketer_client.get(url("list", seg))
    assert response.context["page"].paginator.count == 55
    page = response.content.decode()
    assert "list-members-add" not in page and "Add leads by email" not in page


def test_adding_by_email_says_what_was_added_and_which_addresses_match_no_lead(marketer_client, marketer):
    lead_list = make_list()
    ana = LeadFactory(email="ana@example.com")
    response = marketer_client.post(
        url("list-members-add", lead_list), {"emails": "ANA@example.com\nghost@example.com"}, follow=True
    )
    assert messages_of(response) == ["Added 1 lead. 1 match no lead (none was created): ghost@example.com."]
    membership = ListMembership.objects.get()
    assert (membership.lead, membership.source, membership.added_by) == (ana, "manual", marketer)
    response = marketer_client.post(url("list-members-add", lead_list), {"emails": "no addresses here"}, follow=True)
    assert messages_of(response) == ["There are no email addresses in it."]


def test_taking_a_lead_off_asks_first_then_deletes_its_membership(marketer_client):
    lead = LeadFactory(email="ana@example.com")
    lead_list = make_list(leads=[lead])
    confirm = marketer_client.get(url("list-member-remove", lead_list, lead.pk))
    assert "Take off the list" in confirm.content.decode()
    assert ListMembership.objects.exists()
    response = marketer_client.post(url("list-member-remove", lead_list, lead.pk), follow=True)
    assert messages_of(response) == ["ana@example.com is off “Newsletter”."]
    assert not ListMembership.objects.exists() and Lead.objects.filter(pk=lead.pk).exists()
    assert marketer_client.post(url("list-member-remove", lead_list, lead.pk)).status_code == 404


def test_importing_a_csv_lists_the_addresses_that_match_no_lead(marketer_client):
    lead_list = make_list()
    LeadFactory(email="ana@example.com")
    upload = SimpleUploadedFile("c.csv", b"email,name\nana@example.com,Ana\nzoe@example.com,Zoe\n", "text/csv")
    response = marketer_client.post(url("list-import", lead_list), {"file": upload})
    assert response.status_code == 200
    assert response.context["outcome"] == {"added": 1, "already": 0, "unknown": ["zoe@example.com"]}
    assert "zoe@example.com" in response.content.decode()
    bad = SimpleUploadedFile("c.csv", "email\nnoël@example.com\n".encode("latin-1"), "text/csv")
    response = marketer_client.post(url("list-import", lead_list), {"file": bad})
    assert response.status_code == 400
    assert "not UTF-8" in " ".join(response.context["form"].errors["file"])
    assert ListMembership.objects.count() == 1


def test_an_import_sent_without_a_file_is_a_400_naming_the_file_field(marketer_client):
    lead_list = make_list()
    LeadFactory(email="ana@example.com")
    response = marketer_client.post(url("list-import", lead_list), {})
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["Choose a file."]
    assert response.context["outcome"] is None
    assert '<ul class="errorlist" id="id_file_error"><li>Choose a file.</li></ul>' in response.content.decode()
    assert not ListMembership.objects.exists()


def test_deleting_asks_first_then_keeps_the_leads(marketer_client):
    lead = LeadFactory()
    lead_list = make_list(leads=[lead])
    assert "1 membership goes with it" in marketer_client.get(url("list-delete", lead_list)).content.decode()
    response = marketer_client.post(url("list-delete", lead_list))
    assert response.status_code == 302 and response["Location"] == LISTS
    assert not LeadList.objects.exists() and Lead.objects.filter(pk=lead.pk).exists()


# --- Export -----------------------------------------------------------------------------


def exported(client, path: str) -> list[dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_export_streams_the_members_and_neutralises_formulas(marketer_client, marketer):
    evil = LeadFactory(email="eve@example.com", first_name='=HYPERLINK("http://x")', company="+cmd|'/c calc'!A0")
    plain = LeadFactory(email="bob@example.com", first_name="Bob", company="-Acme", country="ES")
    lead_list = make_list()
    services.list_add_leads(lead_list=lead_list, lead_ids=[evil.pk, plain.pk], source="import", by=marketer)
    rows = exported(marketer_client, url("list-export", lead_list))
    by_email = {row["email"]: row for row in rows}
    assert set(by_email) == {"eve@example.com", "bob@example.com"}
    assert by_email["eve@example.com"]["first_name"] == '\'=HYPERLINK("http://x")'
    assert by_email["eve@example.com"]["company"] == "'+cmd|'/c calc'!A0"
    assert by_email["bob@example.com"]["company"] == "'-Acme"
    assert (by_email["bob@example.com"]["added_how"], by_email["bob@example.com"]["added_by"]) == ("import", "marketer")
    seg = make_list("Spain", kind="segment", condition=SPAIN)
    assert [row["email"] for row in exported(marketer_client, url("list-export", seg))] == ["bob@example.com"]
