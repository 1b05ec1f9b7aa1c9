"""Small helpers that read settings from environment variables."""

import os
import secrets
import tempfile
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}


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
