"""The rep's pages: My queue (and a manager's team view), claiming, the actions on the lead page
(log activity, accept, reject, recycle) and notifications — through the pages, asserting the
response and the database."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import (
    Activity,
    Deal,
    Handoff,
    HandoffStatus,
    Lead,
    Notification,
    RepProfile,
    Stage,
    StageChange,
)
from tests.leads.sales.helpers import assigned_lead, new_rep, pooled_lead, team_with

pytestmark = pytest.mark.django_db

QUEUE = reverse("leads:queue")
CLAIM = reverse("leads:queue_claim")
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, lead: Lead) -> str:
    return reverse(f"leads:{name}", args=[lead.pk])


def tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


# --- My queue ---------------------------------------------------------------------------


def test_queue_lists_the_reps_leads_overdue_first_with_why_and_score(rep_client, rep):
    later = assigned_lead(rep, due_in=timedelta(hours=5), first_name="Luis", last_name="Gómez", score=64)
    overdue = assigned_lead(rep, due_in=timedelta(hours=-2), first_name="Ana", last_name="Pérez", score=78)
    Handoff.objects.filter(lead=overdue).update(why=["webinar attended", "price list", "trial"])
    response = rep_client.get(QUEUE)
    assert response.status_code == 200
    rows = response.context["results"]
    assert [row["lead"].pk for row in rows] == [overdue.pk, later.pk]
    html = response.content.decode()
    assert html.index("Ana Pérez") < html.index("Luis Gómez")
    assert "webinar attended · price list · trial" in html
    assert "overdue" in html and 'datetime="' in html and "data-countdown" in html
    assert '<meter min="0" max="100"' in html and 'value="78"' in html
    assert "Claim next lead" in html and "Keyboard shortcuts" in html


def test_queue_banner_shows_first_touch_in_time_and_load_against_capacity(rep_client, rep):
    team_with("Iberia", rep, capacity=7)
    assigned_lead(rep)
    response = rep_client.get(QUEUE)
    html = response.content.decode()
    assert "Agreement this month:" in html and "(target 90%)" in html
    assert "1 / 7" in html


def test_empty_queue_says_so_and_what_to_do(rep_client):
    assert "Your queue is clear. No leads are waiting in your pools." in rep_client.get(QUEUE).content.decode()
    pooled_lead()
    html = rep_client.get(QUEUE).content.decode()
    assert "Your queue is clear — claim the next lead." in html
    assert "1</strong> waiting in your pools" in html


def test_queue_page_query_count_does_not_grow_with_the_queue(rep_client, rep, django_assert_max_num_queries):
    assigned_lead(rep)
    pooled_lead()
    with django_assert_max_num_queries(12) as few:
        rep_client.get(QUEUE)
    for _ in range(15):
        assigned_lead(rep)
        pooled_lead()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = rep_client.get(QUEUE)
    assert len(response.context["results"]) == 16


def test_marketer_has_no_queue(marketer_client):
    assert marketer_client.get(QUEUE).status_code == 403
    assert marketer_client.post(CLAIM).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(QUEUE)
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --- Claiming ---------------------------------------------------------------------------


def test_claim_gives_the_best_pooled_lead_and_the_queue_shows_it_in_place(rep_client, rep):
    pooled_lead(score=10)
    best = pooled_lead(score=80, first_name="Ana", last_name="Pérez", company="Acme Ltda")
    response = rep_client.post(CLAIM, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="queue"' in html and "<html" not in html
    assert "Claimed Ana Pérez (Acme Ltda)." in html and "just-claimed" in html
    assert Lead.objects.get(pk=best.pk).owner == rep
    assert Handoff.objects.get(lead=best).status == HandoffStatus.ASSIGNED


def test_claim_without_htmx_redirects_to_the_queue_with_a_message(rep_client, rep):
    pooled_lead(first_name="Ana", last_name="Pérez", company="")
    response = rep_client.post(CLAIM, follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    assert "Claimed Ana Pérez." in response.content.decode()


def test_claim_with_nothing_waiting_says_so(rep_client):
    response = rep_client.post(CLAIM, **HTMX)
    assert response.status_code == 200
    assert "No leads are waiting in your pools." in response.content.decode()


def test_claim_at_capacity_is_409_with_the_message_in_place(rep_client, rep):
    RepProfile.objects.create(user=rep, capacity=1)
    assigned_lead(rep)
    waiting = pooled_lead()
    response = rep_client.post(CLAIM, **HTMX)
    assert response.status_code == 409 and response["HX-Reswap"] == "outerHTML"
    assert "your capacity" in response.content.decode()
    assert Handoff.objects.get(lead=waiting).status == HandoffStatus.POOLED


def test_manager_cannot_claim(manager_client):
    pooled_lead()
    assert manager_client.post(CLAIM).status_code == 403


def test_claim_is_post_only(rep_client):
    assert rep_client.get(CLAIM).status_code == 405


# --- The manager's team view ------------------------------------------------------------


def test_manager_sees_their_reps_load_pools_and_overdue_leads(manager_client, manager, rep, other_rep):
    team = team_with("Iberia", rep, manager=manager, capacity=5)
    outsider = new_rep("outsider")
    late = assigned_lead(rep, due_in=timedelta(hours=-1), first_name="Late", last_name="Lead")
    assigned_lead(outsider, first_name="Not", last_name="Mine")
    pooled_lead()
    Handoff.objects.filter(status=HandoffStatus.POOLED).update(team=team)
    response = manager_client.get(QUEUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Team queue" in html and "1 / 5" in html
    assert "waiting in Iberia's pool" in html
    assert "Late Lead" in html and "Not Mine" not in html
    assert [h.lead_id for h in response.context["urgent"]] == [late.pk]


def test_manager_opens_one_of_their_reps_queues_read_only(manager_client, manager, rep):
    team_with("Iberia", rep, manager=manager)
    assigned_lead(rep, first_name="Ana", last_name="Pérez")
    response = manager_client.get(f"{QUEUE}?rep={rep.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ana Pérez" in html and "Claim next lead" not in html


def test_manager_gets_404_for_a_rep_outside_their_teams(manager_client, rep):
    assert manager_client.get(f"{QUEUE}?rep={rep.pk}").status_code == 404
    assert manager_client.get(f"{QUEUE}?rep=nonsense").status_code == 404


def test_rep_cannot_open_another_reps_queue(rep_client, other_rep):
    assert rep_client.get(f"{QUEUE}?rep={other_rep.pk}").status_code == 404


def test_team_view_query_count_does_not_grow_with_reps_leads(manager_client, manager, django_assert_max_num_queries):
    reps = [new_rep(f"r{n}") for n in range(2)]
    team_with("Iberia", *reps, manager=manager)
    with django_assert_max_num_queries(9) as few:
        manager_client.get(QUEUE)
    for rep in reps * 5:
        assigned_lead(rep)
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager_client.get(QUEUE)


# --- The lead page: the actions panel ---------------------------------------------------


def test_lead_page_shows_the_rep_their_actions_and_the_open_deal(rep_client, rep):
    lead = assigned_lead(rep)
    html = rep_client.get(url("detail", lead)).content.decode()
    assert "Work this lead" in html and "Log activity" in html and "Accept and open a deal" in html
    assert 'name="client_token"' in html and "Reject…" in html and "Recycle to marketing…" in html
    assert "Open deal" in html and "No open deal." in html


def test_marketer_sees_the_lead_without_rep_actions(marketer_client, rep):
    lead = assigned_lead(rep)
    html = marketer_client.get(url("detail", lead)).content.decode()
    assert "Work this lead" not in html and "Accept and open a deal" not in html


def test_log_call_link_preselects_a_call(rep_client, rep):
    lead = assigned_lead(rep)
    html = rep_client.get(url("detail", lead) + "?log=call").content.decode()
    assert '<option value="call" selected>' in html and "autofocus" in html


def test_logging_an_activity_stops_the_clock_and_updates_the_panel(rep_client, rep):
    lead = assigned_lead(rep)
    data = {"kind": "call", "outcome": "Left a voicemail", "note": "<b>call back</b>", "client_token": "t-1"}
    response = rep_client.post(url("lead_activity", lead), {**data, "next_step_on": tomorrow()}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger-After-Settle"] == "leadChanged"
    html = response.content.decode()
    assert "Logged a call. The speed-to-lead clock has stopped." in html
    assert "&lt;b&gt;call back&lt;/b&gt;" in html and "<b>call back" not in html
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.outcome, activity.by) == ("call", "Left a voicemail", rep)
    assert Handoff.objects.get(lead=lead).first_touch_at is not None


def test_a_double_submitted_activity_form_makes_one_activity(rep_client, rep):
    lead = assigned_lead(rep)
    data = {"kind": "call", "outcome": "Spoke", "client_token": "same-render"}
    first = rep_client.post(url("lead_activity", lead), data, **HTMX)
    second = rep_client.post(url("lead_activity", lead), data, **HTMX)
    assert first.status_code == second.status_code == 200
    assert "already logged" in second.content.decode()
    assert Activity.objects.filter(lead=lead).count() == 1


def test_each_render_of_the_activity_form_has_a_new_token(rep_client, rep):
    lead = assigned_lead(rep)
    first = rep_client.get(url("detail", lead)).context["activity_form"].initial["client_token"]
    second = rep_client.get(url("detail", lead)).context["activity_form"].initial["client_token"]
    assert first and second and first != second


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "telepathy"}, "kind", "Choose one of"),
        ({"kind": "call", "next_step_on": "yesterday"}, "next_step_on", "Enter a valid date"),
        ({"kind": "call", "next_step_on": "2001-01-01"}, "next_step_on", "cannot be in the past"),
    ],
)
def test_bad_activity_input_is_400_with_a_message_on_the_field(rep_client, rep, data, field, message):
    lead = assigned_lead(rep)
    response = rep_client.post(url("lead_activity", lead), data, **HTMX)
    assert response.status_code == 400 and response["HX-Reswap"] == "outerHTML"
    assert message in response.content.decode()
    assert response.context["activity_form"].errors[field]
    assert not Activity.objects.exists()


def test_bad_activity_input_without_htmx_is_a_400_page_with_the_form(rep_client, rep):
    lead = assigned_lead(rep)
    response = rep_client.post(url("lead_activity", lead), {"kind": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode() and "Back to the lead" in response.content.decode()


def test_accept_opens_a_deal_and_lands_in_the_stage_history(rep_client, rep):
    lead = assigned_lead(rep, company="Acme Ltda")
    response = rep_client.post(url("lead_accept", lead), {"note": "Budget confirmed"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Accepted: the lead is an opportunity" in html
    assert 'id="lead-stage" hx-swap-oob="true"' in html and "Opportunity" in html
    deal = Deal.objects.get(lead=lead)
    assert 'id="lead-open-deal" class="lead-open-deal" hx-swap-oob="true"' in html
    assert reverse("leads:deal", args=[deal.pk]) in html
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY
    change = StageChange.objects.get(lead=lead, to_stage=Stage.OPPORTUNITY)
    assert change.changed_by == rep and change.note == "Budget confirmed"


def test_accept_without_htmx_redirects_to_the_lead_with_a_message(rep_client, rep):
    lead = assigned_lead(rep)
    response = rep_client.post(url("lead_accept", lead), follow=True)
    assert response.redirect_chain[-1][0] == url("detail", lead)
    assert "Accepted: the lead is an opportunity" in response.content.decode()


def test_accepting_twice_is_400_with_a_message(rep_client, rep):
    lead = assigned_lead(rep)
    rep_client.post(url("lead_accept", lead), **HTMX)
    response = rep_client.post(url("lead_accept", lead), **HTMX)
    assert response.status_code == 400
    assert "not waiting for sales" in response.content.decode()
    assert Deal.objects.filter(lead=lead).count() == 1


def test_reject_needs_a_reason_from_the_list(rep_client, rep):
    lead = assigned_lead(rep)
    for data in ({}, {"reason": "because"}):
        response = rep_client.post(url("lead_reject", lead), data, **HTMX)
        assert response.status_code == 400
        assert "Choose a reason from the list." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_reject_as_other_needs_text(rep_client, rep):
    lead = assigned_lead(rep)
    response = rep_client.post(url("lead_reject", lead), {"reason": "other"}, **HTMX)
    assert response.status_code == 400 and "needs an explanation" in response.content.decode()
    assert response.context["reject_form"].errors["text"]


def test_reject_disqualifies_with_the_reason_marketing_sees(rep_client, rep):
    lead = assigned_lead(rep)
    response = rep_client.post(url("lead_reject", lead), {"reason": "no_budget"}, **HTMX)
    assert response.status_code == 200 and "Rejected as “No budget”" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.DISQUALIFIED
    assert StageChange.objects.get(lead=lead, to_stage=Stage.DISQUALIFIED).reason == "No budget"
    assert Handoff.objects.get(lead=lead).status == HandoffStatus.REJECTED


def test_recycle_needs_a_future_revisit_date(rep_client, rep):
    lead = assigned_lead(rep)
    missing = rep_client.post(url("lead_recycle", lead), {"reason": "timing"}, **HTMX)
    assert missing.status_code == 400 and "Give the day the lead comes back" in missing.content.decode()
    past = {"reason": "timing", "revisit_on": timezone.localdate().isoformat()}
    response = rep_client.post(url("lead_recycle", lead), past, **HTMX)
    assert response.status_code == 400 and "must be after today" in response.content.decode()
    assert response.context["recycle_form"].errors["revisit_on"]


def test_recycle_sends_the_lead_back_to_marketing_until_the_revisit_date(rep_client, rep):
    lead = assigned_lead(rep)
    data = {"reason": "timing", "revisit_on": tomorrow(), "text": "Budget in Q3"}
    response = rep_client.post(url("lead_recycle", lead), data, **HTMX)
    assert response.status_code == 200 and "comes back for requalification" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.RECYCLED
    assert Handoff.objects.get(lead=lead).revisit_on.isoformat() == tomorrow()


@pytest.mark.parametrize("action", ["lead_activity", "lead_accept", "lead_reject", "lead_recycle"])
def test_another_reps_lead_answers_404(rep_client, other_rep, action):
    lead = assigned_lead(other_rep)
    data = {"kind": "call", "reason": "no_budget", "revisit_on": tomorrow()}
    assert rep_client.post(url(action, lead), data).status_code == 404
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL and not Activity.objects.exists()


@pytest.mark.parametrize("action", ["lead_activity", "lead_accept", "lead_reject", "lead_recycle"])
def test_marketers_do_not_work_leads(marketer_client, rep, action):
    lead = assigned_lead(rep)
    assert marketer_client.post(url(action, lead), {"kind": "call"}).status_code == 403


def test_manager_works_their_teams_leads_but_not_others(manager_client, manager, rep, other_rep):
    team_with("Iberia", rep, manager=manager)
    mine, theirs = assigned_lead(rep), assigned_lead(other_rep)
    assert manager_client.post(url("lead_activity", mine), {"kind": "note"}, **HTMX).status_code == 200
    assert manager_client.post(url("lead_activity", theirs), {"kind": "note"}, **HTMX).status_code == 404


def test_lead_page_query_count_for_a_rep_is_bounded(rep_client, rep, django_assert_max_num_queries):
    lead = assigned_lead(rep)
    for n in range(5):
        rep_client.post(url("lead_activity", lead), {"kind": "call", "client_token": f"t{n}"})
    with django_assert_max_num_queries(24):
        rep_client.get(url("detail", lead))


# --- Notifications ----------------------------------------------------------------------


def test_notifications_page_lists_only_mine_escaped(rep_client, rep, other_rep):
    Notification.objects.create(user=rep, text="First touch overdue: <Ana>", url="/leads/1/")
    Notification.objects.create(user=other_rep, text="Someone else's")
    html = rep_client.get(reverse("leads:notifications")).content.decode()
    assert "First touch overdue: &lt;Ana&gt;" in html and "Someone else" not in html and "1 unread." in html


def test_mark_one_read_in_place_updates_the_bell(rep_client, rep):
    note = Notification.objects.create(user=rep, text="Lead assigned")
    Notification.objects.create(user=rep, text="Another")
    response = rep_client.post(reverse("leads:notifications_read"), {"id": note.pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="notification-{note.pk}"' in html and "Mark read" not in html
    assert 'id="notification-bell"' in html and 'hx-swap-oob="true"' in html and ">1</span>" in html
    note.refresh_from_db()
    assert note.read_at is not None


def test_mark_all_read(rep_client, rep):
    Notification.objects.create(user=rep, text="One")
    Notification.objects.create(user=rep, text="Two")
    response = rep_client.post(reverse("leads:notifications_read"), follow=True)
    assert "Marked 2 notifications read." in response.content.decode()
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_cannot_mark_another_users_notification(rep_client, other_rep):
    note = Notification.objects.create(user=other_rep, text="Theirs")
    assert rep_client.post(reverse("leads:notifications_read"), {"id": note.pk}, **HTMX).status_code == 404
    assert rep_client.post(reverse("leads:notifications_read"), {"id": "x"}).status_code == 400
    assert Notification.objects.get(pk=note.pk).read_at is None


def test_bell_shows_the_unread_count_and_pages_load_it_lazily(rep_client, rep):
    Notification.objects.create(user=rep, text="One")
    bell = rep_client.get(reverse("leads:notification_bell")).content.decode()
    assert 'class="bell-count">1</span>' in bell and 'hx-trigger="every 60s"' in bell
    page = rep_client.get(QUEUE).content.decode()
    assert 'id="notification-bell"' in page and 'hx-trigger="load"' in page


def test_notifications_need_a_login(client):
    assert client.get(reverse("leads:notifications")).status_code == 302
    assert client.get(reverse("leads:notification_bell")).status_code == 302


def test_sales_navigation_starts_with_my_queue(rep_client):
    nav = rep_client.get(QUEUE).context["nav_items"]
    assert nav[0]["label"] == "My queue" and nav[0]["active"]
    assert [item["label"] for item in nav][:3] == ["My queue", "Home", "Deals"]
