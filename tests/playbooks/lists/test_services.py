"""Lists and segments through their services: saving with a refusal per field, adding and
removing members set-based, importing addresses, and segments holding exactly the leads their
tree holds for now (the same SQL as qualification's)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead, LeadScore
from leads.qualification import backtest
from playbooks.lists import selectors, services
from playbooks.lists import sql as lists_sql
from playbooks.models import LeadList, ListMembership
from smarketing.lib import sql
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db
Source = ListMembership.Source


def static(name: str = "Newsletter", by=None) -> LeadList:
    return services.list_save(data={"name": name, "kind": "static"}, by=by)


def segment(condition: dict, name: str = "Segment") -> LeadList:
    return services.list_save(data={"name": name, "kind": "segment", "condition": condition}, by=None)


def refusals(error: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return error.value.message_dict


# --- Saving lists -----------------------------------------------------------------------


def test_a_static_list_is_saved_with_its_creator_and_a_trimmed_name(marketer):
    lead_list = services.list_save(data={"name": "  Newsletter ", "description": " Monthly "}, by=marketer)
    lead_list.refresh_from_db()
    assert (lead_list.name, lead_list.kind, lead_list.description) == ("Newsletter", "static", "Monthly")
    assert lead_list.condition == {} and lead_list.created_by == marketer


def test_names_are_unique_whatever_their_case():
    static("Newsletter")
    with pytest.raises(ValidationError) as refused:
        static("NEWSLETTER")
    assert refusals(refused) == {"name": ["A list with this name exists."]}
    assert LeadList.objects.count() == 1


def test_every_field_is_refused_at_once_and_nothing_is_stored():
    data = {"name": " ", "kind": "segment", "description": "x" * 301, "condition": {"op": "all", "children": []}}
    with pytest.raises(ValidationError) as refused:
        services.list_save(data=data, by=None)
    errors = refusals(refused)
    assert set(errors) == {"name", "description", "condition"}
    assert errors["condition"] == ["'all' needs at least one rule inside."]
    assert not LeadList.objects.exists()


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.list_save(data={"name": "X", "kind": "smart"}, by=None)
    assert refusals(refused) == {"kind": ["Choose one of: static, segment."]}


def test_a_segment_needs_a_valid_tree_and_a_static_list_none():
    with pytest.raises(ValidationError) as refused:
        services.list_save(data={"name": "S", "kind": "segment"}, by=None)
    assert "condition" in refusals(refused)
    bad_leaf = {"op": "all", "children": [{"op": "attr", "field": "shoe_size", "cmp": "eq", "value": "42"}]}
    with pytest.raises(ValidationError) as refused:
        segment(bad_leaf)
    assert refusals(refused)["condition"][0].startswith("children.0: Unknown field 'shoe_size'")
    with pytest.raises(ValidationError) as refused:
        services.list_save(data={"name": "L", "kind": "static", "condition": {"op": "fit_gte", "value": 1}}, by=None)
    assert "condition" in refusals(refused)
    assert not LeadList.objects.exists()


def test_a_list_with_members_cannot_become_a_segment():
    lead_list = static()
    services.list_add_leads(lead_list=lead_list, lead_ids=[LeadFactory().pk], source=Source.MANUAL)
    with pytest.raises(ValidationError) as refused:
        services.list_save(
            data={"kind": "segment", "condition": {"op": "fit_gte", "value": 1}}, by=None, lead_list=lead_list
        )
    assert list(refusals(refused)) == ["kind"]
    lead_list.refresh_from_db()
    assert lead_list.kind == "static"


def test_a_segment_made_static_drops_its_condition_and_an_empty_list_may_become_a_segment():
    seg = segment({"op": "fit_gte", "value": 10})
    services.list_save(data={"kind": "static"}, by=None, lead_list=seg)
    seg.refresh_from_db()
    assert (seg.kind, seg.condition) == ("static", {})
    services.list_save(data={"kind": "segment", "condition": {"op": "score_gte", "value": 5}}, by=None, lead_list=seg)
    seg.refresh_from_db()
    assert (seg.kind, seg.condition) == ("segment", {"op": "score_gte", "value": 5})


def test_deleting_a_list_deletes_its_memberships_in_one_statement_and_keeps_the_leads():
    lead_list = static()
    leads = [LeadFactory() for _ in range(30)]
    services.list_add_leads(lead_list=lead_list, lead_ids=[lead.pk for lead in leads], source=Source.IMPORT)
    with CaptureQueriesContext(connection) as queries:
        services.list_delete(lead_list=lead_list, by=None)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2  # the memberships, then the list: never one per member
    assert not ListMembership.objects.exists() and not LeadList.objects.exists()
    assert Lead.objects.count() == 30


# --- Members ----------------------------------------------------------------------------


def test_adding_is_idempotent_counts_only_new_members_and_skips_ids_that_are_no_lead(marketer):
    lead_list = static()
    a, b, c = LeadFactory(), LeadFactory(), LeadFactory()
    assert services.list_add_leads(lead_list=lead_list, lead_ids=[a.pk, b.pk], source=Source.MANUAL, by=marketer) == 2
    first = dict(ListMembership.objects.values_list("lead_id", "id"))
    assert services.list_add_leads(lead_list=lead_list, lead_ids=[b.pk, c.pk, c.pk, 999_999], source="import") == 1
    assert selectors.list_count(lead_list) == 3
    rows = {m.lead_id: m for m in ListMembership.objects.all()}
    assert rows[b.pk].id == first[b.pk] and rows[b.pk].source == "manual" and rows[b.pk].added_by == marketer
    assert rows[c.pk].id > max(first.values()) and rows[c.pk].source == "import" and rows[c.pk].added_by is None


def test_adding_inserts_in_lead_order_so_membership_ids_follow_it():
    lead_list = static()
    leads = [LeadFactory() for _ in range(5)]
    services.list_add_leads(lead_list=lead_list, lead_ids=[lead.pk for lead in reversed(leads)], source="manual")
    by_id = list(ListMembership.objects.order_by("id").values_list("lead_id", flat=True))
    assert by_id == [lead.pk for lead in leads]


def test_an_unknown_source_is_refused():
    with pytest.raises(ValidationError) as refused:
        services.list_add_leads(lead_list=static(), lead_ids=[LeadFactory().pk], source="telepathy")
    assert list(refusals(refused)) == ["source"]
    assert not ListMembership.objects.exists()


def test_removing_deletes_the_rows_and_counts_only_members():
    lead_list = static()
    a, b, c = LeadFactory(), LeadFactory(), LeadFactory()
    services.list_add_leads(lead_list=lead_list, lead_ids=[a.pk, b.pk], source="manual")
    assert services.list_remove_leads(lead_list=lead_list, lead_ids=[a.pk, c.pk]) == 1
    assert list(ListMembership.objects.values_list("lead_id", flat=True)) == [b.pk]
    assert services.list_remove_leads(lead_list=lead_list, lead_ids=[a.pk]) == 0
    # Joining again is a new row with a new id: a playbook's "joined a list" sees it again.
    old = ListMembership.objects.get().pk
    services.list_add_leads(lead_list=lead_list, lead_ids=[a.pk], source="manual")
    assert ListMembership.objects.get(lead=a).pk > old


def test_a_segment_refuses_members_by_hand():
    seg = segment({"op": "fit_gte", "value": 0})
    lead = LeadFactory()
    for attempt in (
        lambda: services.list_add_leads(lead_list=seg, lead_ids=[lead.pk], source="manual"),
        lambda: services.list_remove_leads(lead_list=seg, lead_ids=[lead.pk]),
        lambda: services.list_add_members(lead_list=seg, emails=[lead.email], source="manual"),
        lambda: services.list_import(lead_list=seg, by=None, text=lead.email),
    ):
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert list(refusals(refused)) == ["non_field_errors"]
    assert not ListMembership.objects.exists()


def test_adding_by_id_and_email_reports_what_became_of_each():
    lead_list = static()
    ana, ben = LeadFactory(email="ana@example.com"), LeadFactory(email="ben@example.com")
    services.list_add_leads(lead_list=lead_list, lead_ids=[ben.pk], source="manual")
    outcome = services.list_add_members(
        lead_list=lead_list, emails=[" ANA@Example.com", "ben@example.com", "nobody@example.com"], source="manual"
    )
    assert outcome == {"added": 1, "already": 1, "unknown": ["nobody@example.com"]}
    assert services.list_add_members(lead_list=lead_list, lead_ids=[ana.pk, 424242], source="manual") == {
        "added": 0,
        "already": 1,
        "unknown": [424242],
    }
    assert not Lead.objects.filter(email="nobody@example.com").exists()
    assert services.list_remove_members(lead_list=lead_list, emails=["Ana@example.com", "zed@example.com"]) == {
        "removed": 1,
        "unknown": ["zed@example.com"],
    }


# --- Imports ----------------------------------------------------------------------------


def test_an_import_of_addresses_matches_leads_by_normalized_email_and_reports_unknown_ones(marketer):
    lead_list = static()
    ana, ben = LeadFactory(email="ana@example.com"), LeadFactory(email="ben@example.com")
    services.list_add_leads(lead_list=lead_list, lead_ids=[ben.pk], source="manual")
    text = "Ana@Example.COM\n<ben@example.com>, ghost@example.com; ana@example.com\n\n  new@example.org  "
    outcome = services.list_import(lead_list=lead_list, by=marketer, text=text)
    assert outcome == {"added": 1, "already": 1, "unknown": ["ghost@example.com", "new@example.org"]}
    membership = ListMembership.objects.get(lead=ana)
    assert (membership.source, membership.added_by) == ("import", marketer)
    assert Lead.objects.count() == 2  # unknown addresses are reported, never created


def test_a_csv_file_is_read_by_its_email_column():
    lead_list = static()
    ana = LeadFactory(email="ana@example.com")
    content = "Name;E-mail;Company\nAna;ana@example.com;Acme\nBob;bob@example.com;Beta\nNo address;;Gamma\n"
    upload = SimpleUploadedFile("contacts.csv", ("\ufeff" + content).encode(), content_type="text/csv")
    outcome = services.list_import(lead_list=lead_list, by=None, file=upload)
    assert outcome == {"added": 1, "already": 0, "unknown": ["bob@example.com"]}
    assert list(ListMembership.objects.values_list("lead_id", flat=True)) == [ana.pk]


def test_a_file_that_is_not_utf8_or_names_no_address_is_refused_by_field():
    lead_list = static()
    latin1 = SimpleUploadedFile("x.csv", "email\nnoël@example.com\n".encode("latin-1"))
    with pytest.raises(ValidationError) as refused:
        services.list_import(lead_list=lead_list, by=None, file=latin1)
    assert list(refusals(refused)) == ["file"]
    with pytest.raises(ValidationError) as refused:
        services.list_import(lead_list=lead_list, by=None, text="just some words\nand more")
    assert refusals(refused) == {"text": ["There are no email addresses in it."]}


# --- Reads ------------------------------------------------------------------------------


def test_a_lead_page_asks_which_static_lists_hold_a_lead():
    a, b = static("Beta"), static("alpha")
    lead, other = LeadFactory(), LeadFactory()
    for lead_list in (a, b):
        services.list_add_leads(lead_list=lead_list, lead_ids=[lead.pk], source="manual")
    assert selectors.lists_of_lead(lead) == [b, a]
    assert selectors.lists_of_lead(other) == []
    assert selectors.lead_on_list(a, lead) and not selectors.lead_on_list(a, other)


def test_static_counts_are_grouped_in_one_query():
    lists = [static(f"List {n}") for n in range(3)]
    leads = [LeadFactory() for _ in range(4)]
    services.list_add_leads(lead_list=lists[0], lead_ids=[lead.pk for lead in leads], source="manual")
    services.list_add_leads(lead_list=lists[1], lead_ids=[leads[0].pk], source="manual")
    with CaptureQueriesContext(connection) as queries:
        counts = selectors.static_counts(lists)
    assert counts == {lists[0].pk: 4, lists[1].pk: 1, lists[2].pk: 0}
    assert len(queries) == 1


def test_member_ids_sql_embeds_in_another_statement():
    lead_list = static()
    leads = [LeadFactory() for _ in range(3)]
    services.list_add_leads(lead_list=lead_list, lead_ids=[leads[0].pk, leads[2].pk], source="manual")
    seg = segment({"op": "attr", "field": "company", "cmp": "eq", "value": leads[1].company})
    for this, wanted in ((lead_list, {leads[0].pk, leads[2].pk}), (seg, {leads[1].pk})):
        inner, params = selectors.list_member_ids_sql(this, name="m")
        statement = f"SELECT l.id FROM leads_lead l WHERE l.id IN ({inner}) AND l.id > %(floor)s"
        with connection.cursor() as cursor:
            cursor.execute(*sql.bind(statement, floor=0, **params))
            assert {row[0] for row in cursor.fetchall()} == wanted


# --- Segments hold what their tree holds now --------------------------------------------


@pytest.fixture
def people() -> dict[str, Lead]:
    """Six leads whose scores, firmographics and events each tree below tells apart."""
    now = timezone.now()
    ana = LeadFactory(email="ana@example.com", country="ES", company_size=250, fit_score=80, score=120)
    ben = LeadFactory(email="ben@example.com", country="es", company_size=40, fit_score=55, score=60)
    cai = LeadFactory(email="cai@example.com", country="PT", company_size=900, fit_score=90, score=20)
    dan = LeadFactory(email="dan@example.com", country="DE", company_size=None, fit_score=10, score=5)
    eva = LeadFactory(email="eva@example.com", country="", company_size=15, fit_score=0, score=0)
    fin = LeadFactory(email="fin@example.com", country="ES", company_size=120)
    LeadScore.objects.filter(lead=fin).delete()  # never scored: counts as zero
    events = [
        (ana, "webinar_attended", 10, {"webinar": "spring"}),
        (ben, "webinar_attended", 100, {"webinar": "spring"}),  # outside 90 days
        (cai, "webinar_attended", 5, {"webinar": "autumn"}),
        (cai, "webinar_attended", 50, {"webinar": "spring"}),
        (dan, "page_viewed", 1, {}),
        (eva, "webinar_attended", -2, {"webinar": "spring"}),  # after now: does not count yet
        (ana, "pricing_downloaded", 2, {}),
        (ben, "pricing_downloaded", 101, {}),
    ]
    for lead, kind, days_ago, properties in events:
        EventFactory(lead=lead, type=kind, occurred_at=now - timedelta(days=days_ago), properties=properties)
    return {lead.email.split("@")[0]: lead for lead in (ana, ben, cai, dan, eva, fin)}


TREES = [
    ({"op": "attr", "field": "country", "cmp": "in", "value": ["es"]}, {"ana", "ben", "fin"}),
    ({"op": "attr", "field": "company_size", "cmp": "gte", "value": 200}, {"ana", "cai"}),
    ({"op": "fit_gte", "value": 55}, {"ana", "ben", "cai"}),
    ({"op": "not", "child": {"op": "score_gte", "value": 1}}, {"eva", "fin"}),
    ({"op": "has_event", "event": "webinar_attended", "within_days": 90}, {"ana", "cai"}),
    ({"op": "has_event", "event": "webinar_attended", "where": {"webinar": "spring"}}, {"ana", "ben", "cai"}),
    ({"op": "has_event", "event": "webinar_attended", "min_count": 2}, {"cai"}),
    ({"op": "event_after", "event": "pricing_downloaded", "after": "webinar_attended"}, {"ana"}),
    (
        {
            "op": "all",
            "children": [
                {"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "PT"]},
                {
                    "op": "any",
                    "children": [
                        {"op": "fit_gte", "value": 85},
                        {"op": "has_event", "event": "pricing_downloaded", "within_days": 30},
                    ],
                },
            ],
        },
        {"ana", "cai"},
    ),
]


@pytest.mark.parametrize(("tree", "expected"), TREES, ids=[str(n) for n in range(len(TREES))])
def test_a_segment_holds_the_leads_its_tree_holds_for_now(people, tree, expected):
    seg = segment(tree)
    members = {lead.email.split("@")[0] for lead in selectors.list_members(seg)}
    assert members == expected
    assert selectors.list_count(seg) == len(expected)
    # The same leads a qualification backtest finds with the same tree as of now.
    qualified = backtest._qualified_as_of(tree, timezone.now())
    assert {lead.pk for lead in selectors.list_members(seg)} == qualified
    for name, lead in people.items():
        assert selectors.lead_on_list(seg, lead) == (name in expected), name
    # The list's page tests the tree on the lead rows it reads: the same leads.
    assert {lead.email.split("@")[0] for lead in selectors.segment_members_page_rows(seg)} == expected


def test_a_segments_page_shows_its_members_newest_first_ties_by_id_and_searched(people):
    """The page's rows are exactly `list_members` ordered newest first, the later id first
    among leads created at the same moment, with a tree of every kind of leaf."""
    now = timezone.now()
    moments = {"ana": now - timedelta(days=3), "ben": now - timedelta(days=1), "cai": now - timedelta(days=1)}
    moments |= {"dan": now - timedelta(days=2), "eva": now - timedelta(days=5), "fin": now - timedelta(days=1)}
    for name, moment in moments.items():
        Lead.objects.filter(pk=people[name].pk).update(created_at=moment)
    tree = {
        "op": "any",
        "children": [
            {"op": "attr", "field": "country", "cmp": "in", "value": ["es"]},
            {"op": "fit_gte", "value": 85},
            {"op": "has_event", "event": "page_viewed", "within_days": 7},
        ],
    }
    seg = segment(tree)
    by_id = sorted(["ana", "ben", "cai", "dan", "fin"], key=lambda name: people[name].pk)
    tied = [name for name in reversed(by_id) if name in ("ben", "cai", "fin")]  # a day ago, later id first
    expected = [*tied, "dan", "ana"]
    page = [lead.email.split("@")[0] for lead in selectors.segment_members_page_rows(seg)]
    assert page == expected
    ordered = selectors.list_members(seg).order_by("-created_at", "-id")
    assert [lead.pk for lead in selectors.segment_members_page_rows(seg)[:3]] == [lead.pk for lead in ordered[:3]]
    found = selectors.segment_members_page_rows(seg, search="cai")
    assert [lead.email for lead in found] == ["cai@example.com"]
    assert found.count() == 1


def test_a_segment_follows_the_leads_as_they_change(people):
    seg = segment({"op": "has_event", "event": "webinar_attended", "within_days": 90})
    assert selectors.list_count(seg) == 2
    EventFactory(lead=people["dan"], type="webinar_attended", occurred_at=timezone.now() - timedelta(hours=1))
    assert selectors.list_count(seg) == 3


def test_a_segment_whose_stored_tree_no_longer_compiles_has_no_members(people):
    seg = segment({"op": "fit_gte", "value": 1})
    LeadList.objects.filter(pk=seg.pk).update(condition={"op": "attr", "field": "gone", "cmp": "eq", "value": "x"})
    seg.refresh_from_db()
    assert selectors.segment_problems(seg)
    assert selectors.list_count(seg) == 0
    assert not selectors.list_members(seg).exists()
    assert not selectors.segment_members_page_rows(seg).exists()
    assert not selectors.lead_on_list(seg, people["ana"])


@pytest.mark.parametrize(
    "tree",
    [
        {"op": "fit_gte", "value": 60},
        {"op": "score_gte", "value": 1},
        {"op": "all", "children": [{"op": "fit_gte", "value": 20}, {"op": "score_gte", "value": 50}]},
        {"op": "fit_gte", "value": 0},  # at zero a lead with no score row passes: the whole compiled test
        {"op": "any", "children": [{"op": "fit_gte", "value": 60}, {"op": "score_gte", "value": 90}]},
        {"op": "has_event", "event": "webinar_attended", "within_days": 30},
        {"op": "has_event", "event": "webinar_attended", "where": {"topic": "scoring"}},
        {"op": "has_event", "event": "webinar_attended", "within_days": 30, "min_count": 2},
    ],
)
def test_a_count_of_scores_or_one_event_alone_equals_the_compiled_trees(tree):
    from tests.factories import EventFactory, LeadFactory

    now = timezone.now()
    for fit, score in [(70, 10), (60, 60), (59, 100), (0, 0), (20, 50), (21, 49)]:
        lead = LeadFactory(fit_score=fit, score=score)
        for days, topic in [(fit % 45, "scoring"), (score % 40, "other")][: 1 + fit % 2]:
            EventFactory(
                lead=lead, type="webinar_attended", occurred_at=now - timedelta(days=days), properties={"topic": topic}
            )
    EventFactory(lead=lead, type="webinar_attended", occurred_at=now + timedelta(days=1))  # not yet
    LeadFactory()  # not scored yet
    compiled = selectors.segment_compiled(tree)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(lists_sql.segment_count(compiled), **compiled.params))
        expected = cursor.fetchone()[0]
    assert selectors.condition_count(tree) == expected
    shortcut = bool(selectors._score_tests(tree)) or selectors._one_event_test(tree)
    assert shortcut == (tree["op"] != "any" and tree.get("value") != 0 and not tree.get("min_count"))
