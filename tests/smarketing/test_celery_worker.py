"""A real Celery worker and beat on the test database and broker: jobs run, the schedule installs."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django_celery_beat.models import PeriodicTask

from leads.models import Job, Lead
from leads.services import leads_set_owner_enqueue
from tests.celery_worker import start, stop, wait_for
from tests.factories import LeadFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_sets_the_owner_of_every_lead_and_finishes_the_job(
    worker: tuple[subprocess.Popen, Path], rep: User, manager: User
) -> None:
    process, log = worker
    leads = LeadFactory.create_batch(3)
    already_owned = LeadFactory(owner=rep)
    ids = [lead.pk for lead in [*leads, already_owned]]

    job = leads_set_owner_enqueue(lead_ids=ids, owner_id=rep.pk, by=manager)

    finished = wait_for(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.DONE).first(), process, log)
    assert finished.done == finished.total == 4
    assert finished.result == {"changed": 3}
    assert finished.finished_at is not None
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {rep.pk}


def test_beat_installs_the_schedule_in_the_database(celery_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "beat.log"
    process = start(["beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule")], celery_env, log)
    try:
        names = set(settings.CELERY_BEAT_SCHEDULE)
        installed = wait_for(lambda: PeriodicTask.objects.filter(name__in=names).count() == len(names), process, log)
        assert installed
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            task = PeriodicTask.objects.get(name=name)
            assert task.task == entry["task"]
            assert task.enabled
            assert task.crontab is not None or task.interval is not None
    finally:
        stop(process)
