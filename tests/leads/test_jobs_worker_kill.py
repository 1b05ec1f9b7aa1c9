"""A real worker killed (SIGKILL) in the middle of a job, a new one started and the sweep run:
the result is exactly what an uninterrupted run gives.

The worker is the real app with small chunks and a pause after each (tests.small_chunks_worker),
so a few hundred rows make many chunks and the kill lands between two of them or inside one.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads import jobs
from leads.capture import imports as csv_io
from leads.capture.ingest import EventIn, events_ingest
from leads.models import Event, Job, Lead, ScoringRule
from leads.models.scoring import LeadScore
from leads.scoring import services as scoring
from tests.celery_worker import CELERY, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 2


@pytest.fixture
def start_worker(celery_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[str], tuple[Any, Path]]]:
    started: list[subprocess.Popen] = []
    env = {**celery_env, "JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
    queue = celery_env["SMARKETING_TEST_QUEUE"]

    def start(name: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{name}.log"
        args = ["-A", "tests.small_chunks_worker", "worker", "--pool=solo", "-Q", queue, "-n", f"{name}-{queue}@%h"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [CELERY, *args, "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        return process, log

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def kill_mid_job(job: Job, process: subprocess.Popen, log: Path, *, after: int) -> Job:
    """SIGKILL the worker once the job has done `after` items, and check it was mid-way."""
    wait_for(lambda: Job.objects.filter(pk=job.pk, done__gte=after).exists(), process, log)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    killed = Job.objects.get(pk=job.pk)
    assert killed.status == Job.Status.RUNNING
    assert 0 < killed.done < killed.total, "the job was not killed mid-way"
    return killed


def resume(job: Job, start_worker: Callable, name: str) -> Job:
    """A new worker, and the sweep once the dead run's lease has run out: the job finishes."""
    process, log = start_worker(name)
    time.sleep(LEASE_SECONDS + 0.5)
    assert jobs.jobs_sweep()["requeued"] == 1
    done = wait_for(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.DONE).first(), process, log)
    assert done.attempts == 2
    return done


# --- Import ---------------------------------------------------------------------------------


def csv_text(domain: str) -> str:
    lines = ["email,company,utm_source,utm_campaign"]
    for n in range(1, 121):
        utm = "li,spring" if n % 3 else ","
        lines.append(f"p{n % 100}@{domain},Co {n},{utm}")  # 20 emails twice: merged, never doubled
        if n % 25 == 0:
            lines.append(f"broken-{n},X,,")
    return "\n".join(lines) + "\n"


def import_file(domain: str, marketer: Any) -> Job:
    upload = SimpleUploadedFile("leads.csv", csv_text(domain).encode(), content_type="text/csv")
    stored = csv_io.import_store_upload(upload=upload)
    mapping = {"email": 0, "company": 1, "utm_source": 2, "utm_campaign": 3}
    return csv_io.import_enqueue(upload=stored, mapping=mapping, by=marketer)


def import_outcome(job: Job, domain: str) -> dict[str, Any]:
    """What an import left, with the domain taken out so two imports can be compared."""
    leads = Lead.objects.filter(email__endswith=f"@{domain}")
    touches = Event.objects.filter(lead__in=leads, type=csv_io.IMPORT_EVENT)
    errors = csv_io.import_path(job.result["errors_file"]).read_text(encoding="utf-8-sig")
    return {
        "leads": sorted((lead.email.split("@")[0], lead.company, lead.source, lead.stage) for lead in leads),
        "touches": sorted(touches.values_list("lead__email", "properties")),
        "touch_count": touches.count(),
        "result": {key: value for key, value in job.result.items() if key != "errors_file"},
        "errors": errors,
        "done": (job.done, job.total),
    }


def test_an_import_whose_worker_is_killed_resumes_to_what_an_uninterrupted_import_gives(
    start_worker, celery_env, marketer, settings
):
    settings.MEDIA_ROOT = Path(celery_env["SMARKETING_VAR_DIR"]) / "media"  # where the worker looks
    whole = import_file("whole.io", marketer)
    process, log = start_worker("first")
    wait_for(lambda: Job.objects.filter(pk=whole.pk, status=Job.Status.DONE).exists(), process, log)
    expected = import_outcome(Job.objects.get(pk=whole.pk), "whole.io")

    killed = import_file("killed.io", marketer)
    kill_mid_job(killed, process, log, after=30)
    finished = resume(killed, start_worker, "second")

    outcome = import_outcome(finished, "killed.io")
    expected["touches"] = [(email.replace("whole.io", "killed.io"), p) for email, p in expected["touches"]]
    assert outcome == expected
    assert expected["result"] == {"created": 100, "updated": 20, "failed": 4}
    assert expected["touch_count"] == 80


# --- Rescore --------------------------------------------------------------------------------


def test_a_rescore_whose_worker_is_killed_resumes_to_the_scores_an_uninterrupted_rescore_gives(start_worker, marketer):
    now = timezone.now()
    events_ingest(
        events=[
            EventIn(email=f"r{n}@acme.io", type="page_viewed", occurred_at=now, idempotency_key=f"pv-{n}-{k}")
            for n in range(150)
            for k in range(n % 4)
        ]
    )
    Lead.objects.bulk_create(Lead(email=f"quiet{n}@acme.io") for n in range(30))
    rule = ScoringRule.objects.create(name="Page views", event_type="page_viewed", points=7, cap=50)
    job = scoring.rescore_enqueue(rule_ids=[rule.pk], by=marketer)
    process, log = start_worker("first")
    kill_mid_job(job, process, log, after=40)
    finished = resume(job, start_worker, "second")

    scores = dict(LeadScore.objects.values_list("lead__email", "score"))
    assert scores["r3@acme.io"] == 21
    assert finished.done == finished.total == Lead.objects.count()
    assert scoring.leads_rescore_all() == 0  # an uninterrupted rescore now changes nothing
    assert dict(LeadScore.objects.values_list("lead__email", "score")) == scores
    assert len(scores) == Lead.objects.count()
