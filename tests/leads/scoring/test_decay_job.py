"""The nightly decay as beat runs it: the registered task, a day after the last decay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.models import Lead, ScoringRule, ScoringState
from smarketing.celery import app

pytestmark = pytest.mark.django_db


def test_a_day_later_the_nightly_job_halves_engagement_with_a_one_day_half_life():
    ScoringRule.objects.create(name="Opens", event_type="email_opened", points=40, half_life_days=1)
    yesterday = timezone.now() - timedelta(days=1)
    ScoringState.objects.filter(pk=ScoringState.current().pk).update(decayed_at=yesterday)  # last night's run
    event = EventIn(email="di@acme.io", type="email_opened", occurred_at=yesterday, idempotency_key="e1")
    events_ingest(events=[event])
    assert Lead.objects.get(email="di@acme.io").engagement_score == 40  # as scored yesterday

    app.loader.import_default_modules()  # what a worker does at start
    outcome = app.tasks["scoring.decay_nightly"].apply().get()

    assert outcome["days"] == pytest.approx(1, abs=0.01) and outcome["changed"] == 1
    lead = Lead.objects.get(email="di@acme.io")
    assert lead.engagement_score == 20 and lead.score_breakdown == {"Opens": 20}
    assert ScoringState.current().decayed_at > yesterday + timedelta(hours=23)
