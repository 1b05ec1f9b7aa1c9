"""Background jobs a page can follow: claimed once, progress reported, finished or failed."""

import threading
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from leads.models import Job

Advance = Callable[[int], None]


def job_claim(job: Job) -> bool:
    """Queued → running by a conditional update: of two runs of the same task, one wins."""
    claimed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    job.refresh_from_db()
    return bool(claimed)


def job_run(*, job: Job, work: Callable[[Job, Advance], dict[str, Any]]) -> Job:
    """Run `work(job, advance)` for a queued job; what it returns becomes the job's result.

    `advance(n)` adds n to the job's progress. A second run finds the job no longer queued
    and returns it as it is; an error marks the job failed with its message, then re-raises
    so the worker logs it.
    """
    if not job_claim(job):
        return job
    done = 0
    lock = threading.Lock()  # work may advance from several threads (parallel rescore)

    def advance(count: int) -> None:
        nonlocal done
        with lock:
            done += count
            value = min(done, job.total) if job.total else done
        Job.objects.filter(pk=job.pk).update(done=value)

    try:
        result = work(job, advance)
    except Exception as error:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=str(error), finished_at=timezone.now())
        raise
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, done=job.total, result=result, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job
