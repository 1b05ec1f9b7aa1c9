"""Qualification's Celery tasks: requalifying every lead and backtesting a draft."""

from celery import shared_task

from leads.jobs import job_get
from leads.qualification import backtest, services


@shared_task(name="jobs.requalify")
def requalify_task(job_id: int) -> None:
    if job := job_get(job_id, kind="requalify"):
        services.requalify_run(job=job)


@shared_task(name="jobs.backtest")
def backtest_task(job_id: int) -> None:
    if job := job_get(job_id, kind="backtest"):
        backtest.backtest_run(job=job)
