"""Background jobs a page can follow: queued as a row, claimed under a lease, worked in
committed chunks with a checkpoint, finished or failed — and resumed when their worker dies or hangs.

A job's kind names its Celery task: a job of kind "rescore" runs as the task "jobs.rescore",
declared in its feature's tasks.py. Asking for a job writes the row in the asking transaction
and sends the task once it commits, so a page can show the job before the worker starts.

The row, not the broker's message, is the truth:
1. a run claims the job by a conditional UPDATE (queued, or running with its lease run out),
   which counts an attempt and gives it a lease of JOB_LEASE_SECONDS;
2. every committed chunk renews the lease and stores the job's progress and checkpoint
   (`job_heartbeat`), conditioned on the attempt still being the job's: a run that lost its
   lease stops at its next chunk instead of writing beside the one that took over; between
   chunks a thread renews the lease while the run makes progress, and lets it run out once
   no chunk committed for JOB_STALL_SECONDS (the run hangs);
3. beat's `jobs.sweep` (every JOB_SWEEP_SECONDS) re-queues the running jobs whose lease ran
   out (their worker died or hung), which resume from their checkpoint, and sends again the
   queued jobs nobody took within JOB_SEND_AGAIN_SECONDS (the broker was down, or lost the
   message), then twice as long after each send up to JOB_SEND_AGAIN_MAX_SECONDS (the
   workers may only be busy); a job that ran out of JOB_MAX_ATTEMPTS fails with a message
   saying so.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Least
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leads.models import Job
from smarketing.lib.tasks import task_send, task_send_on_commit
from smarketing.roles import Role, has_role

log = logging.getLogger(__name__)

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
    """Write the job's row and send it to a worker once the transaction commits (if the broker
    is down then, the request still succeeds and the sweep sends it later)."""
    job = Job.objects.create(kind=kind, params=params, total=total, created_by=by)
    task_send_on_commit(job_task_name(kind), job.pk)
    return job


class JobLeaseLost(Exception):
    """This run's lease ran out and the job was re-queued or taken by another run: stop."""


def _lease_end() -> Any:
    return timezone.now() + timedelta(seconds=settings.JOB_LEASE_SECONDS)


def job_claim(job: Job) -> bool:
    """Queued (or running with its lease run out) → running, with a new lease and one more
    attempt, by a conditional update: of two runs of the same task, one wins."""
    now = timezone.now()
    takeable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, lease_until__lt=now)
    claimed = Job.objects.filter(takeable, pk=job.pk, attempts__lt=settings.JOB_MAX_ATTEMPTS).update(
        status=Job.Status.RUNNING,
        started_at=Coalesce(F("started_at"), now),
        lease_until=_lease_end(),
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    job.refresh_from_db()
    return bool(claimed)


def job_heartbeat(job: Job, **fields: Any) -> None:
    """Renew this run's lease and store `fields` (done, checkpoint, result, total) with it.

    Call it inside the transaction that commits a chunk, so the chunk and its checkpoint
    commit together. Raises JobLeaseLost when the job is no longer this run's."""
    mine = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)
    if not mine.update(lease_until=_lease_end(), heartbeat_at=timezone.now(), **fields):
        raise JobLeaseLost(f"job {job.pk} is no longer held by attempt {job.attempts}")
    for name, value in fields.items():
        setattr(job, name, value)


def job_lease_renew(job: Job) -> bool:
    """Extend this run's lease if the run is making progress: it committed a chunk (or was
    claimed) within JOB_STALL_SECONDS. False when the job is no longer this run's, or the run
    stalled: its lease is then left to run out and the sweep re-queues the job as for a dead
    worker (a hung run that wakes finds its lease lost at its next chunk)."""
    progressing = Q(heartbeat_at__gte=timezone.now() - timedelta(seconds=settings.JOB_STALL_SECONDS))
    mine = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)
    if mine.filter(progressing).update(lease_until=_lease_end()):
        return True
    if mine.exists():
        log.warning("job %s: no progress for %s s, its lease is left to run out", job.pk, settings.JOB_STALL_SECONDS)
    return False


