from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import DefinitionStatus, Job, Lead, Stage, StageChange
from leads.qualification import backtest as qualification_backtest
from leads.qualification import selectors as qualification_selectors
from leads.qualification import services as qualification_services
from leads.qualification import sql as qualification_sql
from leads.qualification import trees as rules
from leads.qualification.services import DefinitionError
from smarketing.lib import sql
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db


def send(email, event_type, when, key=None, **properties):
    events_ingest(
        events=[
            EventIn(
                email=email,
                type=event_type,
                occurred_at=when,
                idempotency_key=key or f"{email}-{event_type}-{when}",
                properties=properties,
            )
        ]
    )


@pytest.fixture
def active(marketer, rep, manager):
    definition = qualification_services.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    qualification_services.definition_propose(definition=definition, by=marketer)
    qualification_services.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification_services.definition_sign(definition=definition, by=rep, side="sales")
    definition.refresh_from_db()
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    return definition


def test_article_journey_makes_an_mql_then_an_sql(active):
    t0 = timezone.now() - timedelta(days=5)
    send("ana@acme.io", "webinar_registered", t0)
    assert Lead.objects.get(email="ana@acme.io").stage == Stage.LEAD
    send("ana@acme.io", "webinar_attended", t0 + timedelta(days=1))
    lead = Lead.objects.get(email="ana@acme.io")
    assert lead.stage == Stage.MQL and lead.qualified_version == active.version
    send("ana@acme.io", "pricing_downloaded", t0 + timedelta(days=2))
    assert Lead.objects.get(email="ana@acme.io").stage == Stage.MQL
    send("ana@acme.io", "trial_started", t0 + timedelta(days=3))
    assert Lead.objects.get(email="ana@acme.io").stage == Stage.SQL
    change = StageChange.objects.get(lead__email="ana@acme.io", to_stage=Stage.SQL)
    assert change.definition_version == active.version
    assert change.matched_rules == [
        "pricing downloaded after webinar attended",
        "trial started after webinar attended",
    ]


def test_one_batch_with_the_whole_journey_goes_straight_to_sql(active):
    t0 = timezone.now() - timedelta(days=5)
    journey = ["webinar_registered", "webinar_attended", "pricing_downloaded", "trial_started"]
    events_ingest(events=[EventIn("bo@acme.io", kind, t0 + timedelta(days=n), kind) for n, kind in enumerate(journey)])
    lead = Lead.objects.get(email="bo@acme.io")
    assert lead.stage == Stage.SQL
    moves = list(StageChange.objects.filter(lead=lead).order_by("id").values_list("from_stage", "to_stage"))
    assert moves == [("", Stage.LEAD), (Stage.LEAD, Stage.MQL), (Stage.MQL, Stage.SQL)]


def test_requalifying_everyone_promotes_each_lead_as_far_as_it_qualifies(active):
    t0 = timezone.now() - timedelta(days=5)
    webinar, pricing, trial = LeadFactory(), LeadFactory(), LeadFactory()
    for lead, kinds in ((webinar, 2), (pricing, 3), (trial, 4)):
        for n, kind in enumerate(
            ["webinar_registered", "webinar_attended", "pricing_downloaded", "trial_started"][:kinds]
        ):
            EventFactory(lead=lead, type=kind, occurred_at=t0 + timedelta(days=n))
    assert qualification_services.leads_qualify() == {Stage.MQL: 3, Stage.SQL: 1}
    stages = dict(Lead.objects.filter(pk__in=[webinar.pk, pricing.pk, trial.pk]).values_list("pk", "stage"))
    assert stages == {webinar.pk: Stage.MQL, pricing.pk: Stage.MQL, trial.pk: Stage.SQL}


