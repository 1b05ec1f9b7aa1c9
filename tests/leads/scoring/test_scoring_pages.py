"""Personas and scoring-rule pages: who may use them, validation, and the rescore they queue."""

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import EngagementRollup, Job, Lead, Persona, ScoringRule
from leads.scoring import services as scoring
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def persona_post(name: str, rows: list[tuple[str, str, str, str]], action: str = "save") -> dict[str, str]:
    data = {
        "name": name,
        "description": "",
        "action": action,
        "conditions-TOTAL_FORMS": str(len(rows)),
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "0",
        "conditions-MAX_NUM_FORMS": "30",
    }
    for index, (field, op, value, weight) in enumerate(rows):
        data.update(
            {
                f"conditions-{index}-field": field,
                f"conditions-{index}-op": op,
                f"conditions-{index}-value": value,
                f"conditions-{index}-weight": weight,
            }
        )
    return data


def rule_post(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Webinar attended",
        "kind": "engagement",
        "event_type": "webinar_attended",
        "property_key": "",
        "property_value": "",
        "points": "20",
        "cap": "",
        "half_life_days": "",
        "values_text": "",
        "action": "save",
    }
    return {**data, **overrides}


@pytest.fixture
def ops_persona() -> Persona:
    return Persona.objects.create(
        name="Ops lead",
        conditions=[
            {"field": "industry", "op": "in", "value": ["SaaS", "Fintech"], "weight": 3},
            {"field": "company_size", "op": "gte", "value": 50, "weight": 1},
        ],
    )


# --- Who may see and change ---------------------------------------------------------


def scoring_urls(persona: Persona, rule: ScoringRule) -> list[str]:
    return [
        reverse("leads:personas"),
        reverse("leads:persona_create"),
        reverse("leads:persona_edit", args=[persona.pk]),
        reverse("leads:persona_active", args=[persona.pk]),
        reverse("leads:scoring"),
        reverse("leads:rule_create"),
        reverse("leads:rule_edit", args=[rule.pk]),
        reverse("leads:rule_active", args=[rule.pk]),
    ]


@pytest.fixture
def views_rule() -> ScoringRule:
    return ScoringRule.objects.create(name="Views", event_type="page_viewed", points=5)


@pytest.mark.parametrize("who", ["marketer_client", "manager_client"])
def test_marketing_and_managers_open_every_scoring_page(request, who, ops_persona, views_rule):
    client = request.getfixturevalue(who)
    for url in scoring_urls(ops_persona, views_rule):
        assert client.get(url).status_code == 200, url


def test_a_rep_is_refused_every_scoring_page_and_change(rep_client, ops_persona, views_rule):
    for url in scoring_urls(ops_persona, views_rule):
        assert rep_client.get(url).status_code == 403, url
    assert rep_client.post(reverse("leads:rule_edit", args=[views_rule.pk]), rule_post()).status_code == 403
    assert (
        rep_client.post(reverse("leads:persona_active", args=[ops_persona.pk]), {"is_active": "0"}).status_code == 403
    )
    views_rule.refresh_from_db()
    ops_persona.refresh_from_db()
    assert views_rule.name == "Views" and ops_persona.is_active
    assert not Job.objects.exists()


def test_a_user_without_a_role_is_refused_and_a_visitor_must_log_in(client, nobody, ops_persona, views_rule):
    for url in scoring_urls(ops_persona, views_rule):
        assert client.get(url).status_code == 302, url
    client.force_login(nobody)
    for url in scoring_urls(ops_persona, views_rule):
        assert client.get(url).status_code == 403, url


# --- Personas ---------------------------------------------------------------------------


