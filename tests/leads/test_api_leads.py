from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.capture.ingest import EventIn, events_ingest
from leads.models import (
    ChangeSource,
    DefinitionStatus,
    Lead,
    Persona,
    QualificationDefinition,
    ScoringRule,
    Stage,
    StageChange,
)
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/leads/"


def api(user=None, token: bool = True) -> APIClient:
    client = APIClient()
    if user is not None and token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    elif user is not None:
        client.force_authenticate(user)
    return client


def detail(pk: int) -> str:
    return f"/api/v1/leads/{pk}/"


# --- Authentication and roles -----------------------------------------------------------


def test_list_without_token_is_401_with_a_message():
    response = APIClient().get(LIST)
    assert response.status_code == 401
    assert "credentials" in response.json()["detail"].lower()


def test_a_wrong_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get(LIST).status_code == 401


def test_a_user_without_a_role_is_refused_the_list(nobody):
    assert api(nobody).get(LIST).status_code == 403


def test_session_login_reads_the_api_too(marketer_client):
    LeadFactory()
    response = marketer_client.get(LIST)
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_rep_sees_only_their_own_leads_in_the_list(rep, other_rep):
    mine = LeadFactory(owner=rep)
    LeadFactory(owner=other_rep)
    LeadFactory()
    body = api(rep).get(LIST).json()
    assert [row["id"] for row in body["results"]] == [mine.pk]
    assert body["results"][0]["owner"] == {"id": rep.pk, "username": "rep"}


def test_rep_gets_404_on_another_reps_lead(rep, other_rep):
    theirs = LeadFactory(owner=other_rep)
    assert api(rep).get(detail(theirs.pk)).status_code == 404


def test_rep_reads_the_detail_of_their_own_lead(rep):
    mine = LeadFactory(owner=rep)
    assert api(rep).get(detail(mine.pk)).status_code == 200


def test_unknown_lead_is_404(marketer):
    assert api(marketer).get(detail(999_999)).status_code == 404


# --- Upsert -----------------------------------------------------------------------------


def test_marketer_upsert_creates_a_lead_with_a_normalized_email_201(marketer):
    response = api(marketer).post(
        LIST, {"email": "  Ana.Perez@Acme.IO ", "first_name": "Ana", "company": "Acme", "country": "es"}, format="json"
    )
    assert response.status_code == 201, response.json()
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company, lead.country) == ("ana.perez@acme.io", "Ana", "Acme", "ES")
    assert response.json()["id"] == lead.pk
    assert response.json()["stage_history"][0]["to_stage"] == "lead"


def test_upsert_merges_into_a_known_lead_200_filling_only_blanks(manager):
    lead = LeadFactory(email="ana@acme.io", first_name="Ana", company="", title="")
    response = api(manager).post(
        LIST, {"email": "ANA@acme.io", "first_name": "Anita", "company": "Acme", "title": "CTO"}, format="json"
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.first_name, lead.company, lead.title) == ("Ana", "Acme", "CTO")
    assert Lead.objects.count() == 1


def test_upsert_with_utm_values_sets_the_first_touch_and_campaign(marketer):
    campaign = CampaignFactory(utm_campaign="spring-webinar")
    payload = {"email": "new@acme.io", "utm_source": "linkedin", "utm_campaign": "spring-webinar"}
    assert api(marketer).post(LIST, payload, format="json").status_code == 201
    lead = Lead.objects.get()
    assert lead.source == "linkedin"
    assert lead.first_campaign == campaign
    assert lead.first_touch["utm_campaign"] == "spring-webinar"
    assert lead.last_touch_at is not None


def test_upsert_of_a_known_lead_keeps_its_first_touch(marketer):
    LeadFactory(email="old@acme.io", source="seo", first_touch={"utm_source": "google"})
    api(marketer).post(LIST, {"email": "old@acme.io", "utm_source": "linkedin"}, format="json")
    assert Lead.objects.get().source == "seo"


def test_upsert_records_consent_and_scores_the_lead(marketer):
    Persona.objects.create(
        name="Founders", conditions=[{"field": "title", "op": "contains", "value": "founder", "weight": 1}]
    )
    response = api(marketer).post(LIST, {"email": "f@x.io", "title": "Co-founder", "consent": True}, format="json")
    lead = Lead.objects.get()
    assert lead.consent and lead.consent_at is not None
    assert lead.fit_score == 100
    assert response.json()["score_breakdown"] == [{"rule": "Fit (Founders)", "points": 100}]


def test_rep_cannot_upsert_leads_403(rep):
    response = api(rep).post(LIST, {"email": "x@acme.io"}, format="json")
    assert response.status_code == 403
    assert Lead.objects.count() == 0


def test_upsert_without_token_is_401():
    assert APIClient().post(LIST, {"email": "x@acme.io"}, format="json").status_code == 401
    assert Lead.objects.count() == 0


