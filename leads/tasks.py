"""Celery tasks: thin wrappers that load rows by id and call one service."""

from typing import Any

from celery import shared_task

from leads import notifications, qualification, scoring, services, sla, worklog
from leads.csv_io import import_task  # noqa: F401  (defined beside the import service; registered here)
from leads.models import Job


def _job(job_id: int) -> Job | None:
    return Job.objects.filter(pk=job_id).first()


@shared_task
def leads_set_owner_task(job_id: int) -> None:
    if job := _job(job_id):
        services.leads_set_owner_run(job=job)


@shared_task
def rescore_task(job_id: int) -> None:
    if job := _job(job_id):
        scoring.rescore_run(job=job)


@shared_task
def requalify_task(job_id: int) -> None:
    if job := _job(job_id):
        qualification.requalify_run(job=job)


@shared_task
def backtest_task(job_id: int) -> None:
    if job := _job(job_id):
        qualification.backtest_run(job=job)


@shared_task
def scores_decay_nightly() -> dict[str, Any]:
    return scoring.scores_decay_nightly()


@shared_task
def jobs_fail_stale() -> int:
    return services.jobs_fail_stale()


@shared_task
def sla_check_task() -> dict[str, int]:
    return sla.sla_check()


@shared_task
def leads_revisit_task() -> int:
    return worklog.leads_revisit_due()


@shared_task
def notifications_email_task(user_ids: list[int]) -> int:
    return notifications.notifications_email(user_ids=user_ids)
