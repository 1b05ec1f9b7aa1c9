"""Small helpers that read settings from environment variables."""

import os
import secrets
import tempfile
from pathlib import Path

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)

TRUE_WORDS = {"1", "true", "yes", "on"}
# `.env.example` says SECRET_KEY=change-me-…: copied as it is, it must not pass.
PLACEHOLDER_PREFIX = "change-me"


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_given(name: str) -> bool:
    """Whether the variable is set to something: an empty value counts as unset, as in env_bool."""
    return os.environ.get(name, "") != ""


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in TRUE_WORDS


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_from_file(path: Path, *, create: bool) -> str | None:
    """The secret kept in `path`, made (random, mode 0600) when missing and `create` allows it.

    Web, worker and beat may start at the same moment: the secret is written whole to a file of
    its own and linked into place, which fails if another process got there first, so every
    process reads the one secret that won and nobody reads a half-written file.
    """
    if not path.exists() and create:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
        try:
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_urlsafe(50))
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip() if path.exists() else None


def secret_key_problem(key: str, *, default: str) -> str:
    """What is wrong with `key` as a production secret, or "" if nothing is.

    The same rules as Django's `check --deploy` (security.W009: 50 characters or more, 5 or more
    different ones, not "django-insecure-…"), plus the built-in development key and the
    placeholder `.env.example` ships with.
    """
    if not key:
        return "it is not set"
    if key == default:
        return "it is the built-in development key"
    if key.startswith(PLACEHOLDER_PREFIX):
        return f"it is .env.example's placeholder, {PLACEHOLDER_PREFIX}…"
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"it starts with {SECRET_KEY_INSECURE_PREFIX!r}, Django's mark of a development key"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it is {len(key)} characters long, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"it has {len(set(key))} different characters, fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
    return ""