def test_persona_list_shows_conditions_as_sentences_and_best_match_counts(marketer_client, ops_persona):
    LeadFactory.create_batch(2, industry="SaaS", company_size=80)
    LeadFactory(industry="Retail")
    scoring.leads_rescore()
    response = marketer_client.get(reverse("leads:personas"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Industry is one of SaaS, Fintech" in content
    assert "Company size is at least 50" in content
    assert "2 leads" in content


def test_persona_list_query_count_is_bounded(marketer_client, django_assert_max_num_queries):
    for n in range(15):
        Persona.objects.create(name=f"P{n}", conditions=[{"field": "country", "op": "eq", "value": "ES", "weight": 1}])
    LeadFactory.create_batch(5, country="ES")
    scoring.leads_rescore()
    with django_assert_max_num_queries(8):
        response = marketer_client.get(reverse("leads:personas"))
    assert response.status_code == 200


def test_creating_a_persona_saves_its_conditions_and_queues_one_rescore(marketer, marketer_client):
    lead = LeadFactory(industry="fintech", company_size=120)
    data = persona_post("Ops lead", [("industry", "in", "SaaS, Fintech", "3"), ("company_size", "gte", "50", "1")])
    response = marketer_client.post(reverse("leads:persona_create"), data)
    persona = Persona.objects.get(name="Ops lead")
    assert persona.conditions == [
        {"field": "industry", "op": "in", "value": ["SaaS", "Fintech"], "weight": 3},
        {"field": "company_size", "op": "gte", "value": 50, "weight": 1},
    ]
    job = Job.objects.get()
    assert (job.kind, job.status, job.created_by, job.params) == ("rescore", "queued", marketer, {"rule_ids": []})
    assert response.status_code == 302 and response.url == f"{reverse('leads:personas')}?job={job.pk}"
    page = marketer_client.get(response.url).content.decode()
    assert "Rescoring 1 lead in the background" in page and f'id="job-{job.pk}"' in page
    scoring.rescore_run(job=job)
    lead.refresh_from_db()
    assert (lead.fit_score, lead.persona) == (100, persona)


def test_invalid_conditions_get_a_message_per_row_and_nothing_is_saved(marketer_client):
    data = persona_post(
        "Broken",
        [("company_size", "gte", "lots", "1"), ("industry", "in", " , ", "2"), ("company_size", "in", "10, ten", "1")],
    )
    response = marketer_client.post(reverse("leads:persona_create"), data)
    assert response.status_code == 400
    content = response.content.decode()
    assert "company_size is at least: give a number." in content
    assert "industry is one of: give a non-empty list of values." in content
    assert "company_size is one of: give whole numbers." in content
    assert not Persona.objects.exists() and not Job.objects.exists()


def test_a_persona_needs_a_name_and_at_least_one_condition(marketer_client):
    response = marketer_client.post(reverse("leads:persona_create"), persona_post("", []))
    assert response.status_code == 400
    content = response.content.decode()
    assert "This field is required." in content
    assert "Add at least one condition" in content
    assert not Persona.objects.exists()


def test_adding_and_removing_condition_rows_rerenders_in_place_without_saving(marketer_client):
    url = reverse("leads:persona_create")
    added = marketer_client.post(url, persona_post("Ops", [("industry", "in", "SaaS", "2")], action="add"), **HTMX)
    assert added.status_code == 200
    content = added.content.decode()
    assert "<html" not in content  # only the form, for htmx to swap
    assert 'name="conditions-TOTAL_FORMS" value="2"' in content
    assert 'id="id_conditions-1-field" autofocus' in content
    assert 'value="SaaS"' in content and 'value="Ops"' in content
    rows = [("industry", "in", "SaaS", "2"), ("country", "eq", "ES", "1")]
    removed = marketer_client.post(url, persona_post("Ops", rows, action="remove:0"), **HTMX).content.decode()
    assert 'name="conditions-TOTAL_FORMS" value="1"' in removed
    assert 'value="ES"' in removed and 'value="SaaS"' not in removed
    assert not Persona.objects.exists()


def test_an_htmx_save_with_errors_answers_400_with_the_form_and_a_good_one_redirects(marketer_client):
    url = reverse("leads:persona_create")
    bad = marketer_client.post(url, persona_post("Ops", [("industry", "eq", "", "1")]), **HTMX)
    assert bad.status_code == 400 and "industry is: give a value." in bad.content.decode()
    good = marketer_client.post(url, persona_post("Ops", [("industry", "eq", "SaaS", "1")]), **HTMX)
    assert good.status_code == 200 and good["HX-Redirect"].startswith(reverse("leads:personas"))


def test_editing_a_persona_shows_its_rows_and_only_a_real_change_rescores(marketer_client, ops_persona):
    url = reverse("leads:persona_edit", args=[ops_persona.pk])
    form = marketer_client.get(url).content.decode()
    assert 'value="SaaS, Fintech"' in form and 'value="50"' in form
    same = persona_post("Ops lead", [("industry", "in", "SaaS, Fintech", "3"), ("company_size", "gte", "50", "1")])
    response = marketer_client.post(url, {**same, "description": "Runs operations"})
    assert response.status_code == 302 and not Job.objects.exists()
    ops_persona.refresh_from_db()
    assert ops_persona.description == "Runs operations"
    marketer_client.post(url, persona_post("Ops lead", [("industry", "in", "SaaS", "3")]))
    assert Job.objects.filter(kind="rescore").count() == 1


def test_deactivating_a_persona_asks_first_then_rescores_everyone(marketer_client, ops_persona):
    lead = LeadFactory(industry="SaaS", company_size=60)
    scoring.leads_rescore()
    url = reverse("leads:persona_active", args=[ops_persona.pk])
    confirm = marketer_client.get(url)
    assert "Deactivate persona “Ops lead”?" in confirm.content.decode()
    ops_persona.refresh_from_db()
    assert ops_persona.is_active
    response = marketer_client.post(url, {"is_active": "0"})
    ops_persona.refresh_from_db()
    assert response.status_code == 302 and not ops_persona.is_active
    scoring.rescore_run(job=Job.objects.get())
    lead.refresh_from_db()
    assert (lead.fit_score, lead.persona) == (0, None)


def test_a_persona_name_with_html_is_rendered_escaped(marketer_client):
    Persona.objects.create(
        name="<script>alert(1)</script>", conditions=[{"field": "country", "op": "eq", "value": "<b>", "weight": 1}]
    )
    content = marketer_client.get(reverse("leads:personas")).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "Country is &lt;b&gt;" in content


# --- Scoring rules ----------------------------------------------------------------------


def test_rule_list_shows_how_many_leads_each_rule_gives_points_with_bounded_queries(
    marketer_client, django_assert_max_num_queries
):
    rules = [ScoringRule.objects.create(name=f"R{n}", event_type=f"type_{n}", points=5) for n in range(10)]
    ScoringRule.objects.create(name="Free mail", kind="free_mail", points=10, values=["gmail.com"])
    for lead in LeadFactory.create_batch(3):
        EventFactory(lead=lead, type="type_0")
    scoring.rules_changed(rules=rules)
    with django_assert_max_num_queries(8):
        response = marketer_client.get(reverse("leads:scoring"))
    content = response.content.decode()
    assert response.status_code == 200
    assert EngagementRollup.objects.filter(rule=rules[0]).count() == 3
    assert '<td class="num">3</td>' in content
    assert "gmail.com" in content and "Free-mail domain" in content


def test_creating_an_engagement_rule_rebuilds_points_from_past_events(marketer_client):
    lead = LeadFactory()
    EventFactory(lead=lead, type="webinar_attended", properties={"plan": "pro"})
    EventFactory(lead=lead, type="webinar_attended", properties={"plan": "basic"})
    data = rule_post(property_key="plan", property_value="pro", cap="100", half_life_days="30")
    response = marketer_client.post(reverse("leads:rule_create"), data)
    rule = ScoringRule.objects.get(name="Webinar attended")
    assert (rule.property_filter, rule.cap, rule.half_life_days) == ({"plan": "pro"}, 100, 30.0)
    job = Job.objects.get()
    assert job.params == {"rule_ids": [rule.pk]}
    assert response.url == f"{reverse('leads:scoring')}?job={job.pk}"
    scoring.rescore_run(job=job)
    lead.refresh_from_db()
    assert lead.score == 20 and lead.score_breakdown == {"Webinar attended": 20}


def test_saving_a_rule_queues_a_rescore_with_its_id_and_the_scores_change(marketer_client):
    rule = ScoringRule.objects.create(name="Views", event_type="page_viewed", points=5)
    lead = LeadFactory()
    for _ in range(3):
        EventFactory(lead=lead, type="page_viewed", occurred_at=timezone.now())
    scoring.rules_changed(rules=[rule])
    lead.refresh_from_db()
    assert lead.score == 15
    url = reverse("leads:rule_edit", args=[rule.pk])
    assert 'value="page_viewed"' in marketer_client.get(url).content.decode()
    marketer_client.post(url, rule_post(name="Views", event_type="page_viewed", points="10", cap="25"))
    job = Job.objects.get(kind="rescore")
    assert job.params == {"rule_ids": [rule.pk]}
    lead.refresh_from_db()
    assert lead.score == 15  # nothing changes until the job runs
    scoring.rescore_run(job=job)
    lead.refresh_from_db()
    assert lead.score == 25  # 3 × 10, capped at 25


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"points": "many"}, "Enter a whole number."),
        ({"points": "0"}, "A rule worth 0 points changes nothing"),
        ({"cap": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"half_life_days": "0"}, "Give a half-life of more than 0"),
        ({"half_life_days": "-3"}, "Give a half-life of more than 0"),
        ({"event_type": "webinar attended!"}, "Use letters, digits, underscores or hyphens only"),
        ({"event_type": "x" * 65}, "Ensure this value has at most 64 characters"),
        ({"event_type": ""}, "Give the event type that earns points."),
        ({"property_key": "plan"}, "Give the value the property must have"),
        ({"kind": "free_mail", "values_text": "  \n "}, "List at least one domain or name"),
        ({"kind": "competitor", "values_text": "rival.io", "points": "-5"}, "positive whole number"),
        ({"kind": "sideways"}, "Select a valid choice."),
    ],
)
def test_bad_rule_input_gets_a_message_per_field_and_nothing_is_saved(marketer_client, overrides, field_message):
    response = marketer_client.post(reverse("leads:rule_create"), rule_post(**overrides))
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not ScoringRule.objects.exists() and not Job.objects.exists()


