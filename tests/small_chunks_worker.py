"""The real Celery app for worker-kill tests (`celery -A tests.small_chunks_worker worker`),
with chunks small enough that a little data makes many of them, and a pause after each
committed chunk's heartbeat so a test can kill the worker between two of them. (Playbook runs
are killed mid-batch by tests/playbooks/engine/test_worker.py.)"""

import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
django.setup()

from leads import jobs  # noqa: E402 -- after django.setup()
from leads.capture import imports  # noqa: E402
from leads.models import Job  # noqa: E402
from leads.scoring import services as scoring  # noqa: E402
from smarketing.celery import app  # noqa: E402, F401 -- what `celery -A` looks for

CHUNK_ROWS = 10
PAUSE_SECONDS = 0.3

imports.IMPORT_BATCH = CHUNK_ROWS
scoring.RESCORE_RANGE = CHUNK_ROWS
_heartbeat = jobs.job_heartbeat


def heartbeat_then_pause(job: Job, **fields: Any) -> None:
    _heartbeat(job, **fields)
    time.sleep(PAUSE_SECONDS)


jobs.job_heartbeat = heartbeat_then_pause
imports.job_heartbeat = heartbeat_then_pause
