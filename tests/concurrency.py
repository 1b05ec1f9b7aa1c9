"""Helpers for the PostgreSQL race tests: work in other threads, each on its own connection."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connections, transaction

from leads.capture.ingest import EventIn, events_ingest


@dataclass
class Running:
    thread: threading.Thread
    done: threading.Event = field(default_factory=threading.Event)
    errors: list[Exception] = field(default_factory=list)

    def join(self) -> None:
        self.thread.join()


def in_thread(work: Callable[[], object]) -> Running:
    """Start `work` in a thread; its errors are kept for the test to assert on."""
    running = Running(thread=threading.Thread())

    def run() -> None:
        try:
            work()
        except Exception as error:  # noqa: BLE001 - the test asserts on them
            running.errors.append(error)
        finally:
            running.done.set()
            connections.close_all()

    running.thread = threading.Thread(target=run)
    running.thread.start()
    return running


@contextmanager
def ingest_held_open(events: list[EventIn]) -> Iterator[None]:
    """Ingest these events in a transaction of another thread that stays open for the block,
    then commits: their rows and locks are in place, and nobody else sees them yet."""
    stored, release = threading.Event(), threading.Event()

    def capture() -> None:
        with transaction.atomic():
            events_ingest(events=events)
            stored.set()
            release.wait(10)

    running = in_thread(capture)
    assert stored.wait(10), running.errors
    try:
        yield
    finally:
        release.set()
        running.join()
        assert running.errors == []
