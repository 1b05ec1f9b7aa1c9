"""PostgreSQL stopped and restarted under a running server: pages answer the styled 503 (JSON
under /api/) while it is down, never a 500, and the first request after it is back succeeds
without restarting the app.

The PostgreSQL here is a private cluster this test makes (initdb as the postgres user into a
temporary folder, its own port), so stopping it touches no server anyone else uses; gunicorn
serves the app on it over real HTTP, keeping its connection between requests (CONN_MAX_AGE with
health checks, as production runs). It runs with the suite on PostgreSQL (DATABASE_URL).
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import psycopg2
import pytest
import requests
from django.db import connection

from tests.smarketing.test_settings import REPO, clean_env

INITDB = shutil.which("initdb") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
RUNUSER = shutil.which("runuser")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="runs with the suite on PostgreSQL (DATABASE_URL)"),
    pytest.mark.skipif(INITDB is None, reason="PostgreSQL's initdb is not installed (apt-get install postgresql)"),
    pytest.mark.skipif(
        RUNUSER is None or os.geteuid() != 0, reason="initdb runs as the postgres user: needs root and runuser"
    ),
]

SEED = """
import json
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.authtoken.models import Token
from leads.models import Lead
user = User.objects.create_user("marketer", password="pw-marketer")
user.groups.add(Group.objects.get(name="Marketing"))
client = Client()
client.force_login(user)
lead = Lead.objects.create(email="ada@example.com", first_name="Ada")
print(json.dumps({"session": client.cookies["sessionid"].value, "token": Token.objects.create(user=user).key,
                  "lead": lead.pk}))
"""


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    port: int

    def pg_ctl(self, *args: str) -> None:
        pg_ctl = str(Path(INITDB).with_name("pg_ctl"))
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [pg_ctl, "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-o", options, "-w"]
        subprocess.run([RUNUSER, "-u", "postgres", "--", *command, *args], check=True, capture_output=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/smarketing"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # Not under pytest's tmp_path: the postgres user must own the folder and reach it.
    folder = Path(tempfile.mkdtemp(prefix="smarketing-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    initdb = [INITDB, "-D", str(folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync"]
    cluster = Cluster(folder, unused_port())
    try:
        subprocess.run([RUNUSER, "-u", "postgres", "--", *initdb], check=True, capture_output=True, timeout=120)
        cluster.pg_ctl("start")
        admin = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        admin.cursor().execute("CREATE DATABASE smarketing")
        admin.close()
        yield cluster
    finally:
        subprocess.run(
            [RUNUSER, "-u", "postgres", "--", str(Path(INITDB).with_name("pg_ctl")), "-D", str(folder / "data")]
            + ["-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def server(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """gunicorn on the private cluster, one worker (so one kept connection), migrated and seeded;
    shared by this module's tests, each of which leaves PostgreSQL running."""
    tmp_path = tmp_path_factory.mktemp("server")
    # DEBUG=1 as the suite runs (pages link unhashed static files, no collectstatic first); the 503
    # path is the same either way. SMARKETING_VAR_DIR keeps the filesystem broker's folders here.
    env = clean_env(
        DATABASE_URL=cluster.url, DEBUG="1", SECRET_KEY=secrets.token_urlsafe(50), SMARKETING_VAR_DIR=str(tmp_path)
    )
    manage(env, "migrate", "--verbosity", "0")
    seeded = json.loads(manage(env, "shell", "-c", SEED).strip().splitlines()[-1])
    port = unused_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "smarketing.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/login/", timeout=60)  # the first request loads the app
                break
            except requests.ConnectionError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        yield base, seeded
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_a_stopped_and_restarted_postgresql_gives_503_then_pages_and_api_answer_again(
    cluster: Cluster, server: tuple[str, dict]
) -> None:
    base, seeded = server
    page_url, api_url = f"{base}/leads/{seeded['lead']}/", f"{base}/api/v1/leads/{seeded['lead']}/"
    page = requests.Session()
    page.cookies.set("sessionid", seeded["session"])
    api = requests.Session()
    api.headers["Authorization"] = f"Token {seeded['token']}"

    def up() -> None:
        response = page.get(page_url, timeout=30)
        assert response.status_code == 200
        assert "ada@example.com" in response.text
        response = api.get(api_url, timeout=30)
        assert response.status_code == 200
        assert response.json()["email"] == "ada@example.com"

    up()

    # A restart between two requests: the kept connection is dead, the health check replaces it.
    cluster.pg_ctl("-m", "fast", "restart")
    up()

    cluster.pg_ctl("-m", "fast", "stop")
    response = page.get(page_url, timeout=30)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "15"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Back in a moment" in response.text
    assert '<link rel="stylesheet" href="/static/css/error.css">' in response.text
    css = requests.get(f"{base}/static/css/error.css", timeout=30)  # the page's style needs no database
    assert css.status_code == 200
    assert "--brand" in css.text
    response = api.get(api_url, timeout=30)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "15"
    assert response.json() == {"detail": "The database is unavailable; try again shortly."}

    cluster.pg_ctl("start")
    up()  # the same gunicorn process: nothing was restarted but PostgreSQL


def test_requests_while_postgresql_restarts_answer_200_or_503_never_500(
    cluster: Cluster, server: tuple[str, dict]
) -> None:
    base, seeded = server
    statuses: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {seeded['token']}"
        while not stop.is_set():
            statuses.append(session.get(f"{base}/api/v1/leads/{seeded['lead']}/", timeout=30).status_code)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        time.sleep(0.5)
        cluster.pg_ctl("-m", "fast", "stop")
        time.sleep(1)
        cluster.pg_ctl("start")
        time.sleep(0.5)
    finally:
        stop.set()
        asker.join(timeout=60)
    assert set(statuses) <= {200, 503}
    assert 503 in statuses  # it asked while the database was down
    assert statuses[-1] == 200  # and once it was back
