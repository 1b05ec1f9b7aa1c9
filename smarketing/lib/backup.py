"""A consistent copy of what an instance keeps, taken while it runs (`manage.py backup`).

What a backup holds, in a folder of its own:
- the database: the embedded SQLite file copied through SQLite's online backup API (a read
  transaction, so one moment's committed rows, while web, worker and beat keep writing: WAL lets
  them), then checked with `PRAGMA quick_check`; or PostgreSQL's `pg_dump --format=custom`,
  likewise one snapshot, for `pg_restore`. A plain `cp` of a SQLite file in WAL mode misses what
  is still in its -wal file, and may catch a page mid-write;
- `secret_key`, the embedded run's key in var/ (sessions, password-reset links and signed email
  links need the same one); production keeps SECRET_KEY in its environment instead;
- `media/`, uploaded files (CSV imports and their error files);
- `broker/queue/`, the embedded broker's messages not yet taken (each stands for rows already in
  the database, which beat sends again, so losing them loses nothing but a few seconds);
- `backup.json`, what was copied, when, and each app's latest migration.

README's "Backup and restore" says how to put it back.
"""

import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

SQLITE_FILE = "smarketing.sqlite3"
POSTGRES_FILE = "smarketing.dump"


class BackupError(Exception):
    """The backup could not be made; the message says why."""


def backup_make(*, destination: Path) -> dict[str, Any]:
    """Write a backup into `destination` (a new or empty folder) and return its manifest."""
    destination.mkdir(parents=True, exist_ok=True)
    if any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: a backup goes into a folder of its own.")
    if connection.vendor == "sqlite":
        database = _sqlite_copy(Path(connection.settings_dict["NAME"]), destination / SQLITE_FILE)
    elif connection.vendor == "postgresql":
        database = _postgres_dump(connection.settings_dict, destination / POSTGRES_FILE)
    else:
        raise BackupError(f"No backup for a {connection.vendor} database.")
    manifest = {
        "made_at": timezone.now().isoformat(),
        "database": database,
        "migrations": _latest_migrations(),
        "files": _files_copy(destination),
    }
    (destination / "backup.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _sqlite_copy(source: Path, target: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(source, timeout=20)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)  # every page in one step: one read transaction, one moment
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise BackupError(f"The copy of {source} failed its check: {check}")
    target.chmod(0o600)
    return {"engine": "sqlite", "file": target.name, "bytes": target.stat().st_size}


def _postgres_dump(database: dict[str, Any], target: Path) -> dict[str, Any]:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (apt-get install postgresql-client).")
    command = [pg_dump, "--format=custom", f"--file={target}", f"--dbname={database['NAME']}"]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            command.append(f"{option}={database[key]}")
    env = {**os.environ, "PGPASSWORD": database.get("PASSWORD") or ""}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    target.chmod(0o600)
    return {"engine": "postgresql", "file": target.name, "bytes": target.stat().st_size}


def _files_copy(destination: Path) -> list[str]:
    copied = []
    secret = Path(settings.SECRET_KEY_FILE)
    if secret.is_file():
        shutil.copy2(secret, destination / "secret_key")
        (destination / "secret_key").chmod(0o600)
        copied.append("secret_key")
    folders = {"media": Path(settings.MEDIA_ROOT)}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folders["broker/queue"] = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    for name, folder in folders.items():
        if folder.is_dir():
            shutil.copytree(folder, destination / name)
            copied.append(f"{name}/")
    return copied


def _latest_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))
