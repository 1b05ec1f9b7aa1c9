"""The ROI rollups: what beat keeps current equals what the rows say, run by run or rebuilt."""

import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Deal, DealStage, Event, Lead, Stage, StageChange
from leads.sales.deals import deal_reopen, deal_win
from leads.services import lead_merge
from reports.attribution import forms, services, tasks
from reports.attribution.credits import MODELS
from reports.attribution.cursors import WINDOW, gaps_without
from reports.attribution.models import DealCredit, LeadMilestone, Milestone, RollupCursor
from reports.attribution.selectors import NO_CAMPAIGN, roi_report
from reports.attribution.services import EVENTS, credit_rows, rollups_rebuild, rollups_update
from smarketing.lib.periods import month_bounds
from tests.factories import CampaignFactory, EventFactory, LeadFactory
from tests.reports.attribution.world import MARCH, at, build_world, moved

START, END = month_bounds(MARCH)
STAGES = [m.value for m in Milestone if m != Milestone.CREATED]


def credits_now() -> list[tuple]:
    rows = DealCredit.objects.values_list("deal_id", "campaign_id", "won_at", *MODELS)
    return sorted(rows, key=lambda row: (row[0], row[1] or 0))


def milestones_now() -> list[tuple]:
    return sorted(LeadMilestone.objects.values_list("lead_id", "milestone", "at", "campaign_id", "version"))


def credits_from_the_rows() -> list[tuple]:
    """What the page computed at request time: every won deal credited from its touches."""
    won = Deal.objects.filter(stage__outcome=DealStage.Outcome.WON, closed_at__isnull=False)
    rows = credit_rows(services._won(won))
    fields = ("deal_id", "campaign_id", "won_at", *MODELS)
    return sorted((tuple(getattr(row, name) for name in fields) for row in rows), key=lambda r: (r[0], r[1] or 0))


def milestones_from_the_rows() -> list[tuple]:
    """Each lead's creation and first entry into each stage, from its row and history."""
    firsts: dict[tuple[int, str], object] = {}
    for lead_id, stage, when in StageChange.objects.filter(to_stage__in=STAGES).values_list(
        "lead_id", "to_stage", "changed_at"
    ):
        firsts[(lead_id, stage)] = min(when, firsts.get((lead_id, stage), when))
    campaign = dict(Lead.objects.values_list("id", "first_campaign_id"))
    version = dict(Lead.objects.values_list("id", "qualified_version"))
    created = [
        (pk, Milestone.CREATED.value, when, campaign[pk], version[pk])
        for pk, when in Lead.objects.values_list("id", "created_at")
    ]
    entered = [(lead, stage, when, campaign[lead], version[lead]) for (lead, stage), when in firsts.items()]
    return sorted(created + entered)


def assert_rollups_match_the_rows() -> None:
    assert credits_now() == credits_from_the_rows()
    assert milestones_now() == milestones_from_the_rows()


@pytest.fixture
def built(db):
    """Rollups built over an empty database first, so the world arrives run by run."""
    assert rollups_update()["rebuilt"]
    return build_world()


def test_rollups_equal_the_request_time_computation(built):
    """D1's credits per campaign are the hand-worked figures of test_roi_rows (in cents, None
    where the model gives the campaign nothing); D2 has one "(no campaign)" row; the lost deal
    has none."""
    assert_rollups_match_the_rows()
    d1 = Deal.objects.get(amount=D("1000.00"))
    by_campaign = {row.campaign_id: row for row in DealCredit.objects.filter(deal=d1)}
    webinar, search = by_campaign[built.webinar.id], by_campaign[built.search.id]
    assert (webinar.first_touch, webinar.linear, webinar.u_shaped, webinar.time_decay) == (100000, 66667, 80000, 71429)
    assert (search.first_touch, search.last_touch, search.linear, search.time_decay) == (None, None, 33333, 28571)
    none = DealCredit.objects.get(deal__amount=D("250.50"))
    assert none.campaign_id is None and all(getattr(none, model) == 25050 for model in MODELS)
    assert not DealCredit.objects.filter(deal__stage__outcome=DealStage.Outcome.LOST).exists()


