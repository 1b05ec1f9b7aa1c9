"""`manage.py seed_demo`: the demo company set up and a year of its work run through the product.

Nothing is written that the product would not have written itself: the demo's people submit
forms and send events, marketing and sales set things up and work their leads through the
services their pages call, and the demo runs what Celery's worker and beat would, in order,
with the clock at each moment (leads.demo.clock). So scores, stages, "why qualified",
handoffs and deals agree with the definitions and rules that were in force at the time.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

from leads.demo.clock import at
from leads.demo.journeys import people_plan
from leads.demo.simulation import year_run
from leads.demo.world import jobs_run, world_build
from smarketing.lib.tasks import tasks_not_sent

DEMO_DAYS = 365


def demo_seed(*, count: int, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Build the demo on an empty database: a year ending `now` with `count` people."""
    end = (now or timezone.now()).replace(microsecond=0)
    start = timezone.localtime(end - timedelta(days=DEMO_DAYS)).replace(hour=8, minute=0, second=0)
    # The demo is its own worker: nothing is left queued for the real one.
    with tasks_not_sent(), _collector_relaxed(), _sqlite_bulk_load():
        with at(start):
            world = world_build(start=start.date())
            jobs_run(world)
            extensions = [import_string(path)(world=world, seed=seed, end=end) for path in settings.DEMO_EXTENSIONS]
        people = people_plan(count=count, seed=seed, start=start + timedelta(hours=1), end=end)
        counts = year_run(world=world, people=people, seed=seed, start=start, end=end, extensions=extensions)
    return {"people": len(people), **counts}


@contextmanager
def _collector_relaxed() -> Iterator[None]:
    """Fewer garbage collections while the year runs: it makes millions of short-lived objects
    and few cycles, and collecting after every 700 allocations took ~1 s of a 13 s seed. After
    every 50,000 the peak memory grows from 146 to 152 MB."""
    threshold = gc.get_threshold()
    gc.freeze()  # what exists before (Django, the modules) is never scanned
    gc.set_threshold(50_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@contextmanager
def _sqlite_bulk_load() -> Iterator[None]:
    """SQLite neither syncs the disk nor folds the write-ahead log back into the database file
    while the seed writes (the weeks' commits spent ~0.4 s of a profiled seed doing both). A
    killed seed loses nothing committed; only the machine going down mid-seed could harm the new
    file. Set only outside a transaction, as SQLite requires (a test runs the seed inside its
    own); settings.DATABASES' values come back after, and the log is checkpointed then."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        (synchronous,) = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint")
        (autocheckpoint,) = cursor.fetchone()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(synchronous)}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