@pytest.mark.django_db(transaction=True)
def test_requalifying_everyone_in_id_ranges_finds_every_qualifying_lead(monkeypatch, active):
    monkeypatch.setattr(sql, "ID_RANGE", 2)  # several ranges, in parallel on PostgreSQL
    t0 = timezone.now() - timedelta(days=5)
    leads = LeadFactory.create_batch(7)
    for lead in leads[1::2]:
        EventFactory(lead=lead, type="webinar_registered", occurred_at=t0)
        EventFactory(lead=lead, type="webinar_attended", occurred_at=t0 + timedelta(days=1))
    assert qualification_services.leads_qualify() == {Stage.MQL: 3, Stage.SQL: 0}
    mqls = set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True))
    assert mqls == {lead.pk for lead in leads[1::2]}


def test_attending_before_registering_does_not_qualify(active):
    t0 = timezone.now() - timedelta(days=5)
    send("bo@acme.io", "webinar_attended", t0)
    send("bo@acme.io", "webinar_registered", t0 + timedelta(hours=1))
    assert Lead.objects.get(email="bo@acme.io").stage == Stage.LEAD


def test_pricing_before_the_webinar_does_not_make_an_sql(active):
    t0 = timezone.now() - timedelta(days=5)
    send("cy@acme.io", "pricing_downloaded", t0)
    send("cy@acme.io", "trial_started", t0)
    send("cy@acme.io", "webinar_registered", t0 + timedelta(days=1))
    send("cy@acme.io", "webinar_attended", t0 + timedelta(days=2))
    assert Lead.objects.get(email="cy@acme.io").stage == Stage.MQL


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"op": "fit_gte", "value": 50}, {"fit"}),
        ({"op": "score_gte", "value": 30}, {"score"}),
        ({"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "MX"]}, {"spain"}),
        ({"op": "attr", "field": "email_domain", "cmp": "eq", "value": "rival.io"}, {"rival"}),
        ({"op": "has_event", "event": "demo_requested", "where": {"plan": "pro"}}, {"pro"}),
        ({"op": "has_event", "event": "page_viewed", "min_count": 3}, {"reader"}),
        ({"op": "has_event", "event": "page_viewed", "within_days": 7}, {"recent"}),
        ({"op": "not", "child": {"op": "fit_gte", "value": 1}}, {"score", "spain", "rival", "pro", "reader", "recent"}),
        (
            {"op": "any", "children": [{"op": "fit_gte", "value": 50}, {"op": "score_gte", "value": 30}]},
            {"fit", "score"},
        ),
        (
            {"op": "all", "children": [{"op": "has_event", "event": "page_viewed"}, {"op": "score_gte", "value": 0}]},
            {"reader", "recent"},
        ),
    ],
)
def test_each_rule_type_selects_the_right_leads(tree, expected):
    now = timezone.now()
    LeadFactory(email="fit@x.io", fit_score=60)
    LeadFactory(email="score@x.io", score=35)
    LeadFactory(email="spain@x.io", country="es")
    LeadFactory(email="ops@rival.io")
    pro = LeadFactory(email="pro@x.io")
    hour_ago = now - timedelta(hours=1)
    EventFactory(lead=pro, type="demo_requested", properties={"plan": "pro"}, occurred_at=hour_ago)
    basic = LeadFactory(email="basic@x.io", score=-1)
    EventFactory(lead=basic, type="demo_requested", properties={"plan": "basic"}, occurred_at=hour_ago)
    reader = LeadFactory(email="reader@x.io")
    for days in (20, 30, 40):
        EventFactory(lead=reader, type="page_viewed", occurred_at=now - timedelta(days=days))
    EventFactory(lead=LeadFactory(email="recent@x.io"), type="page_viewed", occurred_at=now - timedelta(days=2))
    assert not rules.tree_errors(tree)
    compiled = qualification_sql.compile_tree(tree, as_of=now, name="tree")
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(f"SELECT l.email FROM leads_lead l WHERE {compiled.condition}", **compiled.params))
        found = {row[0].split("@")[0] for row in cursor.fetchall()}
    found.discard("basic")
    if expected == {"score", "spain", "rival", "pro", "reader", "recent"}:
        expected = expected | {"ops"} - {"rival"}
    assert found == {"ops" if name == "rival" else name for name in expected}