def test_incremental_runs_equal_a_rebuild(built, manager):
    """Changes of every kind, each picked up by a run, leave what a rebuild makes."""
    webinar, search = built.webinar, built.search
    l1 = Lead.objects.get(stage_changes__to_stage=Stage.CUSTOMER)
    d1 = Deal.objects.get(lead=l1)
    EventFactory(lead=l1, campaign=search, occurred_at=at(3, 14))  # a late touch, before D1's creation
    rollups_update()
    deal_reopen(deal=d1, by=manager, note="amount was wrong")
    rollups_update()
    deal_win(deal=d1, by=manager, amount="1200.00")
    newcomer = LeadFactory(first_campaign=search, created_at=at(3, 28))
    moved(newcomer, Stage.MQL, at(3, 29))
    other = LeadFactory(first_campaign=webinar, created_at=at(3, 2))
    moved(other, Stage.SQL, at(3, 4))
    EventFactory(lead=other, campaign=webinar, occurred_at=at(3, 3))
    rollups_update()
    lead_merge(survivor=l1, other=other, by=manager)
    rollups_update()
    CampaignFactory(name="Short-lived").delete()
    assert_rollups_match_the_rows()
    incremental = (credits_now(), milestones_now())
    rollups_rebuild()
    assert (credits_now(), milestones_now()) == incremental


def test_a_deleted_campaigns_credit_is_recomputed_and_its_leads_count_on_no_campaign(built):
    built.search.delete()
    rollups_update()
    assert_rollups_match_the_rows()
    rows = {row.label: row for row in roi_report(model="linear", start=START, end=END).rows}
    assert rows["Spring webinar"].revenue == D("1000.00")  # Search's touch is no touch any more
    assert rows[NO_CAMPAIGN].leads == 2  # L4, and L3 whose first campaign was Search


def test_a_late_event_inside_the_window_is_counted(built):
    """An event whose transaction committed after a later one was read (its id below the
    cursor's) is read again from the cursor's gaps, and moves D1's credit."""
    l1 = Lead.objects.get(stage_changes__to_stage=Stage.CUSTOMER)
    early = EventFactory(lead=l1, type="page_viewed", occurred_at=at(3, 2))
    EventFactory(lead=l1, type="page_viewed", occurred_at=at(3, 2))
    held_back = early.pk
    early.delete()  # not committed yet, as far as the next run can see
    rollups_update()
    assert [held_back, held_back] == RollupCursor.objects.get(name=EVENTS.cursor).gaps[-1][:2]
    Event.objects.create(
        pk=held_back, lead=l1, type="ad_clicked", campaign=built.search, occurred_at=at(3, 14), idempotency_key="late"
    )
    rollups_update()
    assert_rollups_match_the_rows()
    rows = {row.label: row for row in roi_report(model="linear", start=START, end=END).rows}
    assert rows["Brand search"].revenue == D("500.00")  # 4 touches: 250 each, 2 of them Search's
    assert RollupCursor.objects.get(name=EVENTS.cursor).gaps == []


def test_a_gap_older_than_the_window_is_given_up(built):
    l1 = Lead.objects.get(stage_changes__to_stage=Stage.CUSTOMER)
    gone = EventFactory(lead=l1)
    EventFactory(lead=l1)
    gone.delete()
    rollups_update()
    assert RollupCursor.objects.get(name=EVENTS.cursor).gaps
    rollups_update(now=timezone.now() + WINDOW + timedelta(seconds=1))
    assert RollupCursor.objects.get(name=EVENTS.cursor).gaps == []


def test_a_gap_splits_around_the_rows_that_filled_it():
    assert gaps_without([[10, 20, 5]], [10, 14, 20]) == [[11, 13, 5], [15, 19, 5]]
    assert gaps_without([[10, 10, 5], [12, 13, 6]], [10]) == [[12, 13, 6]]


def test_a_known_leads_first_campaign_from_a_form_moves_its_milestones(built):
    """A form of a campaign without a utm_campaign credits a lead that had no first campaign
    (leads.capture.ingest.lead_capture): the submission carries no campaign, yet is followed."""
    l4 = Lead.objects.get(first_campaign=None)
    Lead.objects.filter(pk=l4.pk).update(first_campaign=built.webinar)
    EventFactory(lead=l4, type="form_submitted", properties={"form": "contact"})
    rollups_update()
    assert_rollups_match_the_rows()
    assert set(LeadMilestone.objects.filter(lead=l4).values_list("campaign_id", flat=True)) == {built.webinar.id}