def test_rule_names_are_unique_ignoring_case(marketer_client, views_rule):
    response = marketer_client.post(reverse("leads:rule_create"), rule_post(name="VIEWS"))
    assert response.status_code == 400 and "Another rule already has this name" in response.content.decode()


def test_a_negative_rule_takes_values_one_per_line(marketer_client):
    gmail = LeadFactory(email="ana@gmail.com")
    data = rule_post(name="Free mail", kind="free_mail", points="15", values_text="gmail.com\n\n yahoo.com \ngmail.com")
    marketer_client.post(reverse("leads:rule_create"), data)
    rule = ScoringRule.objects.get(name="Free mail")
    assert (rule.values, rule.event_type, rule.property_filter) == (["gmail.com", "yahoo.com"], "", {})
    scoring.rescore_run(job=Job.objects.get())
    gmail.refresh_from_db()
    assert gmail.score == -15


def test_changing_the_kind_shows_that_kinds_fields(marketer_client):
    response = marketer_client.post(
        reverse("leads:rule_create"), rule_post(kind="competitor", action="refresh"), **HTMX
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="values_text"' in content and 'name="event_type"' not in content
    assert not ScoringRule.objects.exists()


def test_deactivating_a_rule_drops_its_points_after_the_rescore(marketer_client, views_rule):
    lead = LeadFactory()
    EventFactory(lead=lead, type="page_viewed")
    scoring.rules_changed(rules=[views_rule])
    url = reverse("leads:rule_active", args=[views_rule.pk])
    assert "Deactivate rule “Views”?" in marketer_client.get(url).content.decode()
    marketer_client.post(url, {"is_active": "0"})
    scoring.rescore_run(job=Job.objects.get())
    lead.refresh_from_db()
    assert lead.score == 0 and not EngagementRollup.objects.exists()
    marketer_client.post(url, {"is_active": "1"})
    scoring.rescore_run(job=Job.objects.filter(status="queued").get())
    lead.refresh_from_db()
    assert lead.score == 5


def test_a_rule_name_with_html_is_rendered_escaped(marketer_client):
    ScoringRule.objects.create(name="<img src=x onerror=alert(1)>", event_type="page_viewed", points=5)
    content = marketer_client.get(reverse("leads:scoring")).content.decode()
    assert "<img src=x" not in content and "&lt;img src=x onerror=alert(1)&gt;" in content


def test_a_job_started_by_someone_else_is_not_shown_to_a_marketer(marketer_client, manager):
    job = Job.objects.create(kind="rescore", created_by=manager, total=Lead.objects.count())
    assert marketer_client.get(f"{reverse('leads:personas')}?job={job.pk}").status_code == 404


def test_tampered_persona_rows_get_a_400(marketer_client):
    data = {"name": "X", "action": "save", "conditions-TOTAL_FORMS": "abc", "conditions-INITIAL_FORMS": "0"}
    assert marketer_client.post(reverse("leads:persona_create"), data).status_code == 400
    data = {**data, "action": "add"}
    assert marketer_client.post(reverse("leads:persona_create"), data).status_code == 200
