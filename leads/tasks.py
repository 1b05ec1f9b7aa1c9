"""Celery tasks of the Lead itself: thin wrappers that load rows by id and call one service."""

from celery import shared_task

from leads import jobs, services


@shared_task(name="jobs.set_owner")
def leads_set_owner_task(job_id: int) -> None:
    if job := jobs.job_get(job_id, kind="set_owner"):
        services.leads_set_owner_run(job=job)


@shared_task(name="jobs.sweep", acks_late=True)
def jobs_sweep() -> dict[str, int]:
    return jobs.jobs_sweep()
