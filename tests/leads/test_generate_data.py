import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from leads.management.commands import generate_data
from leads.models import Event, Lead, LeadScore, Stage, StageChange
from tests.factories import EventFactory, LeadFactory

pytestmark = pytest.mark.django_db


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_data", *args, stdout=out)
    return out.getvalue()


def test_inserts_the_requested_leads_and_events():
    out = generate("--leads", "300", "--events", "2000", "--batch", "128")
    assert Lead.objects.count() == 300
    assert Event.objects.count() == 2000
    assert "rows/s" in out
    assert "peak memory" in out


def test_every_event_points_at_a_lead_it_follows():
    generate("--leads", "200", "--events", "1500")
    assert not Event.objects.exclude(lead_id__in=Lead.objects.values("id")).exists()
    assert not Event.objects.filter(occurred_at__lt=F("lead__created_at")).exists()
    assert Event.objects.values("lead").distinct().count() > 150


def test_score_rows_copy_their_leads_creation_and_last_touch():
    generate("--leads", "50", "--events", "100")
    copies = LeadScore.objects.values_list("created_at", "last_touch_at", "lead__created_at", "lead__last_touch_at")
    assert len(copies) == 50
    assert all(created == lead_created and touch == lead_touch for created, touch, lead_created, lead_touch in copies)


def test_emails_and_idempotency_keys_stay_unique_across_runs_and_beside_existing_rows():
    LeadFactory.create_batch(3)
    EventFactory.create_batch(3)
    generate("--leads", "100", "--events", "500")
    generate("--leads", "100", "--events", "500")
    assert Lead.objects.count() == 206
    assert Lead.objects.values("email").distinct().count() == 206
    assert Event.objects.values("idempotency_key").distinct().count() == 1003


def test_stages_span_the_funnel_with_a_history_each():
    generate("--leads", "1000", "--events", "0")
    stages = dict(Lead.objects.values_list("stage").annotate(n=Count("id")))
    assert set(stages) == set(Stage.values)
    assert stages[Stage.LEAD] > stages[Stage.MQL] > stages[Stage.OPPORTUNITY]
    assert StageChange.objects.filter(from_stage="").count() == 1000
    customer = Lead.objects.filter(stage=Stage.CUSTOMER).first()
    path = list(customer.stage_changes.order_by("changed_at", "id").values_list("to_stage", flat=True))
    assert path == [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER]


def test_times_are_aware_and_inside_the_last_twelve_months():
    generate("--leads", "200", "--events", "1000")
    now = timezone.now()
    for value in [
        *Lead.objects.values_list("created_at", flat=True),
        *Event.objects.values_list("occurred_at", flat=True),
    ]:
        assert value.tzinfo is not None
        assert now - timedelta(days=366) < value <= now


def test_the_stage_history_can_be_skipped_and_figures_written_to_a_file(tmp_path):
    stats = tmp_path / "stats.json"
    generate("--leads", "50", "--events", "100", "--no-stage-changes", "--stats-file", str(stats))
    assert StageChange.objects.count() == 0
    figures = json.loads(stats.read_text())
    assert [table["table"] for table in figures["tables"]] == ["leads", "scores", "events"]
    assert figures["peak_rss_mb"] > 0


def test_refuses_to_make_no_leads():
    with pytest.raises(CommandError):
        generate("--leads", "0")


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_postgresql_streams_rows_through_copy(monkeypatch):
    streams = []

    class Recorder(generate_data.CopyStream):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            streams.append(self)

    monkeypatch.setattr(generate_data, "CopyStream", Recorder)
    generate("--leads", "500", "--events", "3000", "--batch", "1000")
    assert sum(
        stream.count for stream in streams
    ) == Lead.objects.count() + LeadScore.objects.count() + Event.objects.count() + (StageChange.objects.count())
    assert len(streams) >= 6  # batches of 1,000: 1 for leads, 1 for scores, 3 (+1 empty) for events, 1+ for history
