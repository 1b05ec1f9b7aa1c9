"""Fixtures and helpers that run a real Celery worker or beat, as separate processes, on the test
database and broker (registered for every test by the root conftest).

The default suite runs them on the embedded filesystem broker, in folders of the test's own so
a `make run` worker left running never takes its messages; with CELERY_BROKER_URL pointing at
Redis and DATABASE_URL at PostgreSQL the same tests run on those servers.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from smarketing.celery import app

CELERY = str(Path(sys.executable).with_name("celery"))
WAIT_SECONDS = 60
T = TypeVar("T")


def database_env() -> dict[str, str]:
    """Point a child process at the database this test uses (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return {"DATABASE_URL": "", "SQLITE_PATH": str(db["NAME"])}
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return {"DATABASE_URL": f"postgres://{credentials}@{host}{port}/{db['NAME']}"}


@pytest.fixture
def celery_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a child process sharing this process's database and broker.

    Tasks sent from here go to a queue named for this test. On the filesystem broker its
    folders move under tmp_path (the child gets SMARKETING_VAR_DIR, this process the same
    folders through the Celery app's configuration); the connection pool is dropped so the
    next send opens a connection with them.
    """
    queue = f"test-{uuid.uuid4().hex[:10]}"
    var_dir = tmp_path / "var"
    env = {
        **os.environ,
        **database_env(),
        "DJANGO_SETTINGS_MODULE": "smarketing.settings",
        "PYTHONPATH": str(settings.BASE_DIR),
        "SMARKETING_VAR_DIR": str(var_dir),
        "SMARKETING_TEST_QUEUE": queue,
    }
    saved = {key: app.conf[key] for key in ("broker_transport_options", "task_default_queue")}
    # From the settings, not the app: the suite has already moved the app's folders (conftest).
    options = dict(
        getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or saved["broker_transport_options"] or {}
    )
    for key, value in options.items():
        if "folder" in key:  # the filesystem broker's folders, moved from VAR_DIR to var_dir
            options[key] = str(var_dir / Path(value).relative_to(settings.VAR_DIR))
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    app.conf.broker_transport_options = options
    app.conf.task_default_queue = queue
    reset_broker_pool()
    yield env
    app.conf.update(saved)
    reset_broker_pool()


def reset_broker_pool() -> None:
    # Celery caches broker connections (and their transport options) in these two pools, and
    # kombu keeps producer pools per broker URL globally: a closed one would be handed back.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # cwd is the test's folder: anything the process writes beside itself lands there.
    with log.open("wb") as out:
        return subprocess.Popen(
            [CELERY, "-A", "smarketing", *args],
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    """Warm shutdown first (SIGTERM), then kill if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(check: Callable[[], T | None], process: subprocess.Popen, log: Path) -> T:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"celery exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.25)
    pytest.fail(f"nothing happened within {WAIT_SECONDS} s; celery's log:\n{log.read_text()[-4000:]}")


@pytest.fixture
def worker(celery_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path]]:
    log = tmp_path / "worker.log"
    queue = celery_env["SMARKETING_TEST_QUEUE"]
    args = ["worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=INFO"]
    process = start([*args, "--without-gossip", "--without-mingle", "--without-heartbeat"], celery_env, log)
    yield process, log
    stop(process)
