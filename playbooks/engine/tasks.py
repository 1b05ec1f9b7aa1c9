"""Celery tasks for playbooks: thin wrappers over the engine. Due work lives in the database,
so every task can be lost or repeated without losing or doubling a step."""

import time

from celery import shared_task
from django.conf import settings

from playbooks.engine import runner, triggers
from smarketing.lib.tasks import task_send

RUN_BUDGET_SECONDS = 50  # under beat's minute, so runs overlap little


@shared_task(name="playbooks.enrolments_follow", acks_late=True)
def enrolments_follow() -> int:
    """The stage history's reader: stage policies and stage triggers."""
    return triggers.enrolments_follow_history()


@shared_task(name="playbooks.tick", acks_late=True)
def tick() -> int:
    """Beat, every minute: enrol from events, lists and scores, then have the due work run by
    as many runners as the workers have room for (they share it with SKIP LOCKED)."""
    entered = triggers.enrolments_follow_rows()
    for _ in range(settings.PLAYBOOK_RUNNERS):
        task_send(runner.RUN_TASK)
    return entered


@shared_task(name="playbooks.run_due", acks_late=True)
def run_due() -> int:
    started = time.monotonic()
    ran = runner.enrolments_run_due(budget=RUN_BUDGET_SECONDS)
    if time.monotonic() - started > RUN_BUDGET_SECONDS and runner.work_due():
        # Its time ran out with work still due: a fresh runner takes over now, not at the next tick.
        task_send(runner.RUN_TASK)
    return ran
