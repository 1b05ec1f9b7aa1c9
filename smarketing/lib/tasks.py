"""Sending Celery tasks by their registered names.

A service that needs work done in the background after its transaction commits asks for
it by the task's name ("sales.notifications_email", "jobs.rescore"), never by importing the
task: the task modules import the services, so the reverse import would be a cycle. Names
are declared with `@shared_task(name=...)` and listed in CELERY_IMPORTS, and a test checks
that every name sent is registered.
"""

from typing import Any

from django.db import transaction

from smarketing.celery import app


def task_send(name: str, *args: Any) -> None:
    app.send_task(name, args=list(args))


def task_send_on_commit(name: str, *args: Any) -> None:
    """Send the task once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_send(name, *args))
