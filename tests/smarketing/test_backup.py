"""Backup and restore: `manage.py backup` copies a running instance; the copy, restored into a
fresh database, passes `migrate --check` and the app serves the same leads from it.

SQLite (the embedded default) is copied through its online backup API while another connection
holds a write open; PostgreSQL is dumped with pg_dump and restored with pg_restore into a
database of the test's own, dropped afterwards. The app is pointed at the restored database
and its lead page and API are read through the test client.
"""

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from leads.capture.ingest import EventIn, events_ingest
from leads.models import Lead, ScoringRule
from tests.celery_worker import database_env
from tests.smarketing.test_settings import REPO, clean_env

pytestmark = pytest.mark.django_db(transaction=True)  # the backup reads committed rows only


@pytest.fixture
def instance(marketer: User, settings: object, tmp_path: Path) -> dict:
    """A small instance made by the product's own capture: a rule, leads scored by their events,
    an embedded secret key and an uploaded file."""
    ScoringRule.objects.create(name="Webinar", event_type="webinar_attended", points=10)
    now = timezone.now()
    events = [
        EventIn(
            email=f"person{n}@example.com",
            type="webinar_attended" if n % 2 else "page_viewed",
            occurred_at=now,
            idempotency_key=f"backup-{n}",
            properties={},
            lead={"first_name": f"Person {n}", "company": "Acme"},
        )
        for n in range(6)
    ]
    events_ingest(events=events)
    settings.SECRET_KEY_FILE = tmp_path / "var" / "secret_key"
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    (tmp_path / "var" / "media" / "imports").mkdir(parents=True)
    settings.SECRET_KEY_FILE.write_text("the-instance-secret")
    (settings.MEDIA_ROOT / "imports" / "leads.csv").write_text("email\nperson0@example.com\n")
    queue = tmp_path / "var" / "broker" / "queue"
    queue.mkdir(parents=True)
    (queue / "a-message.msg").write_text("{}")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(queue), "data_folder_out": str(queue)}
    lead = Lead.objects.get(email="person1@example.com")
    return {"lead": lead, "token": Token.objects.create(user=marketer).key}


def served(lead: Lead, token: str, marketer: User) -> tuple[str, dict]:
    """The lead's page and its API answer, as the app serves them from the current database."""
    client = Client()
    client.force_login(marketer)
    page = client.get(f"/leads/{lead.pk}/")
    assert page.status_code == 200
    api = Client().get(f"/api/v1/leads/{lead.pk}/", HTTP_AUTHORIZATION=f"Token {token}")
    assert api.status_code == 200
    return page.content.decode(), api.json()


@contextmanager
def app_on(**database: str) -> Iterator[None]:
    """Point the app's connection at another database (as a restarted app would be), then back."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(database)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def migrate_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=REPO,
        env=clean_env(DEBUG="1", **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_backup_goes_into_a_folder_of_its_own(instance: dict, tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("backup", tmp_path / "used")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's backup (SQLite)")
def test_sqlite_backup_taken_while_a_write_is_open_restores_into_a_fresh_path_and_serves_the_same_leads(
    instance: dict, marketer: User, tmp_path: Path
) -> None:
    lead, token = instance["lead"], instance["token"]
    page_before, api_before = served(lead, token, marketer)
    assert api_before["score"] == 10

    # Another process is in the middle of a write: the backup neither waits for it nor holds it.
    writer = sqlite3.connect(connection.settings_dict["NAME"], timeout=1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE leads_lead SET company = 'Uncommitted' WHERE id = ?", [lead.pk])
    try:
        call_command("backup", tmp_path / "backup")
    finally:
        writer.rollback()
        writer.close()

    backup = tmp_path / "backup"
    manifest = json.loads((backup / "backup.json").read_text())
    assert manifest["database"]["engine"] == "sqlite"
    assert manifest["files"] == ["secret_key", "media/", "broker/queue/"]
    assert manifest["migrations"]["leads"] == max(p.stem for p in (REPO / "leads" / "migrations").glob("0*.py"))
    assert (backup / "secret_key").read_text() == "the-instance-secret"
    assert (backup / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (backup / "media" / "imports" / "leads.csv").read_text().startswith("email")
    assert (backup / "broker" / "queue" / "a-message.msg").exists()

    # Restore as README says: the files into a fresh var/ folder, the app pointed at it.
    restored = tmp_path / "restored" / "var"
    restored.mkdir(parents=True)
    shutil.copy2(backup / "smarketing.sqlite3", restored / "smarketing.sqlite3")
    assert not (backup / "smarketing.sqlite3-wal").exists()  # one self-contained file
    check = migrate_check({"SQLITE_PATH": str(restored / "smarketing.sqlite3"), "SMARKETING_VAR_DIR": str(restored)})
    assert check.returncode == 0, check.stdout + check.stderr
    with app_on(NAME=str(restored / "smarketing.sqlite3")):
        page_after, api_after = served(lead, token, marketer)
        assert Lead.objects.filter(company="Uncommitted").count() == 0  # only what was committed
        assert Lead.objects.count() == 6
    assert api_after == api_before
    assert "person1@example.com" in page_after
    assert "Acme" in page_after


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's backup (DATABASE_URL)")
@pytest.mark.skipif(shutil.which("pg_restore") is None, reason="pg_dump and pg_restore are not installed")
def test_postgresql_dump_restores_into_a_fresh_database_that_passes_migrate_check_and_serves_the_same_leads(
    instance: dict, marketer: User, tmp_path: Path
) -> None:
    lead, token = instance["lead"], instance["token"]
    _, api_before = served(lead, token, marketer)
    assert api_before["score"] == 10

    call_command("backup", tmp_path / "backup")
    dump = tmp_path / "backup" / "smarketing.dump"
    assert json.loads((tmp_path / "backup" / "backup.json").read_text())["database"]["engine"] == "postgresql"

    db = connection.settings_dict
    fresh = f"{db['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    server = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
    admin = psycopg2.connect(dbname="postgres", password=db["PASSWORD"] or None, **server)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{fresh}"')
    try:
        restore = subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={fresh}", f"--host={server['host']}", f"--port={server['port']}"]
            + [f"--username={server['user']}", str(dump)],
            env={**clean_env(), "PGPASSWORD": db["PASSWORD"] or ""},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
        with app_on(NAME=fresh):
            check = migrate_check(database_env())
            assert check.returncode == 0, check.stdout + check.stderr
            page_after, api_after = served(lead, token, marketer)
        assert api_after == api_before
        assert "person1@example.com" in page_after
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        admin.close()
