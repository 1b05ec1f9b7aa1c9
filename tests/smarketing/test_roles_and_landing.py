import pytest
from django.urls import reverse

from leads.models import Stage
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_login_page_renders_a_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_login_with_password_lands_on_home(client, marketer):
    response = client.post(reverse("login"), {"username": "marketer", "password": "pw-marketer"})
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_marketer_landing_shows_real_stage_counts(marketer_client):
    LeadFactory.create_batch(3, stage=Stage.MQL)
    LeadFactory.create_batch(2, stage=Stage.LEAD)
    CampaignFactory()
    response = marketer_client.get(reverse("home"))
    assert response.status_code == 200
    assert response.templates[0].name == "reports/home_marketing.html"
    counts = {row["stage"]: row["count"] for row in response.context["stage_counts"]}
    assert counts["mql"] == 3
    assert counts["lead"] == 2
    assert response.context["total"] == 5
    assert response.context["new_this_month"] == 5
    assert response.context["campaign_count"] == 1


def test_rep_landing_counts_only_their_own_leads(rep_client, rep, other_rep):
    LeadFactory.create_batch(2, owner=rep, stage=Stage.SQL)
    LeadFactory.create_batch(4, owner=other_rep, stage=Stage.SQL)
    response = rep_client.get(reverse("home"))
    assert response.templates[0].name == "reports/home_sales.html"
    assert response.context["total"] == 2
    assert len(response.context["recent"]) == 2


def test_manager_lands_on_the_dashboard(manager_client):
    from reports.attribution.services import rollups_rebuild

    LeadFactory.create_batch(2)
    rollups_rebuild()  # what beat keeps current: the dashboard reads the rollups
    response = manager_client.get(reverse("home"))
    assert response.templates[0].name == "reports/dashboard/dashboard.html"
    assert response.context["cohorts"][-1]["leads"] == 2  # this month's cohort


def test_user_without_role_is_told_why(client, nobody):
    client.force_login(nobody)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"no role" in response.content


def test_landing_page_query_count_does_not_grow_with_leads(marketer_client, django_assert_max_num_queries):
    LeadFactory.create_batch(30)
    with django_assert_max_num_queries(12):  # 8, and 4 for this month's agreement attainment
        marketer_client.get(reverse("home"))


def test_rep_cannot_open_campaigns(rep_client):
    assert rep_client.get(reverse("leads:campaigns")).status_code == 403


def test_rep_cannot_see_another_reps_lead(rep_client, other_rep):
    lead = LeadFactory(owner=other_rep)
    assert rep_client.get(reverse("leads:detail", args=[lead.pk])).status_code == 404


def test_password_change_page_is_there(rep_client):
    assert rep_client.get(reverse("password_change")).status_code == 200


def test_a_password_change_sent_empty_or_wrong_is_a_400_per_field_and_changes_nothing(rep_client, rep):
    empty = rep_client.post(reverse("password_change"), {})
    assert empty.status_code == 400
    for name in ("old_password", "new_password1", "new_password2"):
        assert f'<div class="error" id="id_{name}_error">This field is required.</div>' in empty.text
    wrong = {"old_password": "not-it", "new_password1": "a-new-Pass-9921", "new_password2": "a-new-Pass-9921"}
    refused = rep_client.post(reverse("password_change"), wrong)
    assert refused.status_code == 400 and "Your old password was entered incorrectly." in refused.text
    rep.refresh_from_db()
    assert rep.check_password("pw-rep")


def test_a_password_change_with_the_old_password_saves_the_new_one(rep_client, rep):
    change = {"old_password": "pw-rep", "new_password1": "a-new-Pass-9921", "new_password2": "a-new-Pass-9921"}
    response = rep_client.post(reverse("password_change"), change)
    assert response.status_code == 302 and response.url == reverse("password_change_done")
    rep.refresh_from_db()
    assert rep.check_password("a-new-Pass-9921")


def test_logout_by_post(rep_client):
    response = rep_client.post(reverse("logout"))
    assert response.status_code == 302
    assert rep_client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize(
    ("path", "current"),
    [("/leads/", "Leads"), ("/leads/imports/", "Imports"), ("/leads/forms/", "Forms"), ("/leads/notifications/", None)],
)
def test_navigation_marks_only_the_section_you_are_in(marketer_client, path, current):
    response = marketer_client.get(path)
    marked = [item["label"] for item in response.context["nav_items"] if item["active"]]
    assert marked == ([current] if current else [])


def test_a_lead_page_belongs_to_the_lead_list(marketer_client):
    lead = LeadFactory()
    response = marketer_client.get(reverse("leads:detail", args=[lead.pk]))
    assert [item["label"] for item in response.context["nav_items"] if item["active"]] == ["Leads"]
