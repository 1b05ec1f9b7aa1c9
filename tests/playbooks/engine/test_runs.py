"""Playbooks run as the seed asks: a lead gets the newsletter, stops getting it on becoming an
opportunity, moves lists and receives conversion content; and the rules of execution hold."""

import functools
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.history import lead_change_stage
from leads.models import DefinitionStatus, Stage
from leads.qualification import services as qualification
from playbooks.engine import runner, services, tasks, triggers
from playbooks.lists import services as lists
from playbooks.lists.selectors import lead_on_list
from playbooks.models import Enrollment, ListMembership, OutboundEmail, Playbook, StepRun
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
Status = Enrollment.Status


def later(**delta) -> timezone.datetime:
    return timezone.now() + timedelta(**delta)


def settle():
    """What the worker does after commits and on beat's tick, a minute apart. (In a test's
    transaction PostgreSQL's reader sees the test's own rows: its transaction is the oldest.)"""
    triggers.enrolments_follow_history()
    triggers.enrolments_follow_rows()


def emails(lead, **filters) -> list[str]:
    return list(
        OutboundEmail.objects.filter(lead=lead, **filters).order_by("id").values_list("template__name", flat=True)
    )


def test_the_seeds_playbook_end_to_end(seed, marketer):
    lead = LeadFactory(consent=True, stage=Stage.MQL)
    lists.list_add_leads(
        lead_list=seed.newsletter_list, lead_ids=[lead.pk], source=ListMembership.Source.MANUAL, by=marketer
    )
    settle()
    assert runner.enrolments_run_due() == 2  # the newsletter, then the wait
    assert emails(lead, status="queued") == ["Monthly newsletter"]
    enrolment = Enrollment.objects.get(playbook=seed.nurture, lead=lead)
    assert enrolment.position == 2 and enrolment.due_at > later(days=6)

    lead.refresh_from_db()
    lead_change_stage(lead=lead, to_stage=Stage.OPPORTUNITY)
    settle()
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.exit_reason) == (Status.EXITED, "stage policy")
    assert not lead_on_list(seed.newsletter_list, lead) and lead_on_list(seed.opportunities, lead)
    conversion = Enrollment.objects.get(playbook=seed.conversion, lead=lead)
    assert conversion.status == Status.ACTIVE and conversion.cause.startswith("policy:")

    runner.enrolments_run_due(now=later(days=8))  # the newsletter's second send would be due by now
    assert emails(lead) == ["Monthly newsletter", "Customer case study"]
    assert list(StepRun.objects.filter(enrollment=conversion).values_list("step", "outcome")) == [
        ("s1", "emailed"),
        ("s2", "waiting"),
    ]