def test_two_trees_in_one_statement_name_their_values_apart_and_each_value_follows_its_leaf():
    now = timezone.now()
    mql = qualification_sql.compile_tree(ARTICLE_MQL, as_of=now, name="mql")
    sql_tree = qualification_sql.compile_tree(ARTICLE_SQL, as_of=now, name="sql")
    assert not set(mql.params) & set(sql_tree.params)
    assert all(name.startswith("mql") for name in mql.params)
    statement, params = qualification_sql.qualifying(
        mql, sql_tree, promotes_from=[Stage.LEAD], stages=[Stage.LEAD, Stage.MQL], ids=[1, 2]
    )
    text, values = sql.bind(statement, **params)
    assert text.count("%s") == len(values)
    # The SQL tree sits in the outer select, before the MQL tree in the text: its values come first.
    assert values[0] == Stage.MQL
    event_types = set(leaf_types(ARTICLE_MQL) + leaf_types(ARTICLE_SQL))
    assert [value for value in values if value in event_types] == leaf_types(ARTICLE_SQL) + leaf_types(ARTICLE_MQL)


def leaf_types(tree):
    found = []
    for leaf in rules.leaves(tree):
        found += [leaf[key] for key in ("event", "after") if key in leaf]
    return found


def test_a_tree_s_name_must_be_a_plain_parameter_name():
    with pytest.raises(ValueError, match="parameter name"):
        qualification_sql.compile_tree(ARTICLE_MQL, as_of=timezone.now(), name="mql) OR (1=1")
    with pytest.raises(ValueError, match="table alias"):
        qualification_sql.compile_tree(ARTICLE_MQL, as_of=timezone.now(), name="mql", lead="l.id OR 1=1 --")
    every_leaf = {
        "op": "all",
        "children": [
            *ARTICLE_MQL["children"],
            {"op": "attr", "field": "country", "cmp": "in", "value": ["ES"]},
            {"op": "fit_gte", "value": 60},
        ],
    }
    compiled = qualification_sql.compile_tree(every_leaf, as_of=timezone.now(), name="mql", lead="leads_lead")
    assert compiled.condition.count("= leads_lead.id") == 4 and "leads_lead.country" in compiled.condition
    assert "l.id" not in compiled.condition.replace("leads_lead.id", "")


def test_events_after_the_moment_do_not_count():
    lead = LeadFactory()
    moment = timezone.now() - timedelta(days=10)
    EventFactory(lead=lead, type="trial_started", occurred_at=moment + timedelta(days=1))
    tree = {"op": "has_event", "event": "trial_started"}
    assert qualification_backtest._qualified_as_of(tree, moment) == set()
    assert qualification_backtest._qualified_as_of(tree, timezone.now()) == {lead.pk}


def test_bad_trees_are_explained():
    errors = rules.tree_errors({"op": "all", "children": [{"op": "has_event"}, {"op": "fit_gte", "value": "x"}]})
    assert errors == [
        "children.0: event must be an event type as the events API takes it: lower case letters, digits "
        "and _ . - (up to 64 characters), like webinar_attended.",
        "children.1: fit_gte needs a number.",
    ]
    assert rules.tree_errors({"op": "drop table"})
    assert rules.tree_errors({"op": "attr", "field": "password", "cmp": "eq", "value": "x"})


def test_a_tree_holding_text_the_database_cannot_store_is_explained():
    lone = {"op": "attr", "field": "company", "cmp": "eq", "value": "Acme \ud800"}
    nul = {"op": "has_event", "event": "page_viewed", "where": {"page": "/a\x00b"}}
    assert rules.tree_errors(lone) == ["Text may not contain surrogate characters (U+D800 to U+DFFF) on their own."]
    assert rules.tree_errors({"op": "any", "children": [nul]}) == ["Text may not contain NUL characters."]


def test_stages_never_move_back(active):
    customer = LeadFactory(email="c@x.io", stage=Stage.CUSTOMER)
    for n, kind in enumerate(["webinar_registered", "webinar_attended"]):
        EventFactory(lead=customer, type=kind, occurred_at=timezone.now() - timedelta(days=3 - n))
    qualification_services.leads_qualify()
    customer.refresh_from_db()
    assert customer.stage == Stage.CUSTOMER


