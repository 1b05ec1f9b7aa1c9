"""Background jobs a page can follow: queued as a row, claimed once, progress reported, finished or failed.

A job's kind names its Celery task: a job of kind "rescore" runs as the task "jobs.rescore",
declared in its feature's tasks.py. Asking for a job writes the row and sends the task once
the transaction commits, so a page can show the job's progress before the worker starts.
"""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leads.models import Job
from smarketing.lib.tasks import task_send_on_commit
from smarketing.roles import Role, has_role

# Managers follow every job and anyone the jobs they started. Some jobs belong to a shared
# page, and whoever may open that page follows them too: the imports list (marketing), a
# definition's backtest and requalification (everyone who reads definitions).
SHARED_JOBS: dict[str, tuple[Role, ...]] = {
    "import": (Role.MARKETING,),
    "backtest": (Role.MARKETING, Role.SALES),
    "requalify": (Role.MARKETING, Role.SALES),
}


def job_task_name(kind: str) -> str:
    return f"jobs.{kind}"


def jobs_visible_to(user: Any) -> QuerySet[Job]:
    """The jobs this user may follow (see SHARED_JOBS)."""
    if not getattr(user, "is_authenticated", False):
        return Job.objects.none()
    if has_role(user, Role.MANAGER):
        return Job.objects.all()
    shared = [kind for kind, readers in SHARED_JOBS.items() if has_role(user, *readers)]
    return Job.objects.filter(Q(kind__in=shared) | Q(created_by=user))


def job_for_user(user: Any, pk: int, *, kinds: tuple[str, ...] = ()) -> Job:
    """The job if this user may follow it (and it is of one of `kinds`, when given), else 404."""
    jobs = jobs_visible_to(user).select_related("created_by")
    return get_object_or_404(jobs.filter(kind__in=kinds) if kinds else jobs, pk=pk)


def job_get(job_id: int, *, kind: str) -> Job | None:
    """For a task: its job row, or None when it is gone (nothing to do)."""
    return Job.objects.filter(pk=job_id, kind=kind).first()


def job_queue(*, kind: str, params: dict[str, Any], total: int, by: AbstractBaseUser | None) -> Job:
    """Write the job's row and send it to a worker once the transaction commits."""
    job = Job.objects.create(kind=kind, params=params, total=total, created_by=by)
    task_send_on_commit(job_task_name(kind), job.pk)
    return job


def jobs_fail_stale(*, older_than_hours: int = 6) -> int:
    """Mark jobs that have been running for hours (their worker died) as failed."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    return Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=cutoff).update(
        status=Job.Status.FAILED, error="The worker stopped before finishing.", finished_at=timezone.now()
    )


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
