"""Sending Celery tasks by their registered names.

A service that needs work done in the background after its transaction commits asks for
it by the task's name ("sales.notifications_email", "jobs.rescore"), never by importing the
task: the task modules import the services, so the reverse import would be a cycle. Names
are declared with `@shared_task(name=...)` and listed in CELERY_IMPORTS, and a test checks
that every name sent is registered.

A send never fails the caller: when the broker cannot be reached the failure is logged and
the work waits in the database, where a beat task finds it (leads.jobs' sweep re-sends jobs;
the history readers, outbox and runners are on beat's schedule).
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from smarketing.celery import app

log = logging.getLogger(__name__)

_held = threading.local()

# Give up on an unreachable broker within about a second: the request that asked is waiting.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def task_send(name: str, *args: Any) -> bool:
    """Send the task; False (logged) when the broker cannot take it now."""
    if not getattr(_held, "sending", True):
        return False
    try:
        app.send_task(name, args=list(args), retry_policy=PUBLISH_RETRY)
    except Exception:  # noqa: BLE001 -- any broker failure; the database row keeps the work
        log.warning("could not send %s%r; beat will find the work again", name, args, exc_info=True)
        return False
    return True


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
