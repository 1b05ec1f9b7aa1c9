import html

import pytest
from django.urls import reverse

from leads.capture.services import HONEYPOT_FIELD
from leads.models import CaptureForm
from tests.factories import CampaignFactory, EventFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = reverse("leads:forms")
NEW = reverse("leads:form_new")


def make_form(name: str = "Webinar", **overrides) -> CaptureForm:
    values = {
        "key": f"key-{name.lower().replace(' ', '-')}",
        "fields": ["email", "first_name"],
        "required_fields": ["email"],
        **overrides,
    }
    return CaptureForm.objects.create(name=name, **values)


def builder_data(**overrides) -> dict:
    return {
        "name": "Spring webinar",
        "fields": ["first_name", "company"],
        "required_fields": ["first_name"],
        "thank_you_url": "",
        "consent_text": "",
        "is_active": "on",
        **overrides,
    }


# --- Who may see the pages --------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["leads:forms", "leads:form_new"])
def test_rep_is_refused_the_builder(rep_client, url_name):
    assert rep_client.get(reverse(url_name)).status_code == 403


def test_rep_is_refused_a_forms_detail_and_edit(rep_client):
    form = make_form()
    assert rep_client.get(reverse("leads:form_detail", args=[form.pk])).status_code == 403
    response = rep_client.post(reverse("leads:form_edit", args=[form.pk]), builder_data(name="Hijacked"))
    assert response.status_code == 403
    form.refresh_from_db()
    assert form.name == "Webinar"


def test_rep_cannot_create_a_form(rep_client):
    assert rep_client.post(NEW, builder_data()).status_code == 403
    assert CaptureForm.objects.count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_forms_is_in_the_navigation_of_marketing_and_managers_only(marketer_client, manager_client, rep_client):
    for client in (marketer_client, manager_client):
        assert f'href="{LIST}"' in client.get(reverse("home")).content.decode()
    assert f'href="{LIST}"' not in rep_client.get(reverse("home")).content.decode()


# --- List -------------------------------------------------------------------------------


def test_empty_list_says_what_to_do(marketer_client):
    response = marketer_client.get(LIST)
    assert response.status_code == 200
    assert "No capture forms yet" in response.content.decode()


def test_list_shows_each_form_with_its_submissions(manager_client, django_assert_max_num_queries):
    webinar, demo = make_form("Webinar", campaign=CampaignFactory(name="Spring")), make_form("Demo request")
    lead = LeadFactory()
    for n in range(3):
        EventFactory(lead=lead, type="form_submitted", properties={"form": webinar.key}, idempotency_key=f"w{n}")
    EventFactory(lead=lead, type="page_viewed", properties={"form": webinar.key})
    with django_assert_max_num_queries(6):
        response = manager_client.get(LIST)
    rows = {row["form"].name: row["submissions"] for row in response.context["rows"]}
    assert rows == {"Webinar": 3, "Demo request": 0}
    assert "Spring" in response.content.decode()
    assert demo.name in response.content.decode()


def test_list_query_count_does_not_grow_with_forms(marketer_client, django_assert_max_num_queries):
    for n in range(12):
        make_form(f"Form {n}", campaign=CampaignFactory())
    with django_assert_max_num_queries(6):
        assert marketer_client.get(LIST).status_code == 200


# --- Create and edit --------------------------------------------------------------------


def test_marketer_creates_a_form_with_a_generated_key(marketer_client, marketer):
    campaign = CampaignFactory()
    response = marketer_client.post(NEW, builder_data(campaign=campaign.pk), follow=True)
    form = CaptureForm.objects.get()
    assert response.redirect_chain[-1][0] == reverse("leads:form_detail", args=[form.pk])
    assert len(form.key) >= 16
    assert form.fields == ["email", "first_name", "company"]
    assert form.required_fields == ["email", "first_name"]
    assert (form.campaign, form.created_by, form.is_active) == (campaign, marketer, True)
    assert "Spring webinar” created" in response.content.decode()


def test_two_forms_get_different_keys(marketer_client):
    marketer_client.post(NEW, builder_data())
    marketer_client.post(NEW, builder_data(name="Other"))
    assert len(set(CaptureForm.objects.values_list("key", flat=True))) == 2


def test_new_form_page_labels_every_input(manager_client):
    page = manager_client.get(NEW).content.decode()
    for name in ("name", "campaign", "thank_you_url", "consent_text", "is_active"):
        assert f'<label for="id_{name}"' in page
    assert "<legend>Fields shown</legend>" in page


def test_a_required_field_must_be_shown(marketer_client):
    response = marketer_client.post(NEW, builder_data(fields=["company"], required_fields=["first_name"]))
    assert response.status_code == 400
    assert "Required but not shown: First name" in response.content.decode()
    assert CaptureForm.objects.count() == 0


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://files.example.com/x", "not a url"])
def test_the_thank_you_url_must_be_a_web_address(marketer_client, url):
    response = marketer_client.post(NEW, builder_data(thank_you_url=url))
    assert response.status_code == 400
    assert CaptureForm.objects.count() == 0