def test_a_promotional_send_to_an_opportunity_is_refused_whatever_the_playbook_says(seed, marketer):
    lead = LeadFactory(consent=True, stage=Stage.OPPORTUNITY)
    playbook = services.playbook_save(
        data={
            "name": "Stubborn",
            "trigger": {"type": "manual"},
            "steps": [{"type": "email", "template": seed.newsletter.pk}],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=playbook)
    assert services.lead_enrol(playbook=playbook, lead=lead, by=marketer)
    runner.enrolments_run_due()
    email = OutboundEmail.objects.get(lead=lead)
    assert (email.status, email.reason) == ("suppressed", "stage")
    assert StepRun.objects.get(enrollment__lead=lead).outcome == "suppressed"


def test_a_paused_playbook_sends_nothing_and_takes_nobody(seed, marketer):
    lead = LeadFactory(consent=True)
    services.playbook_pause(playbook=seed.nurture)
    lists.list_add_leads(lead_list=seed.newsletter_list, lead_ids=[lead.pk], source="manual")
    settle()
    assert not Enrollment.objects.filter(lead=lead).exists()
    # Someone inside when it was paused waits: nothing runs, nothing is sent.
    services.playbook_activate(playbook=seed.nurture)
    other = LeadFactory(consent=True)
    lists.list_add_leads(lead_list=seed.newsletter_list, lead_ids=[other.pk], source="manual")
    settle()
    services.playbook_pause(playbook=seed.nurture)
    assert runner.enrolments_run_due(now=later(days=30)) == 0
    assert not OutboundEmail.objects.exists()
    services.playbook_activate(playbook=seed.nurture)
    assert runner.enrolments_run_due() == 2
    assert emails(other) == ["Monthly newsletter"]


def test_each_cause_enrols_once_and_a_lead_is_in_a_playbook_once(seed):
    lead = LeadFactory(consent=True)
    lists.list_add_leads(lead_list=seed.newsletter_list, lead_ids=[lead.pk], source="manual")
    settle()
    settle()  # the reader reads the unsettled rows again
    assert Enrollment.objects.filter(playbook=seed.nurture, lead=lead).count() == 1
    from playbooks.engine.enrol import leads_enrol

    assert leads_enrol(playbook=seed.nurture, causes=[(lead.pk, "other cause")]) == 0  # already inside
    runner.enrolments_run_due(now=later(days=1))  # the newsletter, then a week's wait
    runner.enrolments_run_due(now=later(days=9))  # the second newsletter, and the end
    assert Enrollment.objects.get(lead=lead).status == Status.COMPLETED
    assert leads_enrol(playbook=seed.nurture, causes=[(lead.pk, "again")]) == 0  # re-entry: never


def test_a_step_runs_at_most_once_per_enrolment(seed):
    lead = LeadFactory(consent=True)
    lists.list_add_leads(lead_list=seed.newsletter_list, lead_ids=[lead.pk], source="manual")
    settle()
    runner.enrolments_run_due()
    enrolment = Enrollment.objects.get(lead=lead)
    with pytest.raises(IntegrityError):
        StepRun.objects.create(enrollment=enrolment, step="s1", outcome="emailed")


def test_reentry_after_days(seed, marketer):
    playbook = seed.conversion
    playbook = services.playbook_save(
        data={"reentry": "after_days", "reentry_days": 10}, by=marketer, playbook=playbook
    )
    lead = LeadFactory(consent=True)
    from playbooks.engine.enrol import leads_enrol

    assert leads_enrol(playbook=playbook, causes=[(lead.pk, "a")]) == 1
    Enrollment.objects.filter(lead=lead).update(status=Status.COMPLETED, entered_at=later(days=-5))
    assert leads_enrol(playbook=playbook, causes=[(lead.pk, "b")]) == 0
    Enrollment.objects.filter(lead=lead).update(entered_at=later(days=-11))
    assert leads_enrol(playbook=playbook, causes=[(lead.pk, "c")]) == 1


def test_branch_goal_exit_and_unsubscribe(seed, marketer):
    playbook = services.playbook_save(
        data={
            "name": "Webinar follow-up",
            "trigger": {"type": "event", "event": "webinar_attended"},
            "steps": [
                {
                    "key": "ask",
                    "type": "branch",
                    "condition": {"op": "attr", "field": "country", "cmp": "eq", "value": "ES"},
                    "then": "next",
                    "else": "tell",
                },
                {"key": "list", "type": "list_add", "list": seed.opportunities.pk},
                {"key": "tell", "type": "notify_owner", "text": "attended the webinar"},
                {"key": "wait", "type": "wait", "days": 1},
                {"key": "mail", "type": "email", "template": seed.newsletter.pk},
            ],
            "exits": [{"type": "goal", "condition": {"op": "has_event", "event": "demo_requested"}}],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=playbook)
    from leads.capture.ingest import EventIn, events_ingest

    owner = marketer
    spain, chile, gone = (LeadFactory(country=c, consent=True, owner=owner) for c in ("ES", "CL", "ES"))
    events_ingest(
        events=[
            EventIn(
                idempotency_key=f"w{lead.pk}",
                email=lead.email,
                type="webinar_attended",
                occurred_at=timezone.now(),
                properties={},
            )
            for lead in (spain, chile, gone)
        ]
    )
    triggers.enrolments_follow_rows()
    assert Enrollment.objects.filter(playbook=playbook).count() == 3
    runner.enrolments_run_due()
    assert lead_on_list(seed.opportunities, spain) and not lead_on_list(seed.opportunities, chile)
    assert StepRun.objects.get(enrollment__lead=chile, step="ask").outcome == "no"
    assert not StepRun.objects.filter(enrollment__lead=chile, step="list").exists()
    assert owner.notifications.filter(text__contains="attended the webinar").count() == 3

    events_ingest(
        events=[
            EventIn(
                idempotency_key="d1",
                email=spain.email,
                type="demo_requested",
                occurred_at=timezone.now(),
                properties={},
            )
        ]
    )
    from leads.services import lead_unsubscribe

    lead_unsubscribe(lead=gone)
    runner.enrolments_run_due(now=later(days=2))
    reasons = dict(Enrollment.objects.filter(playbook=playbook).values_list("lead_id", "exit_reason"))
    assert reasons == {spain.pk: "goal met", gone.pk: "unsubscribed", chile.pk: ""}
    assert emails(chile) == ["Monthly newsletter"] and emails(spain) == [] and emails(gone) == []


def test_a_stage_move_step_only_goes_forward(seed, marketer):
    playbook = services.playbook_save(
        data={
            "name": "Promote",
            "trigger": {"type": "manual"},
            "steps": [
                {"type": "set_stage", "stage": "mql"},
                {"type": "set_field", "field": "industry", "value": "Retail"},
            ],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=playbook)
    ahead, behind = LeadFactory(stage=Stage.SQL), LeadFactory(stage=Stage.LEAD)
    for lead in (ahead, behind):
        services.lead_enrol(playbook=playbook, lead=lead, by=marketer)
    runner.enrolments_run_due()
    ahead.refresh_from_db()
    behind.refresh_from_db()
    assert (ahead.stage, behind.stage) == (Stage.SQL, Stage.MQL)
    assert behind.industry == "Retail"
    assert behind.stage_changes.get(to_stage=Stage.MQL).source == "playbook"


def test_a_stage_trigger_takes_moves_after_activation_only(seed, marketer):
    before = LeadFactory(stage=Stage.LEAD)
    lead_change_stage(lead=before, to_stage=Stage.MQL)
    playbook = services.playbook_save(
        data={
            "name": "New MQLs",
            "trigger": {"type": "stage_entered", "stage": "mql"},
            "steps": [{"type": "wait", "hours": 1}],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=playbook)
    after = LeadFactory(stage=Stage.LEAD)
    lead_change_stage(lead=after, to_stage=Stage.MQL)
    triggers.enrolments_follow_history()
    assert list(Enrollment.objects.filter(playbook=playbook).values_list("lead_id", flat=True)) == [after.pk]


def test_the_wait_until_a_weekday_and_hour_is_in_the_instance_zone():
    now = timezone.make_aware(timezone.datetime(2026, 12, 7, 10, 30))  # a Monday
    assert runner.next_weekday_hour(now, None, 9) == timezone.make_aware(timezone.datetime(2026, 12, 8, 9))
    assert runner.next_weekday_hour(now, None, 11) == timezone.make_aware(timezone.datetime(2026, 12, 7, 11))
    assert runner.next_weekday_hour(now, 0, 9) == timezone.make_aware(timezone.datetime(2026, 12, 14, 9))
    assert runner.next_weekday_hour(now, 3, 9) == timezone.make_aware(timezone.datetime(2026, 12, 10, 9))


def test_a_failing_step_is_recorded_and_the_batch_goes_on(seed, marketer, monkeypatch):
    playbook = seed.conversion
    leads = [LeadFactory(consent=True) for _ in range(3)]
    for lead in leads:
        services.lead_enrol(playbook=playbook, lead=lead, by=marketer)
    real, first = runner.emails_queue, leads[0].pk

    def failing_for_the_first(*, leads: list, **rest):
        if first in {lead.pk for lead in leads}:
            raise RuntimeError("mail server exploded")
        return real(leads=leads, **rest)

    monkeypatch.setattr(runner, "emails_queue", failing_for_the_first)
    runner.enrolments_run_due()
    first = Enrollment.objects.get(lead=leads[0])
    assert (first.status, first.exit_reason) == (Status.EXITED, "step failed")
    assert StepRun.objects.get(enrollment=first).detail == "mail server exploded"
    assert OutboundEmail.objects.filter(lead__in=leads[1:]).count() == 2


def test_pause_keeps_places_and_playbook_delete_needs_a_pause(seed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.playbook_delete(playbook=seed.nurture)
    services.playbook_pause(playbook=seed.nurture)
    services.playbook_delete(playbook=seed.nurture)
    assert not Playbook.objects.filter(name="Newsletter nurture").exists()


def test_a_segment_by_stage_counts_the_leads_at_those_stages(marketer):
    from playbooks.lists.selectors import list_count

    for stage in (Stage.MQL, Stage.MQL, Stage.SQL, Stage.LEAD):
        LeadFactory(stage=stage)
    condition = {"op": "attr", "field": "stage", "cmp": "in", "value": ["mql", "sql"]}
    segment = lists.list_save(data={"name": "Qualified", "kind": "segment", "condition": condition}, by=marketer)
    assert list_count(segment) == 3


def test_the_event_cursor_skips_what_no_playbook_wants_and_reads_unsettled_rows_again(seed, marketer):
    from leads.capture.ingest import EventIn, events_ingest
    from leads.models import Event
    from playbooks.models import TriggerCursor

    playbook = services.playbook_save(
        data={
            "name": "Attendees",
            "trigger": {"type": "event", "event": "webinar_attended"},
            "steps": [{"type": "wait", "days": 1}],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=playbook)
    lead = LeadFactory()

    def post(kind: str, key: str) -> int:
        events_ingest(events=[EventIn(email=lead.email, type=kind, occurred_at=timezone.now(), idempotency_key=key)])
        return Event.objects.get(idempotency_key=key).pk

    def place() -> int:
        return TriggerCursor.objects.get(name="playbooks.events").last_id

    viewed = [post("page_viewed", f"v{n}") for n in range(3)]
    triggers.enrolments_follow_rows(now=later(minutes=2))
    assert place() == viewed[-1]  # settled, wanted by nobody: passed over
    attended = post("webinar_attended", "w1")
    triggers.enrolments_follow_rows()
    assert Enrollment.objects.filter(playbook=playbook, lead=lead).count() == 1
    assert place() < attended  # written just now: it may still have company that commits later
    triggers.enrolments_follow_rows()
    assert Enrollment.objects.filter(playbook=playbook).count() == 1  # read again, enrolled once
    triggers.enrolments_follow_rows(now=later(minutes=2))
    assert place() == attended


def _grouped_playbook(seed, marketer) -> Playbook:
    playbook = services.playbook_save(
        data={
            "name": "Spain desk",
            "trigger": {"type": "manual"},
            "steps": [
                {"key": "ask", "type": "branch", "condition": ES, "then": "next", "else": "done"},
                {"key": "list", "type": "list_add", "list": seed.opportunities.pk},
                {"key": "set", "type": "set_field", "field": "company", "value": "Spain Desk"},
                {"key": "move", "type": "set_stage", "stage": "opportunity"},
                {"key": "mail", "type": "email", "template": seed.case_study.pk},
                {"key": "done", "type": "wait", "days": 1},
            ],
        },
        by=marketer,
    )
    services.playbook_activate(playbook=playbook, by=marketer)
    return playbook


ES = {"op": "attr", "field": "country", "cmp": "eq", "value": "ES"}
SPAIN = {"op": "attr", "field": "company", "cmp": "eq", "value": "Spain Desk"}


def test_the_leads_at_one_step_take_it_together(seed, marketer, rep, django_assert_max_num_queries):
    """A batch's leads at the same step share its statements: a batch of 30 costs the queries of
    a batch of 3 but for the steps taken one lead at a time (here the stage move, 4 queries)."""
    definition = qualification.definition_create(by=marketer, mql_rule=SPAIN, sql_rule=SPAIN)
    qualification.definition_propose(definition=definition, by=marketer)
    qualification.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification.definition_sign(definition=definition, by=rep, side="sales")
    definition.refresh_from_db()
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    playbook = _grouped_playbook(seed, marketer)

    def batch(size: int) -> list:
        leads = [LeadFactory(country="ES", company="Elsewhere", consent=i % 2 == 0) for i in range(size)]
        on_list = LeadFactory(country="ES", company="Spain Desk", stage=Stage.OPPORTUNITY)
        lists.list_add_leads(lead_list=seed.opportunities, lead_ids=[on_list.pk], source=ListMembership.Source.MANUAL)
        leads += [on_list, LeadFactory(country="FR")]
        for lead in leads:
            services.lead_enrol(playbook=playbook, lead=lead, by=marketer)
        with CaptureQueriesContext(connection) as queries:
            runner.enrolments_run_due()
        return leads, len(queries)

    _, few = batch(3)
    leads, many = batch(30)
    assert many <= few + (30 - 3) * 4

    outcomes = dict(StepRun.objects.filter(enrollment__lead=leads[-1]).values_list("step", "outcome"))
    assert outcomes == {"ask": "no", "done": "waiting"}
    outcomes = dict(StepRun.objects.filter(enrollment__lead=leads[-2]).values_list("step", "outcome"))
    assert (outcomes["list"], outcomes["set"], outcomes["move"][:7]) == ("unchanged", "unchanged", "skipped")
    spain = leads[0]
    outcomes = dict(StepRun.objects.filter(enrollment__lead=spain).values_list("step", "outcome"))
    assert (outcomes["list"], outcomes["set"], outcomes["move"], outcomes["mail"]) == (
        "added",
        "set",
        "moved",
        "emailed",
    )
    assert OutboundEmail.objects.get(lead=leads[1]).reason == "no_consent"
    assert list(spain.stage_changes.order_by("id").values_list("to_stage", "source")) == [
        (Stage.MQL, "rule"),  # requalified with the batch's new company
        (Stage.SQL, "rule"),
        (Stage.OPPORTUNITY, "playbook"),
    ]
    assert lead_on_list(seed.opportunities, spain)


def test_a_runner_whose_time_is_up_hands_the_work_still_due_to_a_fresh_one(seed, marketer, monkeypatch):
    for lead in [LeadFactory(consent=True) for _ in range(3)]:
        services.lead_enrol(playbook=seed.conversion, lead=lead, by=marketer)
    sent = []
    monkeypatch.setattr(tasks, "task_send", lambda name, *args, **kwargs: sent.append(name))
    monkeypatch.setattr(tasks, "RUN_BUDGET_SECONDS", -1)  # out of time after its first batch
    monkeypatch.setattr(runner, "enrolments_run_due", functools.partial(runner.enrolments_run_due, batch=1))
    assert [tasks.run_due() for _ in range(3)] == [2, 2, 2]  # each: one lead's email and wait
    assert sent == ["playbooks.run_due", "playbooks.run_due"]  # none after the last lead's run
