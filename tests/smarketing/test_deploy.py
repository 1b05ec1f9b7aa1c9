"""The production setup: Django's deploy checks, docker-compose.yml and the Dockerfile.

There is no Docker engine in the test environment, so the compose file is read as data: every
service is there and healthy-gated, its command names modules that import, and the environment
it gives the app (with the defaults filled in as compose would) makes settings pass the checks.
"""

import importlib
import re
import secrets
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery.utils.imports import symbol_by_name
from django.conf import settings

from tests.smarketing.test_settings import clean_env, run_python, settings_with

REPO = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_ENV = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
VARIABLE = re.compile(r"(?<!\$)\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def production_env(**values: str) -> dict[str, str]:
    defaults = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "example.com"}
    return clean_env(**{**defaults, **values})


def interpolate(value: str, env: dict[str, str]) -> str:
    """Fill in ${...} as docker compose does from its `.env` file."""

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.groups()
        given = env.get(name)
        if given is not None and (given or not (operator or "").startswith(":")):
            return given
        if operator and operator.endswith("?"):
            raise KeyError(f"{name}: {argument}")
        return argument or ""

    return VARIABLE.sub(substitute, value).replace("$$", "$")


def command(service: dict[str, Any]) -> list[str]:
    value = service["command"]
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dot_env() -> dict[str, str]:
    """What an operator puts in `.env`: only the two values that have no default."""
    return {"SECRET_KEY": secrets.token_urlsafe(50), "POSTGRES_PASSWORD": "pg" + secrets.token_hex(8)}


def app_env(compose: dict[str, Any], name: str, dot_env: dict[str, str]) -> dict[str, str]:
    environment = compose["services"][name]["environment"]
    return {key: interpolate(str(value), dot_env) for key, value in environment.items()}


def test_deploy_checks_are_clean_under_production_variables() -> None:
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_short_secret_key_stops_the_deploy_checks_before_they_run() -> None:
    # What security.W009 would warn about, settings refuse outright when DEBUG is off.
    env = production_env(SECRET_KEY="short-but-not-the-default")
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "set SECRET_KEY to a long random value (it is 25 characters long, fewer than 50)" in result.stderr


def test_the_deploy_checks_flag_a_short_secret_key_in_development_too() -> None:
    # DEBUG=1 takes any key, and `check --deploy` still names the weak one (and DEBUG itself).
    env = production_env(DEBUG="1", SECRET_KEY="short-but-not-the-default")
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_the_image_builds_its_static_files_with_a_key_settings_accept() -> None:
    line = next(line for line in (REPO / "Dockerfile").read_text().splitlines() if "collectstatic" in line)
    # The throwaway key is made in the build step itself: a random one, as production's must be.
    assert "secrets.token_urlsafe(50)" in line


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in APP_SERVICES:
        assert services[name]["build"] == "."


def test_every_service_is_health_checked_or_waits_for_healthy_servers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
    assert services["web"]["healthcheck"]["test"]
    assert services["worker"]["healthcheck"]["test"]


def test_web_health_check_is_valid_python(compose: dict[str, Any]) -> None:
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")


def test_migrations_run_once_before_the_app_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert command(services["migrate"]) == ["python", "manage.py", "migrate", "--noinput"]
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_web_runs_gunicorn_on_the_wsgi_module(compose: dict[str, Any]) -> None:
    args = command(compose["services"]["web"])
    assert args[0] == "gunicorn"
    assert "smarketing.wsgi" in args
    assert "0.0.0.0:8000" in args
    assert callable(importlib.import_module("smarketing.wsgi").application)


def test_worker_and_beat_run_the_celery_app(compose: dict[str, Any]) -> None:
    worker = command(compose["services"]["worker"])
    beat = command(compose["services"]["beat"])
    assert worker[:4] == ["celery", "-A", "smarketing", "worker"]
    assert beat[:4] == ["celery", "-A", "smarketing", "beat"]
    scheduler = next(arg.split("=", 1)[1] for arg in beat if arg.startswith("--scheduler="))
    assert scheduler == settings.CELERY_BEAT_SCHEDULER
    assert symbol_by_name(scheduler).__name__ == "DatabaseScheduler"
    app = importlib.import_module("smarketing.celery").app
    assert app.main == "smarketing"
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert "jobs.set_owner" in app.tasks


def test_app_services_get_the_production_environment(compose: dict[str, Any], dot_env: dict[str, str]) -> None:
    for name in (*APP_SERVICES, "migrate"):
        env = app_env(compose, name, dot_env)
        assert set(REQUIRED_ENV) <= set(env), name
        assert env["DEBUG"] == "0"
        assert env["SECRET_KEY"] == dot_env["SECRET_KEY"]
        assert env["DATABASE_URL"] == f"postgres://smarketing:{dot_env['POSTGRES_PASSWORD']}@postgres:5432/smarketing"
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert env["REDIS_URL"].startswith("redis://redis:6379/")
        assert env["CELERY_BROKER_URL"] != env["REDIS_URL"]


def test_compose_refuses_to_start_without_a_secret_key(compose: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="SECRET_KEY"):
        app_env(compose, "web", {"POSTGRES_PASSWORD": "pw"})


def test_compose_environment_passes_the_deploy_checks(compose: dict[str, Any], dot_env: dict[str, str]) -> None:
    env = production_env(**app_env(compose, "web", dot_env))
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr

    values = settings_with(["DATABASES", "CELERY_BROKER_URL", "CACHES", "DEBUG"], **app_env(compose, "web", dot_env))
    assert values["DEBUG"] is False
    db = values["DATABASES"]["default"]
    assert (db["ENGINE"], db["HOST"], db["NAME"]) == ("django.db.backends.postgresql", "postgres", "smarketing")
    assert values["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert values["CACHES"]["default"]["LOCATION"] == "redis://redis:6379/1"


def test_postgres_gets_the_same_credentials_as_the_app(compose: dict[str, Any], dot_env: dict[str, str]) -> None:
    env = app_env(compose, "postgres", dot_env)
    url = app_env(compose, "web", dot_env)["DATABASE_URL"]
    assert url == f"postgres://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/{env['POSTGRES_DB']}"


def test_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    assert {"postgres-data", "redis-data", "media"} <= set(compose["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "media:/app/var/media" in compose["services"]["web"]["volumes"]


def test_dockerfile_builds_a_slim_image_run_by_a_user_of_its_own() -> None:
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "RUN pip install -r requirements.txt" in instructions
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    collectstatic = next(line for line in instructions if "collectstatic" in line)
    assert "DEBUG=0" in collectstatic
    assert "SECRET_KEY=" in collectstatic
    # collectstatic runs after the code is in and as the app's user, so it owns what it writes.
    assert instructions.index(collectstatic) > instructions.index(f"USER {users[-1]}")
    assert any(line.startswith("CMD") and "smarketing.wsgi" in line for line in instructions)


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "var", "staticfiles"} <= ignored
    for needed in ("requirements.txt", "manage.py", "smarketing", "templates", "static"):
        assert needed not in ignored
