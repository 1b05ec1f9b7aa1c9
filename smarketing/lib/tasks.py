"""Sending Celery tasks by their registered names.

A service that needs work done in the background after its transaction commits asks for
it by the task's name ("sales.notifications_email", "jobs.rescore"), never by importing the
task: the task modules import the services, so the reverse import would be a cycle. Names
are declared with `@shared_task(name=...)` and listed in CELERY_IMPORTS, and a test checks
that every name sent is registered.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from smarketing.celery import app

_held = threading.local()


def task_send(name: str, *args: Any) -> None:
    if getattr(_held, "sending", True):
        app.send_task(name, args=list(args))


@contextmanager
def tasks_not_sent() -> Iterator[None]:
    """Send no task in this block, for a caller that does the workers' part itself (the demo
    runs a year of the product in one process and runs what a worker would, in order)."""
    _held.sending = False
    try:
        yield
    finally:
        _held.sending = True


def task_send_on_commit(name: str, *args: Any) -> None:
    """Send the task once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_send(name, *args))
