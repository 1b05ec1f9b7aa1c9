"""Qualification-definition pages: versions, the builder, sign-off by role, activation, backtest."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import DefinitionStatus, Job, Persona, QualificationDefinition, Stage
from leads.qualification import backtest as qualification_backtest
from leads.qualification import services as qualification_services
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


class FormFields(HTMLParser):
    """The values a browser would post from a form: inputs, selected options, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and attrs.get("name") and attrs.get("type") not in ("submit", "button"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self.select, self.first_option = attrs.get("name"), None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = attrs.get("value", "")
                self.fields.setdefault(self.select, self.first_option)
            if "selected" in attrs:
                self.fields[self.select] = attrs.get("value", "")
        elif tag == "textarea":
            self.textarea = attrs.get("name")
            self.fields[self.textarea] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_fields(html: str, form_id: str = "builder") -> dict[str, str]:
    parser = FormFields(form_id)
    parser.feed(html)
    return {key: value.lstrip("\n") for key, value in parser.fields.items()}


def builder_post(client: Client, url: str, fields: dict[str, str], action: str, **extra: str):
    return client.post(url, {**fields, "action": action}, **extra)


@pytest.fixture
def active(marketer, rep):
    definition = qualification_services.definition_create(
        by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL, name="Webinar journey"
    )
    QualificationDefinition.objects.filter(pk=definition.pk).update(status=DefinitionStatus.ACTIVE)
    definition.refresh_from_db()
    return definition


@pytest.fixture
def proposed(marketer):
    definition = qualification_services.definition_create(
        by=marketer, mql_rule={"op": "fit_gte", "value": 70}, sql_rule={}
    )
    return qualification_services.definition_propose(definition=definition, by=marketer)


def page(client: Client, definition: QualificationDefinition) -> str:
    response = client.get(reverse("leads:definition", args=[definition.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- Who may see and change ---------------------------------------------------------


@pytest.mark.parametrize("who", ["marketer_client", "manager_client", "rep_client"])
def test_every_team_can_read_the_versions(request, who, active, proposed):
    client = request.getfixturevalue(who)
    assert client.get(reverse("leads:definitions")).status_code == 200
    assert client.get(reverse("leads:definition", args=[active.pk])).status_code == 200
    assert client.get(reverse("leads:definition_review", args=[proposed.pk])).status_code == 200


def test_a_user_without_a_role_is_refused(client, nobody, active):
    client.force_login(nobody)
    for url in (reverse("leads:definitions"), reverse("leads:definition", args=[active.pk])):
        assert client.get(url).status_code == 403


def test_the_list_shows_status_badges_and_signatures_in_bounded_queries(
    marketer_client, marketer, rep, active, django_assert_max_num_queries
):
    signed = qualification_services.definition_create(
        by=marketer, mql_rule={"op": "score_gte", "value": 10}, sql_rule={}
    )
    qualification_services.definition_propose(definition=signed, by=marketer)
    qualification_services.definition_sign(definition=signed, by=marketer, side="marketing")
    for n in range(10):
        qualification_services.definition_create(by=marketer, mql_rule={"op": "fit_gte", "value": n}, sql_rule={})
    with django_assert_max_num_queries(8):
        response = marketer_client.get(reverse("leads:definitions"))
    content = response.content.decode()
    assert 'Marketing: Mara Keting <span aria-hidden="true">✓</span>' in content
    assert "Sales: <em>pending</em>" in content
    assert 'class="badge status-active">Active' in content and 'class="badge status-proposed">Proposed' in content
    assert f"New draft from active v{active.version}" in content


def test_a_rep_reads_a_proposed_version_and_gets_only_sign_for_sales(rep_client, proposed):
    content = page(rep_client, proposed)
    assert "Sign for sales" in content
    for absent in ("Sign for marketing", "Propose for sign-off", "Activate v", "Edit draft", "Run backtest", "Retire"):
        assert absent not in content


def test_a_marketer_gets_sign_for_marketing_but_not_for_sales(marketer_client, proposed):
    content = page(marketer_client, proposed)
    assert "Sign for marketing" in content and "Sign for sales" not in content
    assert "Run the backtest again" in content  # proposing started one


def test_proposing_starts_the_backtest_both_sides_sign_against(marketer, proposed):
    job = Job.objects.get(kind="backtest")
    assert job.params["definition_id"] == proposed.pk and job.created_by == marketer


def test_a_rep_cannot_create_edit_propose_activate_backtest_or_retire(rep_client, marketer, active):
    draft = qualification_services.definition_create(by=marketer, mql_rule={"op": "fit_gte", "value": 50}, sql_rule={})
    assert rep_client.get(reverse("leads:definition_new")).status_code == 403
    assert rep_client.get(reverse("leads:definition_edit", args=[draft.pk])).status_code == 403
    for name in ("definition_propose", "definition_backtest", "definition_activate", "definition_retire"):
        assert rep_client.post(reverse(f"leads:{name}", args=[draft.pk])).status_code == 403, name
    assert rep_client.post(reverse("leads:definition_retire", args=[active.pk])).status_code == 403
    draft.refresh_from_db()
    active.refresh_from_db()
    assert (draft.status, active.status) == (DefinitionStatus.DRAFT, DefinitionStatus.ACTIVE)
    assert not Job.objects.exists()


def test_a_rep_cannot_sign_for_marketing(rep_client, proposed):
    response = rep_client.post(reverse("leads:definition_sign", args=[proposed.pk]), {"side": "marketing"})
    assert response.status_code == 400
    assert "You may not sign for marketing." in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.marketing_signed_by is None and proposed.status == DefinitionStatus.PROPOSED


def test_signing_for_no_side_is_a_clear_400(rep_client, proposed):
    response = rep_client.post(reverse("leads:definition_sign", args=[proposed.pk]), {"side": "finance"})
    assert response.status_code == 400
    assert "Choose the side you sign for" in response.content.decode()


def test_a_step_the_lifecycle_does_not_allow_is_a_page_message_with_400(marketer_client, proposed):
    response = marketer_client.post(reverse("leads:definition_propose", args=[proposed.pk]))
    assert response.status_code == 400
    assert f"Only a draft can be proposed; v{proposed.version} is proposed." in response.content.decode()
    response = marketer_client.post(reverse("leads:definition_activate", args=[proposed.pk]))
    assert response.status_code == 400 and "Only an approved version can be activated" in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.status == DefinitionStatus.PROPOSED


def test_only_a_manager_retires_and_is_asked_first(marketer_client, manager_client, active):
    url = reverse("leads:definition_retire", args=[active.pk])
    assert marketer_client.get(url).status_code == 403
    assert marketer_client.post(url).status_code == 403
    confirm = manager_client.get(url).content.decode()
    assert f"Retire v{active.version}" in confirm and "no lead is qualified automatically" in confirm
    active.refresh_from_db()
    assert active.status == DefinitionStatus.ACTIVE
    response = manager_client.post(url)
    active.refresh_from_db()
    assert response.status_code == 302 and active.status == DefinitionStatus.RETIRED


# --- The whole lifecycle through the pages ------------------------------------------


def test_a_draft_goes_from_builder_to_active_and_the_requalification_promotes_the_lead(
    marketer_client, rep_client, marketer, rep
):
    lead = LeadFactory()
    EventFactory(lead=lead, type="webinar_registered", occurred_at=timezone.now() - timedelta(days=2))
    EventFactory(lead=lead, type="webinar_attended", occurred_at=timezone.now() - timedelta(days=1))
    url = reverse("leads:definition_new")
    fields = form_fields(marketer_client.get(url).content.decode())
    fields = form_fields(builder_post(marketer_client, url, fields, "json:mql").content.decode())
    fields["mql-json"] = '{"op": "all", "children": [{"op": "has_event", "event": "webinar_attended"}]}'
    fields = form_fields(builder_post(marketer_client, url, fields, "json:mql").content.decode())
    assert fields["mql-op"] == "all" and fields["mql-0-event"] == "webinar_attended"
    fields["name"] = "Attended the webinar"
    response = builder_post(marketer_client, url, fields, "save")
    draft = QualificationDefinition.objects.get()
    assert response.status_code == 302 and response.url == reverse("leads:definition", args=[draft.pk])
    assert draft.mql_rule == {"op": "all", "children": [{"op": "has_event", "event": "webinar_attended"}]}
    assert (draft.status, draft.created_by, draft.name) == (DefinitionStatus.DRAFT, marketer, "Attended the webinar")

    marketer_client.post(reverse("leads:definition_propose", args=[draft.pk]))
    marketer_client.post(reverse("leads:definition_sign", args=[draft.pk]), {"side": "marketing"})
    draft.refresh_from_db()
    assert draft.status == DefinitionStatus.PROPOSED and draft.marketing_signed_by == marketer
    assert "Sign for sales" in page(rep_client, draft)
    response = rep_client.post(reverse("leads:definition_sign", args=[draft.pk]), {"side": "sales"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == DefinitionStatus.APPROVED and draft.sales_signed_by == rep
    assert "Activate v" in page(marketer_client, draft) and "Activate v" not in page(rep_client, draft)

    response = marketer_client.post(reverse("leads:definition_activate", args=[draft.pk]))
    job = Job.objects.get(kind="requalify")
    assert response.status_code == 302 and job.params == {"definition_id": draft.pk}
    content = page(marketer_client, draft)
    assert "Requalifying 1 lead under" in content
    assert f'hx-get="{reverse("leads:definition_job", args=[draft.pk, job.pk])}"' in content
    qualification_services.requalify_run(job=job)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL and lead.qualified_version == draft.version
    assert "Promoted 1 to MQL" in page(marketer_client, draft)
    partial = rep_client.get(reverse("leads:definition_job", args=[draft.pk, job.pk])).content.decode()
    assert "Promoted 1 to MQL" in partial and "hx-trigger" not in partial


# --- The builder ------------------------------------------------------------------------


def test_the_builder_adds_changes_and_removes_rules_in_place(marketer_client):
    url = reverse("leads:definition_new")
    fields = form_fields(marketer_client.get(url).content.decode())
    assert "mql-op" not in fields
    fields["add-mql"] = "has_event"
    response = builder_post(marketer_client, url, fields, "add:mql", **HTMX)
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert 'id="mql-0-op" name="mql-0-op"' in content and "autofocus" in content
    fields = form_fields(content)
    assert (fields["mql-op"], fields["mql-0-op"]) == ("all", "has_event")
    fields.update({"mql-0-event": "trial_started", "mql-0-where": "plan=pro", "mql-0-within_days": "30"})
    fields["add-mql"] = "any"
    fields = form_fields(builder_post(marketer_client, url, fields, "add:mql", **HTMX).content.decode())
    fields["add-mql-1"] = "fit_gte"
    fields = form_fields(builder_post(marketer_client, url, fields, "add:mql-1", **HTMX).content.decode())
    fields["mql-1-0-op"] = "score_gte"  # the type select changed: htmx posts a refresh
    content = builder_post(marketer_client, url, fields, "refresh", **HTMX).content.decode()
    assert 'name="mql-1-0-value"' in content and "Score" in content
    fields = form_fields(content)
    fields["mql-1-0-value"] = "40"
    fields["add-mql-1"] = "attr"
    fields = form_fields(builder_post(marketer_client, url, fields, "add:mql-1", **HTMX).content.decode())
    fields.update({"mql-1-1-field": "country", "mql-1-1-cmp": "in", "mql-1-1-value": "ES, MX"})
    fields = form_fields(builder_post(marketer_client, url, fields, "remove:mql-1-0", **HTMX).content.decode())
    response = builder_post(marketer_client, url, fields, "save", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"]
    assert QualificationDefinition.objects.get().mql_rule == {
        "op": "all",
        "children": [
            {"op": "has_event", "event": "trial_started", "where": {"plan": "pro"}, "within_days": 30},
            {"op": "any", "children": [{"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "MX"]}]},
        ],
    }


def test_the_builder_round_trips_a_version_s_trees(marketer_client, active):
    url = reverse("leads:definition_edit", args=[active.pk])
    content = marketer_client.get(url).content.decode()
    assert "saving creates a new draft based on it" in content
    assert "Reads: “webinar attended after webinar registered”" in content
    fields = form_fields(content)
    response = builder_post(marketer_client, url, fields, "save")
    new = QualificationDefinition.objects.exclude(pk=active.pk).get()
    assert response.status_code == 302 and response.url == reverse("leads:definition", args=[new.pk])
    assert (new.mql_rule, new.sql_rule) == (ARTICLE_MQL, ARTICLE_SQL)
    assert (new.status, new.based_on, new.version) == (DefinitionStatus.DRAFT, active, active.version + 1)
    active.refresh_from_db()
    assert active.status == DefinitionStatus.ACTIVE


def test_tree_errors_are_shown_at_their_rules_with_their_path_and_nothing_is_saved(marketer_client):
    url = reverse("leads:definition_new")
    fields = {
        "name": "",
        "notes": "",
        "mql-op": "all",
        "mql-0-op": "has_event",
        "mql-0-event": "",
        "mql-1-op": "not",
        "mql-1-0-op": "fit_gte",
        "mql-1-0-value": "lots",
        "mql-2-op": "has_event",
        "mql-2-event": "trial",
        "mql-2-where": "plan",
        "mql-2-min_count": "0",
        "sql-op": "any",
    }
    response = builder_post(marketer_client, url, fields, "save")
    assert response.status_code == 400
    content = response.content.decode()
    assert (
        '<a href="#node-mql-0">MQL › 1</a>: event must be an event type as the events API takes it: '
        "lower case letters, digits and _ . - (up to 64 characters), like webinar_attended."
    ) in content
    assert '<a href="#node-mql-1-0">MQL › 2 › 1</a>: fit_gte needs a number.' in content
    assert "Write the property filter as property=value" in content
    assert "min_count must be a whole number from 1 to 1000." in content
    assert '<a href="#node-sql">SQL</a>: &#x27;any&#x27; needs at least one rule inside.' in content
    assert 'id="mql-1-0-errors"' in content
    assert not QualificationDefinition.objects.exists()


def test_the_json_fallback_reports_bad_json_and_keeps_what_was_typed(marketer_client):
    url = reverse("leads:definition_new")
    response = builder_post(marketer_client, url, {"mql-json": '{"op": "all",'}, "json:mql", **HTMX)
    content = response.content.decode()
    assert "That is not valid JSON" in content and "{&quot;op&quot;: &quot;all&quot;,</textarea>" in content
    response = builder_post(marketer_client, url, {"sql-json": "[1, 2]"}, "json:sql", **HTMX)
    assert "The tree must be a JSON object" in response.content.decode()


def test_a_new_draft_can_start_from_the_active_version(marketer_client, active):
    url = f"{reverse('leads:definition_new')}?copy={active.pk}"
    fields = form_fields(marketer_client.get(url).content.decode())
    assert fields["based_on"] == str(active.pk) and fields["mql-1-op"] == "event_after"
    builder_post(marketer_client, reverse("leads:definition_new"), fields, "save")
    draft = QualificationDefinition.objects.get(status=DefinitionStatus.DRAFT)
    assert draft.based_on == active and draft.mql_rule == ARTICLE_MQL


# --- Reading a version ------------------------------------------------------------------


def test_a_version_reads_as_indented_sentences_with_its_diff_against_the_active_one(marketer_client, marketer, active):
    stricter = {"op": "all", "children": [ARTICLE_MQL["children"][0], {"op": "fit_gte", "value": 70}]}
    draft = qualification_services.definition_create(
        by=marketer, mql_rule=stricter, sql_rule=ARTICLE_SQL, based_on=active
    )
    content = page(marketer_client, draft)
    assert '<li class="depth-1">fit is at least 70</li>' in content
    assert (
        '<li class="diff-added depth-1"><span class="diff-sign" aria-hidden="true">+</span>'
        '<span class="visually-hidden">Added: </span><ins>fit is at least 70</ins></li>'
    ) in content
    assert "<del>webinar attended after webinar registered</del>" in content
    assert f'based on <a href="{reverse("leads:definition", args=[active.pk])}">v{active.version}</a>' in content


def test_definition_name_and_notes_with_html_are_rendered_escaped(marketer_client, marketer):
    draft = qualification_services.definition_create(
        by=marketer, mql_rule={}, sql_rule={}, name="<b>bold</b>", notes="<script>alert(1)</script>\nline two"
    )
    content = page(marketer_client, draft)
    assert "<script>alert(1)</script>" not in content and "<b>bold</b>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>line two" in content
    assert "&lt;b&gt;bold&lt;/b&gt;" in marketer_client.get(reverse("leads:definitions")).content.decode()


def test_the_detail_page_needs_a_bounded_number_of_queries(
    marketer_client, marketer, active, django_assert_max_num_queries
):
    draft = qualification_services.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule={}, based_on=active)
    with django_assert_max_num_queries(10):
        page(marketer_client, draft)


def test_leads_that_would_no_longer_qualify_are_listed_for_review_and_a_rep_sees_only_theirs(
    marketer_client, rep_client, marketer, rep, other_rep
):
    mine = LeadFactory(stage=Stage.MQL, owner=rep, first_name="Mine", fit_score=10)
    theirs = LeadFactory(stage=Stage.MQL, owner=other_rep, first_name="Theirs", fit_score=10)
    LeadFactory(stage=Stage.MQL, first_name="Stays", fit_score=90)
    draft = qualification_services.definition_create(by=marketer, mql_rule={"op": "fit_gte", "value": 70}, sql_rule={})
    assert f'hx-get="{reverse("leads:definition_review", args=[draft.pk])}"' in page(marketer_client, draft)
    url = reverse("leads:definition_review", args=[draft.pk])
    listed = marketer_client.get(url, **HTMX).content.decode()
    assert "Mine" in listed and "Theirs" in listed and "Stays" not in listed and "<html" not in listed
    own = rep_client.get(url).content.decode()
    assert "Mine" in own and "Theirs" not in own
    for lead in (mine, theirs):
        lead.refresh_from_db()
        assert lead.stage == Stage.MQL  # listed, never demoted


# --- Backtest ---------------------------------------------------------------------------


def test_a_backtest_runs_as_a_job_and_its_result_is_drawn_beside_the_active_version(
    marketer_client, rep_client, marketer, active
):
    now = timezone.now()
    won = LeadFactory(stage=Stage.CUSTOMER, created_at=now - timedelta(days=200))
    for event_type, days in (("webinar_registered", 41), ("webinar_attended", 40)):
        EventFactory(lead=won, type=event_type, occurred_at=now - timedelta(days=days))
    draft = qualification_services.definition_create(
        by=marketer, mql_rule={"op": "has_event", "event": "webinar_registered"}, sql_rule={}
    )
    response = marketer_client.post(reverse("leads:definition_backtest", args=[draft.pk]))
    assert response.status_code == 302
    job = Job.objects.get(kind="backtest")
    assert job.params["definition_id"] == draft.pk
    running = page(marketer_client, draft)
    assert f'hx-get="{reverse("leads:definition_job", args=[draft.pk, job.pk])}"' in running
    qualification_backtest.backtest_run(job=job)
    content = page(rep_client, draft)
    assert "<svg" in content and 'class="bt-draft-mql"' in content and 'class="bt-active-mql"' in content
    assert "<polyline" in content
    assert "How those leads converted" in content
    assert f"<td>v{draft.version}</td><td>MQL</td>" in content and "100.0 %" in content
    month = timezone.localtime(now - timedelta(days=41)).strftime("%b %Y")
    assert f"MQLs, this version, {month}: 1" in content
    partial = marketer_client.get(reverse("leads:definition_job", args=[draft.pk, job.pk]), **HTMX)
    assert "<svg" in partial.content.decode() and "hx-trigger" not in partial.content.decode()


def test_an_active_version_cannot_be_backtested(marketer_client, active):
    response = marketer_client.post(reverse("leads:definition_backtest", args=[active.pk]))
    assert response.status_code == 400 and "Backtests run on drafts and proposed versions" in response.content.decode()
    assert not Job.objects.exists()


def test_a_job_of_another_version_is_not_found(marketer_client, marketer, active):
    draft = qualification_services.definition_create(by=marketer, mql_rule={}, sql_rule={})
    job = Job.objects.create(kind="backtest", params={"definition_id": active.pk}, created_by=marketer)
    assert marketer_client.get(reverse("leads:definition_job", args=[draft.pk, job.pk])).status_code == 404


def test_saving_with_an_edited_json_box_uses_the_json(marketer_client, active):
    url = reverse("leads:definition_edit", args=[active.pk])
    fields = form_fields(marketer_client.get(url).content.decode())
    fields["sql-json"] = '{"op": "score_gte", "value": 80}'
    response = builder_post(marketer_client, url, fields, "save")
    assert response.status_code == 302
    new = QualificationDefinition.objects.exclude(pk=active.pk).get()
    assert (new.mql_rule, new.sql_rule) == (ARTICLE_MQL, {"op": "score_gte", "value": 80})


def test_saving_with_broken_json_in_the_box_saves_nothing(marketer_client, active):
    url = reverse("leads:definition_edit", args=[active.pk])
    fields = form_fields(marketer_client.get(url).content.decode())
    fields["mql-json"] = '{"op": '
    response = builder_post(marketer_client, url, fields, "save")
    assert response.status_code == 400
    assert response.content.decode().count("That is not valid JSON") == 2  # the summary and the box
    assert QualificationDefinition.objects.count() == 1


def test_a_list_of_sizes_must_be_whole_numbers(marketer_client):
    fields = {"mql-op": "all", "mql-0-op": "attr", "mql-0-field": "company_size", "mql-0-cmp": "in"}
    response = builder_post(
        marketer_client, reverse("leads:definition_new"), {**fields, "mql-0-value": "10, ten"}, "save"
    )
    assert response.status_code == 400
    assert "company_size is one of: give whole numbers." in response.content.decode()
    assert not QualificationDefinition.objects.exists()
    builder_post(marketer_client, reverse("leads:definition_new"), {**fields, "mql-0-value": "10, 50"}, "save")
    assert QualificationDefinition.objects.get().mql_rule["children"][0]["value"] == [10, 50]


@pytest.mark.parametrize(
    "fields",
    [
        {"mql-op": "all", "mql-0-op": "fit_gte", "mql-0-value": "1e999"},
        {"mql-op": "all", "mql-0-op": "has_event", "mql-0-event": "x", "mql-0-within_days": "nan"},
        {"mql-op": "drop", "sql-op": "not", "sql-0-op": "not"},
        {"mql-op": "all", **{f"mql{'-0' * depth}-op": "all" for depth in range(1, 20)}},
        {"mql-json": "[" * 5000, "mql-json-shown": "{}"},
    ],
)
def test_odd_builder_input_gets_a_400_never_a_500(marketer_client, fields):
    response = builder_post(marketer_client, reverse("leads:definition_new"), fields, "save")
    assert response.status_code == 400
    assert not QualificationDefinition.objects.exists()


# --- What the builder offers ------------------------------------------------------------


@pytest.fixture
def no_catalog_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_the_builder_offers_the_event_types_and_properties_the_instance_has_seen(
    marketer_client, active, no_catalog_cache
):
    EventFactory(type="trial_started", properties={"plan": "pro", "seats": 5})
    EventFactory(type="trial_started", properties={"plan": "pro"})
    EventFactory(type="demo_requested", properties={})
    Persona.objects.create(
        name="Ops lead", conditions=[{"field": "industry", "op": "eq", "value": "SaaS", "weight": 1}]
    )
    url = f"{reverse('leads:definition_new')}?copy={active.pk}"
    fields = {"mql-op": "all", "mql-0-op": "has_event", "mql-0-event": "trial_started", "mql-1-op": "fit_gte"}

    response = builder_post(marketer_client, reverse("leads:definition_new"), fields, "refresh")

    html = response.content.decode()
    assert '<datalist id="event-types"><option value="demo_requested"></option>' in html
    assert '<option value="trial_started"></option>' in html
    assert 'list="mql-0-where-options"' in html
    assert html.index('value="plan=pro"') < html.index('value="seats=5"')  # the most common first
    assert "The lead's best match among Ops lead." in html
    assert marketer_client.get(url).status_code == 200


def test_the_event_types_are_read_once_then_cached(marketer_client, no_catalog_cache):
    EventFactory(type="webinar_attended")
    url = reverse("leads:definition_new")
    marketer_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert marketer_client.get(url).status_code == 200
    assert not [q for q in queries.captured_queries if "leads_event" in q["sql"]]
