"""The pack as production makes it: beat, with the product's own schedule entry due (its last
run over a week ago), sends reports.meeting_pack_build; a real worker builds last week's pack and
sends the managers' email, which lands in the outbox (the embedded default keeps it there)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from conftest import make_user
from playbooks.models import OutboundEmail
from reports.pack.models import MeetingPack
from reports.pack.selectors import last_week
from smarketing.roles import Role
from tests.celery_worker import start, stop, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ENTRY = "reports-meeting-pack"


def test_the_beat_schedule_builds_the_pack_on_monday_at_eight_in_the_instances_zone():
    entry = settings.CELERY_BEAT_SCHEDULE[ENTRY]
    assert entry["task"] == "reports.meeting_pack_build"
    schedule = entry["schedule"]
    assert schedule.day_of_week == {1} and schedule.hour == {8} and schedule.minute == {0}


def test_beat_and_a_worker_build_last_weeks_pack_and_mail_it_to_managers(celery_env, tmp_path: Path) -> None:
    make_user("mona", Role.MANAGER, email="mona@example.com")
    entry = settings.CELERY_BEAT_SCHEDULE[ENTRY]
    crontab = CrontabSchedule.from_schedule(entry["schedule"])
    crontab.save()
    PeriodicTask.objects.create(
        name=ENTRY,
        task=entry["task"],
        crontab=crontab,
        last_run_at=timezone.now() - timedelta(days=8),  # so the Monday 08:00 since then is due now
    )
    env = {**celery_env, "DJANGO_SETTINGS_MODULE": "tests.reports.pack.worker_settings"}
    queue = env["SMARKETING_TEST_QUEUE"]
    worker_args = ["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=INFO"]
    worker = start(
        [*worker_args, "--without-gossip", "--without-mingle", "--without-heartbeat"], env, tmp_path / "w.log"
    )
    beat = start(["beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log")
    try:
        pack = wait_for(
            lambda: MeetingPack.objects.filter(emailed_at__isnull=False).first(), beat, tmp_path / "beat.log"
        )
        sent = OutboundEmail.Status.SENT
        email = wait_for(lambda: OutboundEmail.objects.filter(status=sent).first(), worker, tmp_path / "w.log")
    finally:
        stop(beat)
        stop(worker)
    assert pack.week_start == last_week()
    assert email.to_email == "mona@example.com" and email.lead_id is None
    assert email.subject.startswith(f"Meeting pack {pack.week}: 0 won, 0 lost")
    assert PeriodicTask.objects.get(name=ENTRY).total_run_count == 1