def test_a_qualification_move_gives_all_the_leads_milestones_its_version(built):
    """L3 (MQL by hand on 10 Mar) is qualified SQL under v2, as leads.history writes it: the row
    and a history row naming the version; its creation and MQL count under v2 from then on."""
    l3 = Lead.objects.get(first_campaign=built.search)
    Lead.objects.filter(pk=l3.pk).update(stage=Stage.SQL, qualified_version=2)
    StageChange.objects.create(
        lead=l3, from_stage=Stage.MQL, to_stage=Stage.SQL, changed_at=at(3, 22), definition_version=2
    )
    rollups_update()
    assert_rollups_match_the_rows()
    assert dict(LeadMilestone.objects.filter(lead=l3).values_list("milestone", "version")) == {
        Milestone.CREATED: 2,
        Milestone.MQL: 2,
        Milestone.SQL: 2,
    }


def test_a_deleted_lead_leaves_no_milestones(built):
    lead = Lead.objects.filter(first_campaign=built.search).first()
    lead.delete()
    assert not LeadMilestone.objects.filter(lead_id=lead.pk).exists()
    assert_rollups_match_the_rows()


def test_a_rerun_with_nothing_new_changes_nothing(built, django_assert_max_num_queries):
    before = (credits_now(), milestones_now())
    with django_assert_max_num_queries(40):
        figures = rollups_update()
    assert not any(value for key, value in figures.items() if key != "campaigns_gone")
    assert (credits_now(), milestones_now()) == before


def test_the_task_runs_the_update(built):
    EventFactory(lead=LeadFactory(first_campaign=None), campaign=built.webinar)
    assert tasks.rollups_update()["events"] == 1


def test_the_rebuild_command_prints_its_progress(built, capsys):
    call_command("reports_rebuild")
    out = capsys.readouterr().out
    assert "milestones:" in out and "credits: 3 of 3 won deals" in out and "Rebuilt in" in out
    assert_rollups_match_the_rows()


def test_the_roi_page_reads_the_rollups_in_a_bounded_number_of_queries(
    built, manager, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(forms, "month_first", lambda day=None: (day or date(2026, 4, 15)).replace(day=1))
    client = Client()
    client.force_login(manager)
    with django_assert_max_num_queries(10):  # the session, the user, the roles and the report's six
        response = client.get(reverse("reports:roi"), {"month": "2026-03", "model": "w_shaped", "by": "channel"})
    assert response.status_code == 200 and "1,250.50" in response.content.decode()
    with django_assert_max_num_queries(6):
        roi_report(model="time_decay", start=START, end=END, by="channel")


def test_every_model_still_adds_up_to_the_won_revenue(built):
    for model in MODELS:
        for by in ("campaign", "channel"):
            report = roi_report(model=model, start=START, end=END, by=by)
            assert sum(row.revenue_cents for row in report.rows) == 125050 == report.totals.revenue_cents


# --- PostgreSQL: runs at once ---------------------------------------------------------------

postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")


@postgres
@pytest.mark.django_db(transaction=True)
def test_runs_at_once_take_turns_and_count_nothing_twice():
    rollups_update()
    world = build_world()
    l1 = Lead.objects.get(stage_changes__to_stage=Stage.CUSTOMER)
    for day in range(2, 14):
        EventFactory(lead=l1, campaign=world.search if day % 2 else world.webinar, occurred_at=at(3, day))
    results: list[dict] = []
    start = threading.Barrier(3)

    def run() -> None:
        try:
            start.wait()
            results.append(rollups_update())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rollups_update()  # whatever a skipped run left
    assert len(results) == 3
    assert_rollups_match_the_rows()  # a row written twice would show here
    assert sum(row.revenue_cents for row in roi_report(model="linear", start=START, end=END).rows) == 125050


@postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_finding_another_running_returns_at_once():
    rollups_update()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with services.rollups_lock(wait=True):
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        assert rollups_update() == {"skipped": True}
    finally:
        release.set()
        holder.join()
    assert "skipped" not in rollups_update()
