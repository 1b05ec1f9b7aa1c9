"""The lead list (filters, search, ordering, saved views, bulk owner change, export) and the lead page."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads import selectors as forms_leads
from leads.capture.ingest import EventIn, events_ingest
from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import LEAD_PROFILE_FIELDS, DefinitionStatus, Job, Lead, Persona, SavedView, ScoringRule, Stage
from leads.qualification import services as qualification
from leads.services import leads_set_owner_run
from tests.factories import CampaignFactory, EventFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = reverse("leads:list")
EXPORT = reverse("leads:export")


def listed(response) -> set[int]:
    return {lead.pk for lead in response.context["page"].object_list}


def exported(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


# --- Filters, search, ordering ---------------------------------------------------------------


def test_each_filter_narrows_the_list(marketer_client, rep):
    persona = Persona.objects.create(name="Ops", conditions=[])
    campaign = CampaignFactory()
    old = LeadFactory(created_at=timezone.now() - timedelta(days=40), source="seo")
    mql = LeadFactory(stage=Stage.MQL, score=80, owner=rep, persona=persona, first_campaign=campaign, source="ads")
    LeadFactory(stage=Stage.LEAD, score=10, source="ads")
    cases = {
        "stage=mql": {mql.pk},
        f"owner={rep.pk}": {mql.pk},
        "score_min=50": {mql.pk},
        "score_max=20": set(Lead.objects.exclude(pk=mql.pk).values_list("pk", flat=True)),
        f"persona={persona.pk}": {mql.pk},
        "source=seo": {old.pk},
        f"campaign={campaign.pk}": {mql.pk},
        f"created_before={(timezone.localdate() - timedelta(days=30)).isoformat()}": {old.pk},
        f"created_after={(timezone.localdate() - timedelta(days=1)).isoformat()}&source=ads": {
            pk for pk in Lead.objects.filter(source="ads").values_list("pk", flat=True)
        },
    }
    for query, expected in cases.items():
        response = marketer_client.get(f"{LIST}?{query}")
        assert response.status_code == 200, query
        assert listed(response) == expected, query


def test_stage_filter_takes_several_stages_and_owner_null_means_unassigned(marketer_client, rep):
    mql, sql = LeadFactory(stage=Stage.MQL, owner=rep), LeadFactory(stage=Stage.SQL)
    LeadFactory(stage=Stage.LEAD, owner=rep)
    assert listed(marketer_client.get(f"{LIST}?stage=mql&stage=sql")) == {mql.pk, sql.pk}
    assert listed(marketer_client.get(f"{LIST}?stage=mql&stage=sql&owner=null")) == {sql.pk}


def test_several_stages_are_filtered_without_distinct_so_the_index_serves_them(marketer_client):
    LeadFactory(stage=Stage.MQL)
    with CaptureQueriesContext(connection) as queries:
        marketer_client.get(f"{LIST}?stage=mql&stage=sql")
    lead_queries = [q["sql"] for q in queries.captured_queries if 'FROM "leads_lead"' in q["sql"]]
    assert lead_queries and not any("DISTINCT" in sql for sql in lead_queries)


def test_search_matches_name_email_and_company_word_by_word(marketer_client):
    ana = LeadFactory(first_name="Ana", last_name="Pérez", email="ana@acme.io", company="Acme Ltda")
    luis = LeadFactory(first_name="Luis", last_name="Gómez", email="luis@nube.co", company="Nube SAS")
    assert listed(marketer_client.get(f"{LIST}?q=acme")) == {ana.pk}
    assert listed(marketer_client.get(f"{LIST}?q=nube.co")) == {luis.pk}
    assert listed(marketer_client.get(f"{LIST}?q=ana+ltda")) == {ana.pk}
    assert listed(marketer_client.get(f"{LIST}?q=ana+nube")) == set()


def test_ordering_sorts_by_the_chosen_column_both_ways(marketer_client):
    low, high, mid = LeadFactory(score=5), LeadFactory(score=90), LeadFactory(score=40)
    ascending = marketer_client.get(f"{LIST}?ordering=score")
    assert [lead.pk for lead in ascending.context["page"].object_list] == [low.pk, mid.pk, high.pk]
    descending = marketer_client.get(f"{LIST}?ordering=-score")
    assert [lead.pk for lead in descending.context["page"].object_list] == [high.pk, mid.pk, low.pk]
    assert 'aria-sort="descending"' in descending.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ordering=password", "Order by: Select a valid choice"),
        ("ordering=owner__password", "Order by: Select a valid choice"),
        ("stage=bogus", "Stage: Select a valid choice"),
        ("score_min=abc", "Enter a whole number"),
        ("score_min=99999999999999999999", "less than or equal to"),
        ("owner=1%20OR%201=1", "Owner: Select a valid choice"),
        ("persona=99999999999999999999999", "Persona: Select a valid choice"),
        ("campaign=abc", "Select a valid choice"),
        ("created_after=yesterday", "Enter a date (YYYY-MM-DD)"),
        ("created_after=0001-01-01", "Enter a date between 1900 and"),
        ("page=0", "Page: Ensure this value is greater than or equal to 1"),
        ("page=abc&stage=bogus", "Stage: Select a valid choice"),
        ("q=" + "x" * 300, "at most 200 characters"),
    ],
)
def test_a_hostile_filter_or_ordering_is_a_400_with_a_message(marketer_client, query, message):
    LeadFactory()
    response = marketer_client.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_exported_list_with_a_hostile_filter_is_refused_too(marketer_client):
    response = marketer_client.get(f"{EXPORT}?ordering=;drop")
    assert response.status_code == 400
    assert "Order by: Select a valid choice" in response.content.decode()


def test_pages_hold_fifty_leads_and_link_to_the_next(marketer_client):
    LeadFactory.create_batch(52)
    first = marketer_client.get(LIST)
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].count.value == 52 and first.context["page"].count.exact
    assert "page=2" in first.content.decode()
    second = marketer_client.get(f"{LIST}?page=2&ordering=score")
    assert len(second.context["page"].object_list) == 2
    assert "52 leads" in second.content.decode()


def test_a_page_past_the_end_says_so(marketer_client):
    LeadFactory()
    response = marketer_client.get(f"{LIST}?page=9")
    assert response.status_code == 200
    assert "No leads on page 9" in response.content.decode()


def test_count_is_exact_below_the_threshold_and_an_estimate_above_it_on_postgres(marketer_client, monkeypatch):
    LeadFactory.create_batch(6, stage=Stage.MQL)
    monkeypatch.setattr(forms_leads, "EXACT_COUNT_LIMIT", 3)
    count = forms_leads.leads_count(Lead.objects.filter(stage=Stage.MQL), limit=3)
    if connection.vendor == "postgresql":
        assert not count.exact and count.value >= 4
        unfiltered = forms_leads.leads_count(Lead.objects.all(), limit=3)
        assert not unfiltered.exact and unfiltered.value >= 4
    else:
        assert count.exact and count.value == 6
    assert forms_leads.leads_count(Lead.objects.all(), limit=100) == forms_leads.LeadCount(6, exact=True)


def test_an_estimated_count_is_labelled_about(marketer_client, monkeypatch):
    LeadFactory.create_batch(4)
    monkeypatch.setattr(forms_leads, "leads_count", lambda leads: forms_leads.LeadCount(2_345_678, exact=False))
    content = marketer_client.get(LIST).content.decode()
    assert "about 2,345,678 leads" in content


def test_list_query_count_does_not_grow_with_the_leads(marketer_client, rep, django_assert_max_num_queries):
    persona, campaign = Persona.objects.create(name="Ops", conditions=[]), CampaignFactory()
    LeadFactory.create_batch(5, owner=rep, persona=persona, first_campaign=campaign)
    with django_assert_max_num_queries(14) as few:
        marketer_client.get(f"{LIST}?ordering=score&stage=lead")
    LeadFactory.create_batch(45, owner=rep, persona=persona, first_campaign=campaign)
    with django_assert_max_num_queries(len(few.captured_queries)):
        marketer_client.get(f"{LIST}?ordering=score&stage=lead")


# --- Reps -----------------------------------------------------------------------------------


def test_rep_sees_only_their_own_leads_and_no_bulk_actions(rep_client, rep, other_rep):
    mine = LeadFactory(owner=rep)
    LeadFactory(owner=other_rep)
    response = rep_client.get(LIST)
    assert listed(response) == {mine.pk}
    assert 'id="bulk"' not in response.content.decode()


def test_rep_cannot_change_owners_in_bulk(rep_client, rep):
    lead = LeadFactory(owner=rep)
    response = rep_client.post(reverse("leads:bulk_owner"), {"lead": [lead.pk], "owner": "null"})
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_user_without_a_role_cannot_open_the_list(client, nobody):
    client.force_login(nobody)
    assert client.get(LIST).status_code == 403
    assert client.get(EXPORT).status_code == 403


# --- Saved views ----------------------------------------------------------------------------


def test_default_views_are_offered_as_tabs(marketer_client):
    content = marketer_client.get(LIST).content.decode()
    for name in ("New this week", "MQLs not yet accepted", "Recycled to nurture"):
        assert name in content
    mql, recycled = LeadFactory(stage=Stage.MQL), LeadFactory(stage=Stage.RECYCLED)
    assert listed(marketer_client.get(f"{LIST}?stage=mql")) == {mql.pk}
    assert listed(marketer_client.get(f"{LIST}?stage=recycled")) == {recycled.pk}


def test_saving_a_view_keeps_its_filters_and_shows_it_as_a_tab(marketer_client, marketer):
    response = marketer_client.post(
        reverse("leads:view_save"), {"name": "Hot MQLs", "query": "stage=mql&score_min=50&page=3", "shared": "on"}
    )
    view = SavedView.objects.get(owner=marketer)
    assert (view.name, view.query, view.shared) == ("Hot MQLs", "stage=mql&score_min=50", True)
    assert response.status_code == 302 and response.url.endswith("?stage=mql&score_min=50")
    page = marketer_client.get(f"{LIST}?stage=mql&score_min=50")
    active = [tab for tab in page.context["tabs"] if tab["active"]]
    assert [tab["name"] for tab in active] == ["Hot MQLs"]


def test_saving_a_view_with_a_taken_name_or_bad_filters_is_a_400(marketer_client, marketer):
    SavedView.objects.create(owner=marketer, name="Mine", query="stage=mql")
    taken = marketer_client.post(reverse("leads:view_save"), {"name": "Mine", "query": "stage=sql"})
    assert taken.status_code == 400 and "already have a view" in taken.content.decode()
    hostile = marketer_client.post(reverse("leads:view_save"), {"name": "Bad", "query": "ordering=password"})
    assert hostile.status_code == 400
    assert SavedView.objects.count() == 1


def test_a_rep_saves_private_views_but_cannot_share_them(rep_client, rep):
    refused = rep_client.post(reverse("leads:view_save"), {"name": "Mine", "query": "stage=sql", "shared": "on"})
    assert refused.status_code == 400
    assert rep_client.post(reverse("leads:view_save"), {"name": "Mine", "query": "stage=sql"}).status_code == 302
    assert SavedView.objects.get(owner=rep).shared is False


def test_shared_views_are_seen_by_everyone_but_deleted_only_by_their_owner(marketer, rep_client, marketer_client):
    view = SavedView.objects.create(owner=marketer, name="Team view", query="stage=sql", shared=True)
    SavedView.objects.create(owner=marketer, name="Private", query="stage=mql")
    names = [tab["name"] for tab in rep_client.get(LIST).context["tabs"]]
    assert "Team view" in names and "Private" not in names
    assert rep_client.post(reverse("leads:view_delete", args=[view.pk])).status_code == 404
    assert rep_client.get(reverse("leads:view_delete", args=[view.pk])).status_code == 405
    response = marketer_client.post(reverse("leads:view_delete", args=[view.pk]), follow=True)
    assert not SavedView.objects.filter(pk=view.pk).exists()
    assert "Deleted the view “Team view”" in response.content.decode()


# --- Bulk owner change ----------------------------------------------------------------------


def test_bulk_owner_change_queues_a_job_that_gives_the_leads_their_owner(marketer_client, marketer, rep):
    chosen = LeadFactory.create_batch(3)
    untouched = LeadFactory()
    response = marketer_client.post(
        reverse("leads:bulk_owner"),
        {"lead": [lead.pk for lead in chosen], "owner": rep.pk, "next": f"{LIST}?stage=lead"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    job = Job.objects.get(kind="set_owner")
    assert job.params == {"lead_ids": sorted(lead.pk for lead in chosen), "owner_id": rep.pk}
    assert job.created_by == marketer and job.total == 3
    assert f'id="job-{job.pk}"' in response.content.decode()  # the progress bar, polled in place
    leads_set_owner_run(job=job)
    assert set(Lead.objects.filter(owner=rep).values_list("pk", flat=True)) == {lead.pk for lead in chosen}
    assert Lead.objects.get(pk=untouched.pk).owner is None
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"changed": 3}


def test_bulk_owner_change_without_htmx_redirects_back_with_a_message(manager_client, rep):
    lead = LeadFactory()
    response = manager_client.post(
        reverse("leads:bulk_owner"), {"lead": [lead.pk], "owner": rep.pk, "next": f"{LIST}?stage=lead"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{LIST}?stage=lead"
    assert "Changing the owner of 1 lead" in response.content.decode()
    assert response.context["jobs"]  # the running job's bar is shown on the list


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"owner": "null"}, "Select at least one lead"),
        ({"lead": ["1", "x"], "owner": "null"}, "not a lead"),
        ({"lead": ["1"], "owner": "999999"}, "list of sales reps"),
        ({"lead": ["1"]}, "Choose the new owner"),
    ],
)
def test_bulk_owner_change_with_bad_input_is_a_400(marketer_client, data, message):
    response = marketer_client.post(reverse("leads:bulk_owner"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Job.objects.exists()


def test_bulk_owner_change_refuses_a_non_rep_owner_and_an_outside_next(marketer_client, marketer):
    lead = LeadFactory()
    response = marketer_client.post(reverse("leads:bulk_owner"), {"lead": [lead.pk], "owner": marketer.pk})
    assert response.status_code == 302 and not Job.objects.exists()
    outside = marketer_client.post(
        reverse("leads:bulk_owner"), {"lead": [lead.pk], "owner": "null", "next": "https://evil.example/"}
    )
    assert outside.url == LIST


# --- Export ---------------------------------------------------------------------------------


def test_export_holds_every_filtered_row_not_only_the_page(marketer_client):
    LeadFactory.create_batch(55, stage=Stage.MQL)
    LeadFactory.create_batch(3, stage=Stage.LEAD)
    response = marketer_client.get(f"{EXPORT}?stage=mql&page=1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = exported(response)
    assert len(rows) == 55
    assert {row["stage"] for row in rows} == {"mql"}
    assert {int(row["id"]) for row in rows} == set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True))


def test_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(marketer_client):
    dangerous = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"]
    for index, text in enumerate(dangerous):
        LeadFactory(email=f"f{index}@example.com", company=text, first_name="Safe")
    rows = exported(marketer_client.get(f"{EXPORT}?ordering=created_at"))
    assert [row["company"] for row in rows] == ["'" + text for text in dangerous]
    assert {row["first_name"] for row in rows} == {"Safe"}


def test_rep_export_holds_only_their_own_leads(rep_client, rep, other_rep):
    mine = LeadFactory(owner=rep)
    LeadFactory(owner=other_rep)
    LeadFactory()
    assert [int(row["id"]) for row in exported(rep_client.get(EXPORT))] == [mine.pk]


# --- Escaping -------------------------------------------------------------------------------


def test_markup_in_lead_fields_is_stored_as_given_and_shown_escaped(marketer_client):
    lead = LeadFactory(first_name="<script>alert(1)</script>", company="<b>Acme</b>")
    assert Lead.objects.get(pk=lead.pk).first_name == "<script>alert(1)</script>"
    for url in (LIST, reverse("leads:detail", args=[lead.pk])):
        content = marketer_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in content
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
        assert "&lt;b&gt;Acme&lt;/b&gt;" in content


# --- The lead page --------------------------------------------------------------------------


@pytest.fixture
def active_definition(marketer, rep):
    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    qualification.definition_propose(definition=definition, by=marketer)
    qualification.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification.definition_sign(definition=definition, by=rep, side="sales")
    definition.refresh_from_db()
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    return definition


def send(email: str, event_type: str, when) -> None:
    events_ingest(
        events=[EventIn(email=email, type=event_type, occurred_at=when, idempotency_key=f"{email}-{event_type}")]
    )


@pytest.fixture
def qualified_lead(active_definition):
    Persona.objects.create(
        name="Ops lead",
        conditions=[
            {"field": "industry", "op": "eq", "value": "SaaS", "weight": 3},
            {"field": "company_size", "op": "gte", "value": 50, "weight": 1},
        ],
    )
    ScoringRule.objects.create(name="Webinar", event_type="webinar_attended", points=20)
    ScoringRule.objects.create(name="Free mail", kind=ScoringRule.Kind.FREE_MAIL, points=5, values=["gmail.com"])
    t0 = timezone.now() - timedelta(days=3)
    Lead.objects.create(email="ana@gmail.com", first_name="Ana", industry="SaaS", company_size=10)
    for offset, event_type in enumerate(["webinar_registered", "webinar_attended", "pricing_downloaded"]):
        send("ana@gmail.com", event_type, t0 + timedelta(hours=offset))
    send("ana@gmail.com", "trial_started", t0 + timedelta(hours=5))
    return Lead.objects.get(email="ana@gmail.com")


def test_lead_page_explains_the_score_with_rules_that_sum_to_it(marketer_client, qualified_lead):
    response = marketer_client.get(reverse("leads:detail", args=[qualified_lead.pk]))
    assert response.status_code == 200
    rows = {row["rule"]: row["points"] for row in response.context["score_rows"]}
    assert rows == {"Fit (Ops lead)": 75, "Webinar": 20, "Free mail": -5}
    assert response.context["score_total"] == qualified_lead.score == 90
    content = response.content.decode()
    assert "Fit (Ops lead)" in content and "-5" in content


def test_lead_page_says_why_it_qualified_and_under_which_version(marketer_client, qualified_lead, active_definition):
    assert qualified_lead.stage == Stage.SQL
    content = marketer_client.get(reverse("leads:detail", args=[qualified_lead.pk])).content.decode()
    assert f"SQL under v{active_definition.version}" in content
    assert "✓&nbsp;pricing downloaded after webinar attended" in content
    assert "✓&nbsp;trial started after webinar attended" in content
    assert f"qualified under v{active_definition.version}" in content


def test_lead_page_marks_the_personas_conditions_matched_or_not(marketer_client, qualified_lead):
    conditions = marketer_client.get(reverse("leads:detail", args=[qualified_lead.pk])).context["persona_conditions"]
    assert [(row["text"], row["matched"]) for row in conditions] == [
        ("Industry is SaaS", True),
        ("Company size is at least 50", False),
    ]


def test_timeline_mixes_events_and_stage_changes_newest_first_and_filters_by_kind(marketer_client):
    lead = LeadFactory()
    now = timezone.now()
    EventFactory(lead=lead, type="page_viewed", occurred_at=now - timedelta(days=2))
    EventFactory(lead=lead, type="email_opened", occurred_at=now - timedelta(hours=1))
    lead.stage_changes.create(from_stage="lead", to_stage="mql", changed_at=now - timedelta(days=1))
    url = reverse("leads:detail", args=[lead.pk])
    items = marketer_client.get(url).context["timeline"]
    assert [(item.kind, getattr(item.row, "type", "")) for item in items] == [
        ("event", "email_opened"),
        ("stage", ""),
        ("event", "page_viewed"),
    ]
    partial = marketer_client.get(f"{url}?kind=stages", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    content = partial.content.decode()
    assert content.strip().startswith('<section class="card" aria-labelledby="timeline-title" id="timeline">')
    assert "<html" not in content  # only the timeline, swapped in place
    assert "MQL" in content and "email_opened" not in content and "page_viewed" not in content
    refused = marketer_client.get(f"{url}?kind=passwords")
    assert refused.status_code == 400
    assert "Show one of: all, events, stages." in refused.content.decode()
    assert "Why this score" in refused.content.decode()  # the rest of the page still shows
    in_place = marketer_client.get(f"{url}?page=99", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    assert in_place.status_code == 400 and "less than or equal to 20" in in_place.content.decode()


def test_timeline_is_paginated(marketer_client):
    lead = LeadFactory()
    for n in range(forms_leads.TIMELINE_PAGE + 5):
        EventFactory(lead=lead, occurred_at=timezone.now() - timedelta(minutes=n))
    url = reverse("leads:detail", args=[lead.pk])
    first = marketer_client.get(f"{url}?kind=events")
    assert len(first.context["timeline"]) == forms_leads.TIMELINE_PAGE and first.context["more"]
    second = marketer_client.get(f"{url}?kind=events&page=2")
    assert len(second.context["timeline"]) == 5 and not second.context["more"]


def test_lead_page_query_count_is_bounded(marketer_client, qualified_lead, django_assert_max_num_queries):
    for n in range(30):
        EventFactory(lead=qualified_lead, occurred_at=timezone.now() - timedelta(minutes=n))
    with django_assert_max_num_queries(14):
        marketer_client.get(reverse("leads:detail", args=[qualified_lead.pk]))


def test_rep_sees_their_lead_but_gets_404_for_another_reps(rep_client, rep, other_rep):
    mine, theirs = LeadFactory(owner=rep), LeadFactory(owner=other_rep)
    response = rep_client.get(reverse("leads:detail", args=[mine.pk]))
    assert response.status_code == 200
    assert reverse("leads:edit", args=[mine.pk]) not in response.content.decode()
    assert rep_client.get(reverse("leads:detail", args=[theirs.pk])).status_code == 404


# --- Editing a lead -------------------------------------------------------------------------


def test_marketer_edits_a_lead_and_its_fit_is_recalculated(marketer_client):
    Persona.objects.create(name="SaaS", conditions=[{"field": "industry", "op": "eq", "value": "SaaS", "weight": 1}])
    lead = LeadFactory(industry="Retail")
    data = {"first_name": "Ana", "last_name": "Pérez", "company": "Acme", "industry": "SaaS", "country": "es"}
    response = marketer_client.post(reverse("leads:edit", args=[lead.pk]), data, follow=True)
    lead.refresh_from_db()
    assert (lead.first_name, lead.industry, lead.country) == ("Ana", "SaaS", "ES")
    assert lead.fit_score == 100 and lead.score == 100
    assert "the score was recalculated" in response.content.decode()


def test_editing_with_bad_values_is_a_400_with_a_message_per_field(manager_client):
    lead = LeadFactory(first_name="Ana")
    data = {"first_name": "x" * 101, "country": "Spain", "company_size": "-3"}
    response = manager_client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"first_name", "country", "company_size"}
    assert (
        '<ul class="errorlist" id="id_country_error"><li>Ensure this value has at most 2 characters (it has 5).</li>'
        in response.text
    )
    assert Lead.objects.filter(pk=lead.pk, first_name="Ana", country=lead.country).exists()


def test_a_lead_sent_with_every_field_empty_is_saved_cleared(marketer_client):
    """Every fact on the form is optional, so an empty POST is the form sent with each input
    cleared: saved and rescored like any edit, not the form again as if nothing had been sent."""
    Persona.objects.create(name="SaaS", conditions=[{"field": "industry", "op": "eq", "value": "SaaS", "weight": 1}])
    lead = LeadFactory(first_name="Ana", company="Acme", country="ES", company_size=40)
    edit = reverse("leads:edit", args=[lead.pk])
    marketer_client.post(edit, {"first_name": "Ana", "company": "Acme", "country": "ES", "industry": "SaaS"})
    assert Lead.objects.get(pk=lead.pk).fit_score == 100

    response = marketer_client.post(edit, {}, follow=True)

    assert response.redirect_chain == [(reverse("leads:detail", args=[lead.pk]), 302)]
    assert "Saved first_name, company, industry, country; the score was recalculated." in response.text
    lead.refresh_from_db()
    assert {name: getattr(lead, name) for name in LEAD_PROFILE_FIELDS} == dict.fromkeys(LEAD_PROFILE_FIELDS, "") | {
        "company_size": None
    }
    assert lead.fit_score == 0


def test_rep_cannot_edit_a_lead_even_their_own(rep_client, rep):
    lead = LeadFactory(owner=rep, first_name="Ana")
    assert rep_client.get(reverse("leads:edit", args=[lead.pk])).status_code == 403
    assert rep_client.post(reverse("leads:edit", args=[lead.pk]), {"first_name": "Eve"}).status_code == 403
    assert Lead.objects.get(pk=lead.pk).first_name == "Ana"


def test_timeline_names_the_form_a_submission_came_through(marketer_client):
    from leads.models import CaptureForm
    from tests.factories import EventFactory, LeadFactory

    form = CaptureForm.objects.create(name="Spring webinar sign-up", key="spring-key", fields=["email"])
    lead = LeadFactory()
    EventFactory(lead=lead, type="form_submitted", properties={"form": form.key})
    content = marketer_client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "form: Spring webinar sign-up" in content
    assert "spring-key" not in content
