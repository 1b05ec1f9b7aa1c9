"""Qualified leads reach sales through a real worker: the commit that promotes a lead sends the
handoff reader its task, and the worker hands the lead over (PostgreSQL and Redis in CI's second run)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import DefinitionStatus, Handoff, HandoffStatus, Lead, Stage, StageChange
from leads.qualification import services as qualification
from tests.celery_worker import start, stop, wait_for
from tests.leads.sales.helpers import rule_to, team_with

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_lead_promoted_to_mql_is_handed_to_sales_by_the_worker(worker, marketer, rep):
    process, log = worker
    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    rule_to(team=team_with("Iberia", rep))
    t0 = timezone.now() - timedelta(hours=2)
    for offset, kind in enumerate(["webinar_registered", "webinar_attended"]):
        event = EventIn(email="ana@acme.io", type=kind, occurred_at=t0 + timedelta(hours=offset), idempotency_key=kind)
        events_ingest(events=[event])
    lead = Lead.objects.get(email="ana@acme.io")
    assert lead.stage == Stage.MQL

    handoff = wait_for(lambda: Handoff.objects.filter(lead=lead).first(), process, log)

    assert handoff.status == HandoffStatus.ASSIGNED and handoff.assigned_to_id == rep.pk
    assert handoff.handed_off_at == StageChange.objects.get(lead=lead, to_stage=Stage.MQL).changed_at
    assert Lead.objects.get(pk=lead.pk).owner_id == rep.pk


def test_promotions_made_while_no_worker_ran_are_handed_over_when_one_starts(celery_env, tmp_path: Path, marketer):
    """The promotion's message waits in the broker, and its rows in the history."""
    definition = qualification.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule=ARTICLE_SQL)
    definition.status = DefinitionStatus.ACTIVE
    definition.save()
    t0 = timezone.now() - timedelta(hours=2)
    for offset, kind in enumerate(["webinar_registered", "webinar_attended"]):
        event = EventIn(email="bo@acme.io", type=kind, occurred_at=t0 + timedelta(hours=offset), idempotency_key=kind)
        events_ingest(events=[event])
    lead = Lead.objects.get(email="bo@acme.io")
    assert not Handoff.objects.filter(lead=lead).exists()

    queue = celery_env["SMARKETING_TEST_QUEUE"]
    args = ["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle"]
    log = tmp_path / "late-worker.log"
    process = start(args, celery_env, log)
    try:
        handoff = wait_for(lambda: Handoff.objects.filter(lead=lead).first(), process, log)
    finally:
        stop(process)
    assert handoff.status == HandoffStatus.POOLED  # no rule places it: it waits for a rep to claim it
