"""This month's agreement attainment on every role's landing page, and the agreement page where
managers set a month's terms — through the pages, asserting the response and the database."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Agreement, AssignmentLog, Deal, DealStage, Handoff, Lead, Stage, StageChange
from reports.attribution.services import rollups_rebuild
from smarketing.lib.periods import month_first, month_start, next_month
from tests.factories import LeadFactory
from tests.leads.sales.helpers import assigned_lead

pytestmark = pytest.mark.django_db

HOME = reverse("home")
AGREEMENT = reverse("reports:agreement")
EDIT = reverse("reports:agreement_edit")


def moved_to(stage: str, n: int) -> None:
    for lead in LeadFactory.create_batch(n, stage=stage):
        StageChange.objects.create(lead=lead, from_stage=Stage.LEAD, to_stage=stage, changed_at=timezone.now())


@pytest.fixture
def this_month() -> Agreement:
    return Agreement.objects.create(
        month=month_first(), mql_target=20, close_quota=5, close_per=20, first_touch_target_pct=90
    )


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_every_landing_page_shows_this_months_attainment_both_ways(who, request, this_month):
    moved_to(Stage.MQL, 14)
    handed = [assigned_lead(request.getfixturevalue("rep")) for _ in range(4)]
    won = DealStage.objects.get(outcome="won")
    Deal.objects.create(lead=handed[0], name="Acme", amount=18000, stage=won)
    rollups_rebuild()  # a manager's home is the dashboard, which reads the rollups
    client = request.getfixturevalue(f"{who}_client")
    response = client.get(HOME)
    assert response.status_code == 200
    attainment = response.context["attainment"]
    assert (attainment["mql_delivered"], attainment["mql_target"]) == (14, 20)
    assert (attainment["handed_off"], attainment["won"], attainment["close_rate_pct"]) == (4, 1, 25.0)
    html = response.content.decode()
    assert "Marketing → Sales" in html and "Sales → Marketing" in html
    assert '14 <span class="of">/ 20</span>' in html and f"on pace for {attainment['mql_on_pace']}" in html
    assert "25%" in html and "1 won of 4 handed over · agreed 5 of every 20 (25%)" in html and "18,000.00 won" in html
    assert "target 90%" in html
    assert '<meter min="0" max="20" value="14"' in html


def test_a_reps_landing_counts_their_own_handoffs_touched_in_time(rep_client, rep, other_rep, this_month):
    mine = assigned_lead(rep)
    Handoff.objects.filter(lead=mine).update(first_touch_at=timezone.now())
    theirs = assigned_lead(other_rep, due_in=timedelta(hours=-1))
    Handoff.objects.filter(lead=theirs).update(deadline=timezone.now() - timedelta(hours=1))
    response = rep_client.get(HOME)
    attainment = response.context["attainment"]
    assert (attainment["in_time"], attainment["decided"], attainment["touched_in_time_pct"]) == (1, 1, 100)
    assert "Your handoffs touched in time" in response.content.decode()


def test_with_no_agreement_set_the_defaults_show(manager_client):
    html = manager_client.get(HOME).content.decode()
    assert "/ 20</span>" in html and "agreed 5 of every 20 (25%)" in html  # the model's defaults


# --- The agreement page -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_every_role_reads_the_agreement_page(who, request, this_month):
    response = request.getfixturevalue(f"{who}_client").get(AGREEMENT)
    assert response.status_code == 200
    html = response.content.decode()
    assert "5 of 20" in html and "Months" in html
    assert ("Set " in html and EDIT in html) == (who == "manager")


def test_agreement_page_lists_past_months_and_shows_one(manager_client, this_month):
    earlier = (month_first() - timedelta(days=1)).replace(day=1)
    Agreement.objects.create(month=earlier, mql_target=12, close_quota=3, close_per=12)
    html = manager_client.get(AGREEMENT).content.decode()
    assert f"{earlier:%B %Y}" in html and f"?month={earlier:%Y-%m}" in html
    response = manager_client.get(f"{AGREEMENT}?month={earlier:%Y-%m}")
    assert response.context["attainment"]["mql_target"] == 12 and "3 of 12" in response.content.decode()


def test_a_bad_month_is_400_and_shows_this_month(manager_client):
    response = manager_client.get(f"{AGREEMENT}?month=2026-13")
    assert response.status_code == 400 and "Give the month as YYYY-MM" in response.content.decode()


def test_manager_sets_next_months_agreement(manager_client, manager, this_month):
    coming = next_month(month_first())
    form = manager_client.get(f"{EDIT}?month={coming:%Y-%m}")
    assert form.status_code == 200 and form.context["form"].initial["mql_target"] == 20  # carried forward
    data = {
        "month": f"{coming:%Y-%m}",
        "mql_target": "30",
        "close_quota": "6",
        "speed_to_lead_hours": "8",
        "reassign_after_hours": "24",
        "first_touch_target_pct": "95",
        "handoff_stage": "sql",
    }
    response = manager_client.post(EDIT, data, follow=True)
    assert response.redirect_chain[-1][0] == f"{AGREEMENT}?month={coming:%Y-%m}"
    assert f"Set the agreement for {coming:%B %Y}: 30 MQLs, close 6" in response.content.decode()
    saved = Agreement.objects.get(month=coming)
    assert (saved.mql_target, saved.close_quota, saved.handoff_stage, saved.created_by) == (30, 6, "sql", manager)


def test_a_past_month_keeps_its_agreement(manager_client):
    past = (month_first() - timedelta(days=1)).replace(day=1)
    data = {"month": f"{past:%Y-%m}", "mql_target": "1", "close_quota": "1", "speed_to_lead_hours": "1"}
    data |= {"reassign_after_hours": "1", "first_touch_target_pct": "50", "handoff_stage": "mql"}
    response = manager_client.post(EDIT, data)
    assert response.status_code == 400 and "Past months keep the agreement they had" in response.content.decode()
    assert not Agreement.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_touch_target_pct", "120", "less than or equal to 100"),
        ("speed_to_lead_hours", "0", "greater than or equal to 1"),
        ("mql_target", "many", "Enter a whole number."),
        ("handoff_stage", "customer", "Select a valid choice."),
        ("month", "next", "Give the month as YYYY-MM"),
    ],
)
def test_bad_agreement_input_is_400_with_a_message_per_field(manager_client, field, value, message):
    data = {"month": f"{next_month(month_first()):%Y-%m}", "mql_target": "20", "close_quota": "5"}
    data |= {"speed_to_lead_hours": "24", "reassign_after_hours": "24", "first_touch_target_pct": "90"}
    data |= {"handoff_stage": "mql", field: value}
    response = manager_client.post(EDIT, data)
    assert response.status_code == 400 and message in response.content.decode()
    assert response.context["form"].errors[field]
    assert not Agreement.objects.exists()


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_managers_set_the_agreement(who, request):
    client = request.getfixturevalue(f"{who}_client")
    assert client.get(EDIT).status_code == 403
    assert client.post(EDIT, {"month": "2099-01", "mql_target": "1"}).status_code == 403
    assert not Agreement.objects.exists()


def test_agreement_page_query_count_does_not_grow_with_months(manager_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as few:
        manager_client.get(AGREEMENT)
    first = month_first()
    for n in range(6):
        Agreement.objects.create(month=(first - timedelta(days=31 * n + 1)).replace(day=1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager_client.get(AGREEMENT)


def test_before_any_handoff_the_sales_side_says_why_it_has_no_figures(manager_client, this_month):
    html = manager_client.get(HOME).content.decode()
    assert html.count("no handoffs yet this month") == 2  # touched in time, and the close rate
    assert "agreed 5 of every 20 (25%)" in html
    assert "0 of 0" not in html


def test_a_quota_above_its_base_is_refused_with_a_message(manager_client):
    data = {"month": f"{month_first():%Y-%m}", "mql_target": "20", "close_quota": "30", "close_per": "20"}
    data |= {"speed_to_lead_hours": "4", "reassign_after_hours": "24", "first_touch_target_pct": "90"}
    response = manager_client.post(EDIT, {**data, "handoff_stage": "mql"})
    assert response.status_code == 400
    assert "Sales cannot win more than all of them: at most the leads handed over." in response.content.decode()
    assert not Agreement.objects.exists()


def test_last_months_cohort_shows_what_sales_won_from_it(manager_client, rep, this_month):
    last_month = month_start() - timedelta(days=10)  # a moment, in the instance's zone
    won, lost = assigned_lead(rep), assigned_lead(rep)
    Handoff.objects.filter(lead__in=[won, lost]).update(handed_off_at=last_month)
    Deal.objects.create(lead=won, name="Acme", amount=9000, stage=DealStage.objects.get(outcome="won"))
    previous = manager_client.get(HOME).context["attainment"]["previous"]
    assert (previous["handed_off"], previous["won"], previous["close_rate_pct"]) == (2, 1, 50.0)
    html = manager_client.get(HOME).content.decode()
    assert f"{last_month:%B}'s handoffs so far: 50% (1 won of 2)" in html and "9,000.00 won" in html


def test_a_reps_landing_counts_the_leads_handed_to_them_this_month(rep_client, rep):
    old_lead = assigned_lead(rep)
    Lead.objects.filter(pk=old_lead.pk).update(created_at=timezone.now() - timedelta(days=90))
    AssignmentLog.objects.create(lead=old_lead, action=AssignmentLog.Action.CLAIMED, to_rep=rep)
    response = rep_client.get(HOME)
    assert response.context["new_this_month"] == 1
    assert "Handed to you this month" in response.content.decode()


def test_mqls_delivered_count_each_leads_first_entry_into_mql_once(this_month):
    from reports.dashboard.selectors import agreement_leads, agreement_trend
    from reports.selectors import agreement_attainment

    now = timezone.now()
    earlier = month_start(now - timedelta(days=40))
    returning, new = LeadFactory(stage=Stage.MQL), LeadFactory(stage=Stage.MQL)
    for to_stage, at in [(Stage.MQL, earlier), (Stage.RECYCLED, earlier + timedelta(days=2)), (Stage.MQL, now)]:
        StageChange.objects.create(lead=returning, from_stage=Stage.LEAD, to_stage=to_stage, changed_at=at)
    StageChange.objects.create(lead=new, from_stage=Stage.LEAD, to_stage=Stage.MQL, changed_at=now)
    StageChange.objects.create(
        lead=new, from_stage=Stage.MQL, to_stage=Stage.MQL, changed_at=now
    )  # a repeat the same moment

    assert agreement_attainment()["mql_delivered"] == 1  # the returning lead was delivered before
    rollups_rebuild()  # the dashboard reads the rollups
    assert list(agreement_leads(figure="mql_delivered", month=month_first())) == [new]
    trend = {row.month: row.mql_delivered for row in agreement_trend(last=month_first())}
    assert trend[month_first()] == 1 and trend[month_first(timezone.localdate(earlier))] == 1
