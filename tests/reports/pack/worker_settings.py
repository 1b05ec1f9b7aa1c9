"""Settings of the beat and worker processes the pack's test starts: the product's, with every
task (beat's, and the emails the worker queues once a pack commits) on the test's own queue."""

import os

from smarketing.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["SMARKETING_TEST_QUEUE"]
