"""Writes on leads: every change of state goes through one of these functions."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from leads.jobs import Advance, job_run
from leads.models import ChangeSource, Job, Lead, StageChange
from smarketing.lib.sql import chunked


def lead_change_stage(
    *,
    lead: Lead,
    to_stage: str,
    by: AbstractBaseUser | None = None,
    source: str = ChangeSource.USER,
    reason: str = "",
    note: str = "",
) -> StageChange | None:
    """Move a lead to another stage and record it; a move to the current stage does nothing."""
    if lead.stage == to_stage:
        return None
    with transaction.atomic():
        now = timezone.now()
        change = StageChange.objects.create(
            lead=lead,
            from_stage=lead.stage,
            to_stage=to_stage,
            changed_at=now,
            changed_by=by,
            source=source,
            reason=reason,
            note=note,
        )
        lead.stage = to_stage
        lead.stage_changed_at = now
        lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    return change


def job_start(*, kind: str, params: dict[str, Any], total: int, by: AbstractBaseUser | None) -> Job:
    return Job.objects.create(kind=kind, params=params, total=total, created_by=by)


def leads_set_owner_enqueue(*, lead_ids: Iterable[int], owner_id: int | None, by: AbstractBaseUser) -> Job:
    """Queue a bulk change of owner as a job the page can follow."""
    from leads.tasks import leads_set_owner_task

    ids = sorted(set(lead_ids))
    job = job_start(kind="set_owner", params={"lead_ids": ids, "owner_id": owner_id}, total=len(ids), by=by)
    transaction.on_commit(lambda: leads_set_owner_task.delay(job.pk))
    return job


BULK_BATCH = 2_000


def leads_set_owner_run(*, job: Job) -> Job:
    """Give every lead in the job's list its new owner, a batch at a time, reporting progress."""
    return job_run(job=job, work=_set_owner)


def _set_owner(job: Job, advance: Advance) -> dict[str, Any]:
    ids, owner_id = job.params["lead_ids"], job.params["owner_id"]
    changed = 0
    for batch in chunked(ids, BULK_BATCH):
        leads = Lead.objects.filter(pk__in=batch).exclude(owner_id=owner_id)
        changed += leads.update(owner_id=owner_id, updated_at=timezone.now())
        advance(len(batch))
    return {"changed": changed}


def jobs_fail_stale(*, older_than_hours: int = 6) -> int:
    """Mark jobs that have been running for hours (their worker died) as failed."""
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    return Job.objects.filter(status=Job.Status.RUNNING, started_at__lt=cutoff).update(
        status=Job.Status.FAILED, error="The worker stopped before finishing.", finished_at=timezone.now()
    )
