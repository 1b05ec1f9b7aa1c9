"""Capture's Celery tasks: the CSV import job."""

from celery import shared_task

from leads.capture import imports
from leads.jobs import job_get


@shared_task(name="jobs.import")
def import_task(job_id: int) -> None:
    if job := job_get(job_id, kind="import"):
        imports.import_run(job=job)
