"""Celery tasks: thin wrappers that load rows by id and call one service."""

from celery import shared_task

from leads import services
from leads.models import Job


@shared_task
def leads_set_owner_task(job_id: int) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is not None:
        services.leads_set_owner_run(job=job)


@shared_task
def jobs_fail_stale() -> int:
    return services.jobs_fail_stale()