def test_upsert_with_bad_fields_gives_a_message_per_field(marketer):
    payload = {"email": "not-an-email", "country": "Spain", "company_size": -3, "first_name": "x" * 101}
    response = api(marketer).post(LIST, payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "country", "company_size", "first_name"}
    assert Lead.objects.count() == 0


def test_upsert_refuses_nul_characters_instead_of_failing(marketer):
    response = api(marketer).post(LIST, {"email": "a@b.io", "company": "Ac\x00me"}, format="json")
    assert response.status_code == 400
    assert "company" in response.json()


def test_malformed_json_is_a_400_json_reply(marketer):
    response = api(marketer).post(LIST, '{"email": "a@b.io",', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_markup_in_text_fields_is_stored_and_returned_as_given(marketer):
    script = '<script>alert("x")</script> & <b>Co</b>'
    response = api(marketer).post(LIST, {"email": "x@acme.io", "company": script}, format="json")
    assert Lead.objects.get().company == script
    assert response.json()["company"] == script
    assert api(marketer).get(LIST).json()["results"][0]["company"] == script


# --- Detail -----------------------------------------------------------------------------


def test_detail_explains_the_score_the_stage_history_and_why_it_qualified(marketer):
    ScoringRule.objects.create(name="Webinar", event_type="webinar_attended", points=40)
    QualificationDefinition.objects.create(
        version=1,
        status=DefinitionStatus.ACTIVE,
        mql_rule={"op": "has_event", "event": "webinar_attended"},
        sql_rule={},
    )
    events_ingest(
        events=[EventIn(email="w@acme.io", type="webinar_attended", occurred_at=timezone.now(), idempotency_key="w1")]
    )
    lead = Lead.objects.get()
    body = api(marketer).get(detail(lead.pk)).json()
    assert body["stage"] == "mql"
    assert body["score"] == 40
    assert body["score_breakdown"] == [{"rule": "Webinar", "points": 40}]
    assert [row["to_stage"] for row in body["stage_history"]] == ["mql", "lead"]
    assert body["stage_history"][0]["source"] == ChangeSource.RULE
    assert body["why_qualified"][0]["version"] == 1
    assert body["why_qualified"][0]["to"] == "MQL"
    assert body["why_qualified"][0]["rules"]


def test_detail_names_who_changed_the_stage(marketer, rep):
    lead = LeadFactory(owner=rep)
    StageChange.objects.create(lead=lead, from_stage="lead", to_stage="recycled", changed_by=rep, reason="No budget")
    row = api(marketer).get(detail(lead.pk)).json()["stage_history"][0]
    assert (row["changed_by"], row["reason"]) == ("rep", "No budget")


# --- Filters and ordering ---------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_filter_by_several_stages(marketer):
    mql, sql = LeadFactory(stage=Stage.MQL), LeadFactory(stage=Stage.SQL)
    LeadFactory(stage=Stage.LEAD)
    assert sorted(ids(api(marketer).get(LIST, {"stage": ["mql", "sql"]}))) == sorted([mql.pk, sql.pk])


def test_filter_by_owner_and_unassigned(marketer, rep):
    owned, free = LeadFactory(owner=rep), LeadFactory()
    assert ids(api(marketer).get(LIST, {"owner": rep.pk})) == [owned.pk]
    assert ids(api(marketer).get(LIST, {"owner": "null"})) == [free.pk]


def test_filter_by_score_range(marketer):
    LeadFactory(score=10)
    middle = LeadFactory(score=50)
    LeadFactory(score=90)
    assert ids(api(marketer).get(LIST, {"score_min": 20, "score_max": 60})) == [middle.pk]


def test_filter_by_source_campaign_and_persona(marketer):
    campaign = CampaignFactory()
    persona = Persona.objects.create(name="Ops", conditions=[])
    match = LeadFactory(source="linkedin", first_campaign=campaign, persona=persona)
    LeadFactory(source="linkedin")
    LeadFactory(first_campaign=campaign)
    query = {"source": "linkedin", "campaign": campaign.pk, "persona": persona.pk}
    assert ids(api(marketer).get(LIST, query)) == [match.pk]


def test_persona_and_score_filters_keep_the_newest_first_order_whatever_the_ids(marketer):
    """Filtered by persona or score, the list orders by the score row's copy of created_at."""
    now = timezone.now()
    persona = Persona.objects.create(name="Ops", conditions=[])
    backdated = LeadFactory(persona=persona, score=50, created_at=now - timedelta(days=30))  # a later id, older
    oldest = LeadFactory(persona=persona, score=50, created_at=now - timedelta(days=60))
    newest = LeadFactory(persona=persona, score=50, created_at=now - timedelta(days=1))
    LeadFactory(created_at=now)
    assert ids(api(marketer).get(LIST, {"persona": persona.pk})) == [newest.pk, backdated.pk, oldest.pk]
    assert ids(api(marketer).get(LIST, {"score_min": 40})) == [newest.pk, backdated.pk, oldest.pk]
    query = {"persona": persona.pk, "ordering": "created_at"}
    assert ids(api(marketer).get(LIST, query)) == [oldest.pk, backdated.pk, newest.pk]
    query["ordering"] = "-score"
    assert set(ids(api(marketer).get(LIST, query))) == {oldest.pk, backdated.pk, newest.pk}


def test_filter_by_created_range_with_dates_and_times(marketer):
    now = timezone.now()
    old = LeadFactory(created_at=now - timedelta(days=10))
    recent = LeadFactory(created_at=now - timedelta(days=1))
    day = timezone.localdate(old.created_at).isoformat()
    assert ids(api(marketer).get(LIST, {"created_before": day})) == [old.pk]
    assert ids(api(marketer).get(LIST, {"created_after": (now - timedelta(days=2)).isoformat()})) == [recent.pk]


def test_search_matches_every_word_over_name_email_and_company(marketer):
    ana = LeadFactory(first_name="Ana", last_name="Pérez", company="Acme")
    LeadFactory(first_name="Ana", last_name="Gómez", company="Nube")
    assert ids(api(marketer).get(LIST, {"q": "ana acme"})) == [ana.pk]


def test_ordering_by_whitelisted_fields(marketer):
    low, high = LeadFactory(score=5), LeadFactory(score=80)
    assert ids(api(marketer).get(LIST, {"ordering": "-score"})) == [high.pk, low.pk]
    assert ids(api(marketer).get(LIST, {"ordering": "score"})) == [low.pk, high.pk]


def test_ordering_by_last_touch_follows_each_new_touch(marketer):
    """The list sorts by the score row's copy of the last touch, which capture keeps current."""
    now = timezone.now()
    for email, hours_ago in (("old@x.io", 3), ("recent@x.io", 1)):
        touch = EventIn(email, "page_viewed", now - timedelta(hours=hours_ago), email, {"utm_source": "ads"})
        events_ingest(events=[touch])
    old, recent = Lead.objects.get(email="old@x.io"), Lead.objects.get(email="recent@x.io")
    assert ids(api(marketer).get(LIST, {"ordering": "-last_touch_at"})) == [recent.pk, old.pk]
    events_ingest(events=[EventIn("old@x.io", "page_viewed", now, "again", {"utm_source": "mail"})])
    assert ids(api(marketer).get(LIST, {"ordering": "-last_touch_at"})) == [old.pk, recent.pk]
    assert ids(api(marketer).get(LIST, {"ordering": "last_touch_at"})) == [recent.pk, old.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "owner__password"}, "ordering"),
        ({"stage": "nope"}, "stage"),
        ({"score_min": "abc"}, "score_min"),
        ({"score_max": "1e400"}, "score_max"),
        ({"score_min": "99999999999999999999999"}, "score_min"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "0001-01-01T00:00:00+05:00"}, "created_before"),
        ({"owner": "abc"}, "owner"),
        ({"persona": "99999999999999999999999"}, "persona"),
        ({"q": "a\x00b"}, "q"),
        ({"stages": "mql"}, "stages"),
    ],
)
def test_hostile_filter_values_are_a_400_naming_the_parameter(marketer, params, field):
    LeadFactory()
    response = api(marketer).get(LIST, params)
    assert response.status_code == 400
    assert field in response.json()