@contextmanager
def job_lease_kept(job: Job) -> Iterator[None]:
    """Renew this run's lease every third of it while the block runs, for steps longer than a
    lease (a backtest, rebuilding rollups): a lease then runs out only when the process dies or
    the run makes no progress for JOB_STALL_SECONDS (it hangs). Renewal stops for good once the
    job is no longer this run's or the run stalled (`job_lease_renew`)."""
    stop = threading.Event()
    interval = settings.JOB_LEASE_SECONDS / 3

    def keep() -> None:
        try:
            while not stop.wait(interval) and job_lease_renew(job):
                pass
        finally:
            connections.close_all()  # this thread's own

    keeper = threading.Thread(target=keep, name=f"job-{job.pk}-lease", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join(timeout=1)  # it may wait on the row a chunk's transaction holds: no need to wait for it


def job_finish(job: Job, *, result: dict[str, Any], error: str = "", done: int | None = None) -> bool:
    """Done (or failed with `error`) if this run still holds the job; False when it does not."""
    fields: dict[str, Any] = {"result": result, "error": error, "finished_at": timezone.now(), "lease_until": None}
    fields["status"] = Job.Status.FAILED if error else Job.Status.DONE
    if done is not None:
        fields["done"] = done
    finished = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(**fields)
    job.refresh_from_db()
    return bool(finished)


def jobs_sweep() -> dict[str, int]:
    """Beat: send again what nobody took, re-queue what a dead worker held, fail what ran out of attempts."""
    now = timezone.now()
    expired = Job.objects.filter(status=Job.Status.RUNNING, lease_until__lt=now)
    failed = expired.filter(attempts__gte=settings.JOB_MAX_ATTEMPTS).update(
        status=Job.Status.FAILED,
        error=f"The job's worker stopped {settings.JOB_MAX_ATTEMPTS} times before it finished; it was given up. "
        "What it had finished is kept.",
        finished_at=now,
        lease_until=None,
    )
    # Not sent since re-queued: the step below sends them at once, and their back-off starts over.
    requeued = expired.update(status=Job.Status.QUEUED, lease_until=None, sends=0)
    stale = Job.objects.filter(_send_again_due(now), status=Job.Status.QUEUED)
    with transaction.atomic():
        due = list(stale.select_for_update(skip_locked=True).values_list("pk", "kind")[:JOBS_SENT_PER_SWEEP])
        sends = Least(F("sends") + 1, SENDS_COUNTED)
        Job.objects.filter(pk__in=[pk for pk, _ in due]).update(sent_at=now, sends=sends)
        if due:
            transaction.on_commit(lambda: _jobs_send(due))
    if requeued or failed:
        log.warning("jobs sweep: %d job(s) whose worker died or hung re-queued, %d given up", requeued, failed)
    return {"requeued": requeued, "sent": len(due), "failed": failed}


JOBS_SENT_PER_SWEEP = 500
SENDS_COUNTED = 32_767  # the largest a PositiveSmallIntegerField holds on every database


def _send_again_waits() -> list[timedelta]:
    """How long a queued job waits for a worker after its n-th send before it is sent again
    (the last wait for every later send): JOB_SEND_AGAIN_SECONDS, then twice as long each
    time up to JOB_SEND_AGAIN_MAX_SECONDS, so a queue that is merely busy (a long import
    holds every worker) gets a handful of extra messages, not one a minute."""
    first = timedelta(seconds=settings.JOB_SEND_AGAIN_SECONDS)
    longest = timedelta(seconds=settings.JOB_SEND_AGAIN_MAX_SECONDS)
    waits = [min(first, longest)]
    while timedelta(0) < waits[-1] < longest:
        waits.append(min(waits[-1] * 2, longest))
    return waits


def _send_again_due(now: datetime) -> Q:
    """The queued jobs whose wait is over, or that were never sent since they were re-queued."""
    waits = _send_again_waits()
    due = Q(sends=0)
    for sends, wait in enumerate(waits[:-1], start=1):
        due |= Q(sends=sends, sent_at__lt=now - wait)
    return due | Q(sends__gte=len(waits), sent_at__lt=now - waits[-1])


def _jobs_send(due: list[tuple[int, str]]) -> None:
    """Send the jobs' tasks, and stop at the first the broker cannot take: it is down, and what
    it held may be lost (a restart empties its queues). Every queued job then goes back to the
    first wait, so each is sent again within about a minute of the broker's return rather than
    after the long wait of a queue that was only busy."""
    for sent, (pk, kind) in enumerate(due):
        if not task_send(job_task_name(kind), pk):
            Job.objects.filter(status=Job.Status.QUEUED, sends__gt=1).update(sends=1)
            log.warning("jobs sweep: the broker is unreachable; %d of %d job(s) sent", sent, len(due))
            return


class Advance(Protocol):
    """`advance(n, checkpoint=...)`: n more items done, and (optionally) where a resumed run starts."""

    def __call__(self, count: int, *, checkpoint: dict[str, Any] | None = None) -> None: ...


def job_run(*, job: Job, work: Callable[[Job, Advance], dict[str, Any]]) -> Job:
    """Run `work(job, advance)` for a job this run can claim; what it returns becomes the result.

    `advance(n)` adds n to the job's progress and renews the lease; with `checkpoint=` it also
    stores where a resumed run starts (work reads it back from `job.checkpoint`, and `job.done`
    keeps the progress of earlier attempts). A run that cannot claim the job returns it as it is;
    one that lost its lease stops quietly; an error marks the job failed with its message, then
    re-raises so the worker logs it.
    """
    if not job_claim(job):
        return job
    done = job.done  # a resumed run goes on from what earlier attempts committed
    lock = threading.Lock()  # work may advance from several threads (parallel rescore)

    def advance(count: int, *, checkpoint: dict[str, Any] | None = None) -> None:
        nonlocal done
        with lock:
            done += count
            fields: dict[str, Any] = {"done": min(done, job.total) if job.total else done}
            if checkpoint is not None:
                fields["checkpoint"] = checkpoint
            job_heartbeat(job, **fields)

    try:
        with job_lease_kept(job):
            result = work(job, advance)
    except JobLeaseLost:
        log.warning("job %s: lease lost, left to the run that holds it now", job.pk)
        return job
    except Exception as error:
        job_finish(job, result=job.result, error=str(error) or type(error).__name__)
        raise
    job_finish(job, result=result, done=job.total)
    return job