def test_approval_needs_both_sides_and_then_activation_requalifies(
    marketer, rep, manager, django_capture_on_commit_callbacks
):
    lead = LeadFactory()
    EventFactory(lead=lead, type="webinar_registered", occurred_at=timezone.now() - timedelta(days=2))
    EventFactory(lead=lead, type="webinar_attended", occurred_at=timezone.now() - timedelta(days=1))
    draft = qualification_services.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    with pytest.raises(DefinitionError):
        qualification_services.definition_sign(definition=draft, by=marketer, side="marketing")
    qualification_services.definition_propose(definition=draft, by=marketer)
    with pytest.raises(DefinitionError, match="may not sign for marketing"):
        qualification_services.definition_sign(definition=draft, by=rep, side="marketing")
    qualification_services.definition_sign(definition=draft, by=marketer, side="marketing")
    draft.refresh_from_db()
    assert draft.status == DefinitionStatus.PROPOSED
    with pytest.raises(DefinitionError, match="already signed"):
        qualification_services.definition_sign(definition=draft, by=manager, side="marketing")
    qualification_services.definition_sign(definition=draft, by=manager, side="sales")
    draft.refresh_from_db()
    assert draft.status == DefinitionStatus.APPROVED
    with django_capture_on_commit_callbacks(execute=False):
        job = qualification_services.definition_activate(definition=draft, by=manager)
    qualification_services.requalify_run(job=job)
    job.refresh_from_db()
    lead.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result["promoted"]["mql"] == 1
    assert lead.stage == Stage.MQL


def test_one_active_version_at_a_time(active, marketer, rep, django_capture_on_commit_callbacks):
    second = qualification_services.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule={})
    qualification_services.definition_propose(definition=second, by=marketer)
    qualification_services.definition_sign(definition=second, by=marketer, side="marketing")
    qualification_services.definition_sign(definition=second, by=rep, side="sales")
    with django_capture_on_commit_callbacks(execute=False):
        qualification_services.definition_activate(definition=second, by=marketer)
    active.refresh_from_db()
    assert active.status == DefinitionStatus.RETIRED
    assert qualification_selectors.active_definition().pk == second.pk


def test_editing_an_approved_version_starts_a_new_draft(active, marketer):
    new = qualification_services.definition_edit(definition=active, by=marketer, name="Stricter")
    assert new.pk != active.pk and new.status == DefinitionStatus.DRAFT
    assert new.version == active.version + 1 and new.based_on_id == active.pk
    diff = qualification_selectors.definitions_diff(
        active,
        qualification_services.definition_edit(definition=new, by=marketer, mql_rule={"op": "fit_gte", "value": 70}),
    )
    assert {"part": "MQL", "change": "added", "text": "fit is at least 70"} in diff


def test_backtest_counts_new_qualifiers_per_month(marketer):
    now = timezone.now()
    won = LeadFactory(stage=Stage.CUSTOMER, created_at=now - timedelta(days=200))
    lost = LeadFactory(stage=Stage.MQL, created_at=now - timedelta(days=200))
    for lead, days_ago in ((won, 100), (lost, 40)):
        EventFactory(lead=lead, type="webinar_registered", occurred_at=now - timedelta(days=days_ago + 1))
        EventFactory(lead=lead, type="webinar_attended", occurred_at=now - timedelta(days=days_ago))
    draft = qualification_services.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    result = qualification_backtest.backtest(definition=draft, now=now)
    months = result["draft"]["mql"]
    assert len(months) == 12
    assert sum(m["count"] for m in months) == 2
    assert result["draft_totals"]["mql"] == {"count": 2, "won": 1, "win_rate": 50.0}
    by_month = {m["month"]: m for m in months}
    won_month = timezone.localtime(now - timedelta(days=100)).strftime("%Y-%m")
    assert by_month[won_month]["won"] == 1
