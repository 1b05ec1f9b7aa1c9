"""Redis, the broker, stopped for 30 s while people ask for work: every request still succeeds at
once, and once Redis is back the sweep sends the jobs and a real worker runs every one.

The Redis is a private one on a free port, started and stopped by the test (the machine's shared
server is never touched); it keeps nothing on disk, so a restart empties its queues, as a lost
broker would.
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from leads import jobs
from leads.models import Job, Lead
from leads.services import leads_set_owner_enqueue
from smarketing.celery import app
from tests.celery_worker import reset_broker_pool, start, stop, wait_for
from tests.factories import LeadFactory

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
    # Redis as the broker goes with PostgreSQL in production: the outage runs there, in the second
    # stage of .ci/run (its Redis is the test's private one whatever the suite's settings).
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="runs on PostgreSQL, the database that goes with a Redis broker in production",
    ),
]

OUTAGE_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder, self.process = port, folder, None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*args, "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("the private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path, celery_env: dict[str, str], monkeypatch) -> Iterator[tuple[PrivateRedis, dict]]:
    """A Redis of this test's own as the broker of this process and of the worker it starts."""
    redis = PrivateRedis(free_port(), tmp_path)
    redis.start()
    url = f"redis://127.0.0.1:{redis.port}/0"
    saved = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", url)  # Celery reads it before its configuration
    app.conf.broker_url = url
    reset_broker_pool()
    yield redis, {**celery_env, "CELERY_BROKER_URL": url}
    redis.stop()
    app.conf.broker_url = saved
    reset_broker_pool()


def test_jobs_asked_for_while_the_broker_is_down_all_run_once_it_is_back(
    private_redis, tmp_path, manager, rep, settings
):
    redis, env = private_redis
    log = tmp_path / "worker.log"
    queue = env["SMARKETING_TEST_QUEUE"]
    worker = start(["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--without-gossip"], env, log)
    leads = LeadFactory.create_batch(6)
    try:
        before = leads_set_owner_enqueue(lead_ids=[leads[0].pk], owner_id=rep.pk, by=manager)
        wait_for(lambda: Job.objects.filter(pk=before.pk, status=Job.Status.DONE).exists(), worker, log)

        redis.stop()
        asked = []
        outage_ends = time.monotonic() + OUTAGE_SECONDS
        for lead in leads[1:]:
            started = time.monotonic()
            asked.append(leads_set_owner_enqueue(lead_ids=[lead.pk], owner_id=rep.pk, by=manager))
            assert time.monotonic() - started < 3, "asking for a job waited on the broker"
            time.sleep(min(3, max(0, outage_ends - time.monotonic())))
        time.sleep(max(0, outage_ends - time.monotonic()))
        assert Job.objects.filter(pk__in=[job.pk for job in asked], status=Job.Status.QUEUED).count() == len(asked)

        redis.start()
        settings.JOB_SEND_AGAIN_SECONDS = 0  # beat's sweep, without waiting its minute
        time.sleep(0.01)
        assert jobs.jobs_sweep()["sent"] == len(asked)
        ids = [job.pk for job in asked]
        wait_for(lambda: Job.objects.filter(pk__in=ids, status=Job.Status.DONE).count() == len(ids), worker, log)
    finally:
        stop(worker)
    assert Lead.objects.filter(owner=rep).count() == len(leads)
    assert Job.objects.filter(pk__in=ids, attempts=1).count() == len(ids)  # each ran once