def test_a_name_is_required(marketer_client):
    response = marketer_client.post(NEW, builder_data(name=""))
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_a_form_sent_without_its_fields_is_a_400_naming_the_required_name(marketer_client, editing):
    """Not the blank builder again as if nothing had been sent: the name says it is required,
    under its input and tied to it for a screen reader."""
    form = make_form() if editing else None
    response = marketer_client.post(reverse("leads:form_edit", args=[form.pk]) if editing else NEW, {})
    assert response.status_code == 400
    assert response.context["builder"].errors == {"name": ["This field is required."]}
    assert 'aria-describedby="id_name_helptext id_name_error"' in response.text
    assert '<ul class="errorlist" id="id_name_error"><li>This field is required.</li></ul>' in response.text
    assert '<span class="help" id="id_name_helptext">' in response.text
    kept = [("Webinar", ["email", "first_name"], True)] if editing else []
    assert list(CaptureForm.objects.values_list("name", "fields", "is_active")) == kept


def test_editing_keeps_the_key_and_can_switch_the_form_off(marketer_client):
    form = make_form()
    key = form.key
    response = marketer_client.post(
        reverse("leads:form_edit", args=[form.pk]),
        builder_data(name="Renamed", is_active="", thank_you_url="https://acme.example.com/thanks"),
        follow=True,
    )
    form.refresh_from_db()
    assert (form.key, form.name, form.is_active) == (key, "Renamed", False)
    assert form.thank_you_url == "https://acme.example.com/thanks"
    assert "submissions are refused" in response.content.decode()


def test_the_edit_page_starts_from_the_forms_values(marketer_client):
    form = make_form(consent_text="Email me")
    response = marketer_client.get(reverse("leads:form_edit", args=[form.pk]))
    builder = response.context["builder"]
    assert builder["name"].value() == "Webinar"
    assert builder["fields"].value() == ["first_name"]
    assert builder["consent_text"].value() == "Email me"


def test_editing_an_unknown_form_is_404(marketer_client):
    assert marketer_client.get(reverse("leads:form_edit", args=[999])).status_code == 404


# --- Detail: share link and snippet -----------------------------------------------------


def test_detail_shows_the_hosted_link_and_an_escaped_embeddable_snippet(marketer_client):
    form = make_form(fields=["email", "first_name", "company"], required_fields=["email", "company"])
    response = marketer_client.get(reverse("leads:form_detail", args=[form.pk]))
    page = response.content.decode()
    assert f"http://testserver/f/{form.key}/" in page
    snippet = response.context["snippet"]
    assert f'<form method="post" action="http://testserver/api/v1/capture/{form.key}/">' in snippet
    assert 'name="company"' in snippet and 'name="first_name"' in snippet
    assert '<input type="hidden" name="utm_source" value="">' in snippet
    assert '<input type="hidden" name="referrer" value="">' in snippet
    assert '<input type="hidden" name="referral_code" value="">' in snippet
    assert f'name="{HONEYPOT_FIELD}"' in snippet
    assert '<pre class="snippet"' in page
    assert html.escape(snippet.splitlines()[0]) in page  # shown as text, not as a live form
    assert f'<form method="post" action="http://testserver/api/v1/capture/{form.key}/">' not in page
    assert 'data-copy-target="embed-code"' in page
    assert "js/forms.js" in page


def test_the_snippet_escapes_the_consent_text(marketer_client):
    form = make_form(consent_text='<img src=x onerror="alert(1)">')
    response = marketer_client.get(reverse("leads:form_detail", args=[form.pk]))
    assert "&lt;img src=x" in response.context["snippet"]
    assert "<img src=x" not in response.content.decode()


def test_the_snippet_posts_to_a_working_endpoint(marketer_client, client):
    form = make_form()
    marketer_client.get(reverse("leads:form_detail", args=[form.pk]))
    response = client.post(f"/api/v1/capture/{form.key}/", {"email": "a@acme.io", "first_name": "A", "utm_source": ""})
    assert response.status_code == 303


def test_detail_counts_submissions(marketer_client):
    form = make_form()
    EventFactory(type="form_submitted", properties={"form": form.key})
    response = marketer_client.get(reverse("leads:form_detail", args=[form.pk]))
    assert response.context["submissions"] == 1


def test_submissions_are_counted_through_their_index():
    """At 10M events, counting without it read every form_submitted event: a second a page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.capture.selectors import capture_form_submissions

    if connection.vendor != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    form = make_form()
    EventFactory(type="form_submitted", properties={"form": form.key})
    with CaptureQueriesContext(connection) as queries:
        assert capture_form_submissions([form]) == {form.key: 1}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {queries[-1]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "event_form_submissions" in plan
