"""Settings of the worker process a test starts: the product's, with the tasks the worker itself
sends (a batch's emails once it commits, the runners a tick asks for) put on the test's own
queue, the one its worker reads, as production puts them on its one queue.

On the filesystem broker a prefork worker looks for messages once every `polling_interval`
(kombu's default is a second) and takes as many as it has free children, so two children send
two emails a second; the test's worker looks twenty times a second, to send hundreds in the
time a test may take. Redis pushes messages to the worker and has no such interval.
"""

import os

from smarketing.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["SMARKETING_TEST_QUEUE"]
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "polling_interval": 0.05}  # noqa: F405
