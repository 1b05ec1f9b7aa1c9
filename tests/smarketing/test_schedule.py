"""Every background task is reachable: periodic ones are on the beat schedule, the rest are sent
by name (jobs by their kind, history readers after a commit), and each name is registered."""

import inspect

import pytest
from django.conf import settings

from smarketing.celery import app

JOB_KINDS = ("import", "rescore", "requalify", "backtest", "set_owner")


@pytest.fixture(scope="module")
def tasks() -> dict[str, object]:
    app.loader.import_default_modules()  # what a worker does at start
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def required_arguments(task: object) -> list[str]:
    parameters = inspect.signature(task.run).parameters.values()
    return [p.name for p in parameters if p.default is p.empty and p.kind is not p.VAR_KEYWORD]


def test_every_task_that_needs_no_arguments_is_on_the_beat_schedule(tasks):
    periodic = {name for name, task in tasks.items() if not required_arguments(task)}
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert periodic == scheduled


def test_the_nightly_score_decay_is_scheduled():
    assert "scoring.decay_nightly" in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_every_job_kind_and_history_reader_has_its_task(tasks):
    assert {f"jobs.{kind}" for kind in JOB_KINDS} <= set(tasks)
    assert set(settings.HISTORY_READERS) <= set(tasks)
    for name in (*(f"jobs.{kind}" for kind in JOB_KINDS), *settings.HISTORY_READERS):
        assert required_arguments(tasks[name]) in (["job_id"], [])
