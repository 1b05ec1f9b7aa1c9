"""Scoring's Celery tasks: the rescore job and the nightly decay."""

from typing import Any

from celery import shared_task

from leads.jobs import job_get
from leads.scoring import services


@shared_task(name="jobs.rescore")
def rescore_task(job_id: int) -> None:
    if job := job_get(job_id, kind="rescore"):
        services.rescore_run(job=job)


@shared_task(name="scoring.decay_nightly")
def scores_decay_nightly() -> dict[str, Any]:
    return services.scores_decay_nightly()
