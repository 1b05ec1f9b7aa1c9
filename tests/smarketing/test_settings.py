"""Settings come from environment variables: each test loads them in a fresh process."""

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(settings.BASE_DIR)

# Django settings read in the child, returned as JSON (paths and other objects as strings).
PRINT_SETTINGS = """
import json, sys
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in sys.argv[1:]}, default=str))
"""


def clean_env(**values: str) -> dict[str, str]:
    """Only what a process needs to run, plus `values`: nothing leaks in from this shell or CI."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    return {**env, "DJANGO_SETTINGS_MODULE": "smarketing.settings", "PYTHONPATH": str(REPO), **values}


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def settings_with(names: list[str], **values: str) -> dict[str, object]:
    result = run_python(["-c", PRINT_SETTINGS, *names], clean_env(**values))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_explicit_debug_off_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    result = run_python(["manage.py", "check"], clean_env(DEBUG="0", SMARKETING_VAR_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "DEBUG is off: set SECRET_KEY to a long random value (it is not set)." in result.stderr
    assert not (tmp_path / "secret_key").exists()  # an explicit DEBUG=0 never makes one up


def test_debug_off_refuses_the_default_key_even_when_set_explicitly(tmp_path: Path) -> None:
    env = clean_env(DEBUG="false", SECRET_KEY=settings.DEFAULT_SECRET_KEY, SMARKETING_VAR_DIR=str(tmp_path))
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_production_database_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("x" * 60)  # a key kept for the embedded run is not production's
    env = clean_env(DATABASE_URL="postgres://smk@db.internal:5432/smarketing", SMARKETING_VAR_DIR=str(tmp_path))
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DEBUG is off: set SECRET_KEY to a long random value (it is not set)." in result.stderr


WEAK_KEYS = {
    "short": ("a1B2-c3D4_e5F6" * 3, "it is 42 characters long, fewer than 50"),
    "low variety": ("abcd" * 20, "it has 4 different characters, fewer than 5"),
    "django-insecure": ("django-insecure-" + secrets.token_urlsafe(50), "starts with 'django-insecure-'"),
    "the example's placeholder": ("change-me-to-50-random-characters", ".env.example's placeholder"),
    "the example's placeholder made long": ("change-me-" + secrets.token_urlsafe(50), ".env.example's placeholder"),
}


@pytest.mark.parametrize("name", list(WEAK_KEYS))
def test_debug_off_refuses_a_key_check_deploy_would_flag(name: str, tmp_path: Path) -> None:
    key, why = WEAK_KEYS[name]
    result = run_python(["manage.py", "check"], clean_env(DEBUG="0", SECRET_KEY=key, SMARKETING_VAR_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "DEBUG is off: set SECRET_KEY to a long random value" in result.stderr
    assert why in result.stderr
    # The message says how to make a good one.
    assert 'python -c "import secrets; print(secrets.token_urlsafe(50))"' in result.stderr


def test_debug_off_accepts_a_random_key_and_so_does_check_deploy(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(50)
    env = clean_env(DEBUG="0", SECRET_KEY=key, ALLOWED_HOSTS="example.com", SMARKETING_VAR_DIR=str(tmp_path))
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        settings_with(["SECRET_KEY"], **{k: v for k, v in env.items() if k in ("DEBUG", "SECRET_KEY")})["SECRET_KEY"]
        == key
    )


def test_development_takes_any_key(tmp_path: Path) -> None:
    values = settings_with(["SECRET_KEY"], DEBUG="1", SECRET_KEY="short", SMARKETING_VAR_DIR=str(tmp_path))
    assert values["SECRET_KEY"] == "short"


def test_no_environment_means_the_embedded_defaults(tmp_path: Path) -> None:
    values = settings_with(
        ["DEBUG", "DATABASES", "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS", "CACHES"],
        SMARKETING_VAR_DIR=str(tmp_path),
    )
    assert values["DEBUG"] is False
    db = values["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "smarketing.sqlite3")
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    folders = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert {key: value for key, value in folders.items() if "folder" in key} == {
        "data_folder_in": str(tmp_path / "broker" / "queue"),
        "data_folder_out": str(tmp_path / "broker" / "queue"),
        "processed_folder": str(tmp_path / "broker" / "processed"),
        "control_folder": str(tmp_path / "broker" / "control"),
    }
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_embedded_run_serves_plain_http_on_the_loopback(tmp_path: Path) -> None:
    names = ["DEBUG", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"]
    values = settings_with(names, SMARKETING_VAR_DIR=str(tmp_path))
    assert values["DEBUG"] is False
    assert {"127.0.0.1", "localhost"} <= set(values["ALLOWED_HOSTS"])
    # `make run` is http://127.0.0.1: no redirect to https, and cookies a browser sends back over http.
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False


def test_the_embedded_secret_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    first = settings_with(["SECRET_KEY"], SMARKETING_VAR_DIR=str(tmp_path))["SECRET_KEY"]
    kept = tmp_path / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text().strip() == first
    assert first != settings.DEFAULT_SECRET_KEY
    assert len(first) >= 50 and len(set(first)) >= 5  # what `check --deploy` asks of a key

    assert settings_with(["SECRET_KEY"], SMARKETING_VAR_DIR=str(tmp_path))["SECRET_KEY"] == first
    assert settings_with(["SECRET_KEY"], DEBUG="0", SMARKETING_VAR_DIR=str(tmp_path))["SECRET_KEY"] == first
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # no draft left behind


def test_debug_stays_an_opt_in_for_development(tmp_path: Path) -> None:
    values = settings_with(["DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT"], DEBUG="1", SMARKETING_VAR_DIR=str(tmp_path))
    assert values["DEBUG"] is True
    assert values["SECRET_KEY"] == settings.DEFAULT_SECRET_KEY
    assert values["SECURE_SSL_REDIRECT"] is False  # Django's own default: no production hardening
    assert not (tmp_path / "secret_key").exists()


def test_sqlite_path_moves_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.sqlite3"
    values = settings_with(["DATABASES"], SQLITE_PATH=str(path), SMARKETING_VAR_DIR=str(tmp_path))
    assert values["DATABASES"]["default"]["NAME"] == str(path)


def test_database_broker_and_cache_urls_are_read_from_the_environment() -> None:
    values = settings_with(
        ["DATABASES", "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS", "CACHES"],
        DATABASE_URL="postgres://smk:s3cret@db.internal:6543/smarketing",
        CELERY_BROKER_URL="redis://queue.internal:6379/0",
        REDIS_URL="redis://cache.internal:6379/1",
        SECRET_KEY=secrets.token_urlsafe(50),  # production, which must bring its own key
    )
    db = values["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "smarketing",
        "smk",
        "s3cret",
        "db.internal",
        6543,
    )
    assert db["CONN_MAX_AGE"] == 60
    assert values["CELERY_BROKER_URL"] == "redis://queue.internal:6379/0"
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"] is None  # the filesystem folders are for the embedded broker
    cache = values["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://cache.internal:6379/1"


def test_production_variables_turn_on_the_secure_defaults() -> None:
    values = settings_with(
        ["DEBUG", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "STORAGES"],
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com, www.example.com",
    )
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["example.com", "www.example.com"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.mark.parametrize(
    "values",
    [
        {"JOB_LEASE_SECONDS": "600", "JOB_STALL_SECONDS": "300"},  # the lease would outlive any stall
        {"JOB_LEASE_SECONDS": "0"},
        {"JOB_SEND_AGAIN_SECONDS": "3600", "JOB_SEND_AGAIN_MAX_SECONDS": "60"},
    ],
)
def test_job_timings_that_contradict_each_other_refuse_to_start(values: dict[str, str], tmp_path: Path) -> None:
    result = run_python(["manage.py", "check"], clean_env(DEBUG="1", SMARKETING_VAR_DIR=str(tmp_path), **values))
    assert result.returncode != 0
    assert "JOB_STALL_SECONDS must be longer than JOB_LEASE_SECONDS" in result.stderr


def test_job_timings_may_send_again_at_every_sweep(tmp_path: Path) -> None:
    found = settings_with(
        ["JOB_SEND_AGAIN_SECONDS", "JOB_STALL_SECONDS"],
        DEBUG="1",
        SMARKETING_VAR_DIR=str(tmp_path),
        JOB_SEND_AGAIN_SECONDS="0",
        JOB_STALL_SECONDS="120",
    )
    assert found == {"JOB_SEND_AGAIN_SECONDS": 0, "JOB_STALL_SECONDS": 120}
