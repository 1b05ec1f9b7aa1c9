"""The meeting pack pages: the archive and a week's page for managers and marketing, the action
items opened, assigned and closed in place and carried to later weeks, the CSV, and refusals."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from conftest import logged_in, make_user
from reports.pack.models import ActionItem, MeetingPack
from reports.pack.services import action_item_add, meeting_pack_build
from smarketing.roles import Role
from tests.reports.pack.conftest import BUILT, W11

pytestmark = pytest.mark.django_db

ARCHIVE = reverse("reports:meeting-packs")
PAGE = reverse("reports:meeting-pack", args=["2026-W11"])
HTMX = {"HTTP_HX_REQUEST": "true"}


def items_url(name: str, *args: object) -> str:
    return reverse(f"reports:action-item-{name}", args=["2026-W11", *args])


@pytest.mark.parametrize("who", ["manager_client", "marketer_client"])
def test_managers_and_marketing_read_the_archive_and_a_weeks_pack(request, pack, who):
    client = request.getfixturevalue(who)
    archive = client.get(ARCHIVE).content.decode()
    assert f'href="{PAGE}"' in archive and "9 Mar – 15 Mar 2026" in archive
    assert 'href="/reports/meeting-packs/"' in archive  # in the navigation
    html = client.get(PAGE).content.decode()
    assert "Meeting pack 2026-W11" in html
    assert "<strong>3</strong> won (USD 1,750.00) and <strong>1</strong> lost" in html
    assert "No budget" in html and "Ann Lee" in html and "Version 2" in html
    assert "No won revenue this week to credit to a campaign." in html  # the world's deals have no touches


def test_sales_is_refused_and_the_anonymous_sent_to_log_in(empty_pack, rep_client):
    for url in (ARCHIVE, PAGE, reverse("reports:meeting-pack-csv", args=["2026-W11"])):
        assert rep_client.get(url).status_code == 403
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert rep_client.post(items_url("add"), {"text": "Call back"}).status_code == 403
    assert not ActionItem.objects.exists()


def test_the_archive_is_empty_until_a_pack_is_built(manager_client, marketer_client):
    html = manager_client.get(ARCHIVE).content.decode()
    assert "No pack yet" in html and "Mondays at 08:00" in html and "Build " in html
    assert "Build " not in marketer_client.get(ARCHIVE).content.decode().split("No pack yet")[1]


def test_a_manager_builds_last_week_from_the_archive(world, manager, manager_client, time_machine):
    time_machine.move_to(BUILT)
    response = manager_client.post(reverse("reports:meeting-pack-build"), {"week": "2026-W11"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert MeetingPack.objects.get().emailed_at is not None


def test_a_marketer_may_not_build_a_pack(marketer_client):
    assert marketer_client.post(reverse("reports:meeting-pack-build")).status_code == 403


def test_a_badly_named_week_is_a_400_that_says_why_and_an_unbuilt_one_a_404(empty_pack, manager_client):
    response = manager_client.get(reverse("reports:meeting-pack", args=["2026-W60"]))
    assert response.status_code == 400 and "2026 has no week 60." in response.content.decode()
    assert manager_client.get(reverse("reports:meeting-pack", args=["2026-W12"])).status_code == 404


def test_pages_take_a_fixed_number_of_queries(pack, manager, manager_client, django_assert_max_num_queries):
    for week in range(2, 8):
        meeting_pack_build(monday=W11 - timedelta(weeks=week), now=BUILT, email=False)
    for n in range(6):
        action_item_add(monday=W11, text=f"Item {n}", owner=manager, due=None, by=manager)
    # session, user, roles; then the count and the page of packs
    with django_assert_max_num_queries(5):
        assert manager_client.get(ARCHIVE).status_code == 200
    # session, user, roles; then the pack, the owners offered (once for every form), the items
    with django_assert_max_num_queries(6):
        assert manager_client.get(PAGE).status_code == 200


def test_an_item_opened_in_place_is_carried_to_later_weeks_until_closed(pack, manager, marketer, manager_client):
    response = manager_client.post(items_url("add"), {"text": "Fix the webinar form", "owner": marketer.pk}, **HTMX)
    assert response.status_code == 200
    assert "Opened “Fix the webinar form”" in response.content.decode()
    assert response.content.decode().lstrip().startswith('<section class="card" id="action-items"')
    item = ActionItem.objects.get()
    assert (item.owner, item.opened_week, item.created_by) == (marketer, W11, manager)

    w12 = meeting_pack_build(monday=W11 + timedelta(weeks=1), now=BUILT + timedelta(weeks=1), email=False)
    assert [i["text"] for i in w12.figures["action_items"]] == ["Fix the webinar form"]
    later = manager_client.get(reverse("reports:meeting-pack", args=[w12.week])).content.decode()
    assert "Fix the webinar form" in later and ">carried<" in later

    with time_machine.travel(BUILT + timedelta(weeks=1, days=1), tick=False):  # in W12's meeting
        closed = manager_client.post(items_url("close", item.pk), **HTMX)
    assert "Closed “Fix the webinar form”." in closed.content.decode()
    item.refresh_from_db()
    assert item.closed_by == manager and item.closed_at is not None
    w13 = meeting_pack_build(monday=W11 + timedelta(weeks=2), now=BUILT + timedelta(weeks=2), email=False)
    assert w13.figures["action_items"] == []
    w13_page = manager_client.get(reverse("reports:meeting-pack", args=[w13.week])).content.decode()
    assert f'<tr id="item-{item.pk}" class="done">' in w13_page  # closed in W13 (at W12's meeting): shown done
    w14 = meeting_pack_build(monday=W11 + timedelta(weeks=3), now=BUILT + timedelta(weeks=3), email=False)
    assert (
        "Fix the webinar form"
        not in manager_client.get(reverse("reports:meeting-pack", args=[w14.week])).content.decode()
    )


def test_a_plain_post_comes_back_to_the_page(empty_pack, manager_client):
    response = manager_client.post(items_url("add"), {"text": "Call the top three accounts"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert "Call the top three accounts" in manager_client.get(PAGE).content.decode()


def test_a_bad_item_is_a_400_with_a_message_per_field(empty_pack, manager_client, rep):
    response = manager_client.post(items_url("add"), {"text": "  ", "owner": rep.pk, "due": "soon"}, **HTMX)
    assert response.status_code == 400 and response["HX-Reswap"] == "outerHTML"
    errors = response.context["add_form"].errors
    assert errors["text"] == ["This field is required."]
    assert "Select a valid choice" in errors["owner"][0]  # a rep does not see the pack
    assert errors["due"] == ["Enter a valid date."]
    assert not ActionItem.objects.exists()


def test_a_manager_assigns_an_item_and_a_marketer_may_not(
    empty_pack, manager, marketer, manager_client, marketer_client
):
    item = action_item_add(monday=W11, text="Agree the MQL target", owner=None, due=None, by=manager)
    field = f"item-{item.pk}-owner"
    assert marketer_client.post(items_url("assign", item.pk), {field: marketer.pk}).status_code == 403
    response = manager_client.post(items_url("assign", item.pk), {field: marketer.pk}, **HTMX)
    assert "is now Mara Keting&#x27;s." in response.content.decode()
    item.refresh_from_db()
    assert item.owner == marketer
    bad = manager_client.post(items_url("assign", item.pk), {field: "999"}, **HTMX)
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()


def test_a_marketer_closes_their_own_items_only(empty_pack, manager, marketer, marketer_client):
    mine = action_item_add(monday=W11, text="Mine", owner=marketer, due=None, by=manager)
    theirs = action_item_add(monday=W11, text="Theirs", owner=manager, due=None, by=manager)
    html = marketer_client.get(PAGE).content.decode()
    assert 'aria-label="Close “Mine”"' in html and 'aria-label="Close “Theirs”"' not in html
    assert marketer_client.post(items_url("close", theirs.pk)).status_code == 403
    assert marketer_client.post(items_url("close", mine.pk)).status_code == 302
    again = marketer_client.post(items_url("close", mine.pk), **HTMX)
    assert again.status_code == 400 and "Already closed by Mara Keting" in again.content.decode()


def test_a_marketer_reads_a_week_with_an_item_nobody_owns_yet(empty_pack, manager, marketer_client):
    """Only managers get the assign form; the others read the owner, here none (this was a 500)."""
    action_item_add(monday=W11, text="Call the webinar no-shows", owner=None, due=None, by=manager)
    page = marketer_client.get(PAGE)
    assert page.status_code == 200 and "Call the webinar no-shows" in page.content.decode()


def test_the_csv_holds_every_figure_with_formulas_neutralised(world, manager, manager_client):
    other = make_user("eve", Role.MANAGER, first_name="=cmd|' /C calc'!A0")
    action_item_add(monday=W11, text='=HYPERLINK("http://evil")', owner=other, due=None, by=manager)
    meeting_pack_build(monday=W11, now=BUILT, email=False)
    response = manager_client.get(reverse("reports:meeting-pack-csv", args=["2026-W11"]))
    assert response["Content-Disposition"] == 'attachment; filename="meeting-pack-2026-W11.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Section", "Item", "Figure", "Value"]
    assert ["Deals closed", "Total", "won_revenue", "1750.00"] in rows
    assert ["Why sales said no", "No budget", "rejected", "2"] in rows
    assert ["Action items", '\'=HYPERLINK("http://evil")', "owner", "'=cmd|' /C calc'!A0"] in rows


def test_a_logged_in_user_without_a_role_is_refused(empty_pack, nobody):
    assert logged_in(nobody).get(PAGE).status_code == 403
