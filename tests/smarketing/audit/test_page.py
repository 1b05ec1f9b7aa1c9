"""The managers' audit page and GET /api/v1/audit/: newest first, filtered by kind, person, days
and a search, paginated, each entry's before and after shown; nobody else may read them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import logged_in, make_user
from smarketing.audit.models import ConfigChange
from smarketing.roles import Role

pytestmark = pytest.mark.django_db

PAGE = reverse("audit:changes")
API = reverse("api-audit")


def entry(actor, *, kind="persona", label="CTO", days_ago=0, **fields) -> ConfigChange:
    values = {
        "actor": actor,
        "actor_name": actor.get_username() if actor else "",
        "action": "changed",
        "kind": kind,
        "object_id": 7,
        "object_label": label,
        "before": {"description": "old"},
        "after": {"description": "new"},
        "at": timezone.now() - timedelta(days=days_ago),
    }
    return ConfigChange.objects.create(**(values | fields))


@pytest.mark.parametrize("who", ["marketer", "rep", "nobody"])
def test_only_managers_open_the_page_and_the_api(request, who):
    client = logged_in(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert client.get(API).status_code == 403


def test_logged_out_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.get(API).status_code in (401, 403)


def test_the_manager_s_menu_links_the_page_and_others_do_not(manager_client, marketer_client):
    assert f'href="{PAGE}"' in manager_client.get(reverse("reports:dashboard")).content.decode()
    assert f'href="{PAGE}"' not in marketer_client.get(reverse("home")).content.decode()


def test_entries_newest_first_with_before_and_after(manager, manager_client):
    entry(manager, label="Older persona", days_ago=2)
    entry(
        manager,
        kind="definition",
        label="v2 · Spring",
        before={"status": "proposed", "mql_rule": {"all": [{"fit_gte": 40}]}},
        after={"status": "approved", "mql_rule": {"all": [{"fit_gte": 60}]}},
    )
    page = manager_client.get(PAGE).content.decode()
    assert page.index("v2 · Spring") < page.index("Older persona")
    assert '<del class="diff-removed">proposed</del>' in page and '<ins class="diff-added">approved</ins>' in page
    # A rule tree shows as a line diff: the line that changed, removed and added.
    assert "<del>&quot;fit_gte&quot;: 40</del>" in page and "<ins>&quot;fit_gte&quot;: 60</ins>" in page


def test_filters_by_kind_person_days_and_search(manager, marketer, manager_client):
    entry(manager, kind="team", label="Iberia")
    entry(marketer, kind="persona", label="CTO", days_ago=10)
    entry(marketer, kind="playbook", label="Welcome", days_ago=3)

    def labels(**query):
        response = manager_client.get(PAGE, query)
        assert response.status_code == 200
        return [e.object_label for e, _ in response.context["entries"]]

    assert labels(kind="team") == ["Iberia"]
    assert labels(actor=marketer.pk) == ["Welcome", "CTO"]
    today = timezone.localdate()
    assert labels(**{"from": today - timedelta(days=5), "to": today - timedelta(days=1)}) == ["Welcome"]
    assert labels(q="welc") == ["Welcome"]
    assert labels(q="manager") == ["Iberia"]  # the person's name too
    assert labels(kind="persona", object=7) == ["CTO"]


def test_bad_filters_are_a_400_with_a_message_per_field(manager, manager_client):
    entry(manager)
    response = manager_client.get(PAGE, {"kind": "lead", "from": "2026-13-01", "actor": "999"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Kind: Choose a kind from the list." in page and "Changed by: Choose a person from the list." in page
    assert "From: Enter a valid date." in page
    response = manager_client.get(PAGE, {"from": "2026-03-02", "to": "2026-03-01"})
    assert response.status_code == 400 and "The last day cannot come before the first." in response.content.decode()


def test_the_page_reads_in_the_same_queries_however_many_entries(
    manager, marketer, manager_client, django_assert_num_queries
):
    entry(manager)
    manager_client.get(PAGE)  # the session and the user's groups, once warmed
    with django_assert_num_queries(6) as few:
        assert manager_client.get(PAGE).status_code == 200
    for n in range(40):
        entry(marketer if n % 2 else manager, label=f"Persona {n}", kind="playbook" if n % 3 else "team")
    with django_assert_num_queries(len(few.captured_queries)):
        assert manager_client.get(PAGE).status_code == 200


def test_pages_of_fifty(manager, manager_client):
    for n in range(55):
        entry(manager, label=f"Persona {n:02}")
    first = manager_client.get(PAGE)
    assert len(first.context["entries"]) == 50 and "Page 1 of 2" in first.content.decode()
    second = manager_client.get(PAGE, {"page": 2})
    assert [e.object_label for e, _ in second.context["entries"]] == [f"Persona {n:02}" for n in range(4, -1, -1)]


def test_the_api_lists_and_filters_entries(manager, marketer, manager_client):
    entry(manager, kind="team", label="Iberia")
    entry(marketer, kind="persona", label="CTO")
    body = manager_client.get(API, {"kind": "persona"}).json()
    assert body["count"] == 1
    (row,) = body["results"]
    assert (row["kind"], row["object_label"], row["actor"], row["actor_name"]) == (
        "persona",
        "CTO",
        marketer.pk,
        "marketer",
    )
    assert (row["action"], row["before"], row["after"]) == ("changed", {"description": "old"}, {"description": "new"})
    assert manager_client.get(API, {"q": "iber"}).json()["count"] == 1


def test_the_api_answers_bad_filters_per_field(manager_client):
    response = manager_client.get(API, {"kind": "lead", "from": "tomorrow", "object_id": str(2**70)})
    assert response.status_code == 400
    assert set(response.json()) == {"kind", "from", "object_id"}
    response = manager_client.get(API, {"from": "2026-03-02", "to": "2026-03-01"})
    assert response.status_code == 400 and response.json() == {"to": ["The last day cannot come before the first."]}


def test_the_admin_shows_entries_and_changes_none(manager):
    entry(manager)
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = logged_in(admin)
    listing = client.get(reverse("admin:audit_configchange_changelist"))
    assert listing.status_code == 200 and "CTO" in listing.content.decode()
    assert client.get(reverse("admin:audit_configchange_add")).status_code == 403
    pk = ConfigChange.objects.get().pk
    assert client.post(reverse("admin:audit_configchange_delete", args=[pk]), {"post": "yes"}).status_code == 403
    assert ConfigChange.objects.count() == 1


def test_managers_see_every_entry_whoever_made_it(manager):
    other = make_user("boss2", Role.MANAGER)
    entry(manager, label="Mine")
    page = logged_in(other).get(PAGE).content.decode()
    assert "Mine" in page