def test_pages_and_page_size(marketer):
    LeadFactory.create_batch(5)
    body = api(marketer).get(LIST, {"page_size": 2, "page": 2}).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] and body["previous"]


def test_list_query_count_does_not_grow_with_rows(marketer, rep, django_assert_max_num_queries):
    campaign = CampaignFactory()
    persona = Persona.objects.create(name="Ops", conditions=[])
    client = api(marketer)
    LeadFactory.create_batch(3, owner=rep, first_campaign=campaign, persona=persona)
    with django_assert_max_num_queries(5):
        assert len(client.get(LIST).json()["results"]) == 3
    LeadFactory.create_batch(30, owner=rep, first_campaign=campaign, persona=persona)
    with django_assert_max_num_queries(5):
        assert len(client.get(LIST).json()["results"]) == 33


# --- Schema -----------------------------------------------------------------------------


def test_schema_documents_every_endpoint(client):
    response = client.get(reverse("schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/leads/", "/api/v1/leads/{id}/", "/api/v1/events/", "/api/v1/capture/{form_key}/"):
        assert path in paths
    assert {p["name"] for p in paths["/api/v1/leads/"]["get"]["parameters"]} >= {
        "stage",
        "owner",
        "score_min",
        "score_max",
        "source",
        "campaign",
        "created_after",
        "created_before",
        "persona",
        "ordering",
    }
    assert "requestBody" in paths["/api/v1/events/"]["post"]


def test_docs_page_renders(client):
    assert client.get(reverse("api-docs")).status_code == 200
