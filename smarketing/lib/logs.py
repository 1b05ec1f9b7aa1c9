"""Logging pieces that settings' LOGGING names: a refusal is one line, a crash keeps its traceback."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class ServerErrorsOnly(logging.Filter):
    """On django.request and django.security.csrf: keep 5xx records only. Each 4xx is logged as
    one line, with its reason, by smarketing.middleware.RefusalLogMiddleware; Django's own record
    would add a second one, with a traceback for a PermissionDenied or a BadRequest."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", 500) >= 500


class RefusalFormatter(logging.Formatter):
    """Print a record about a refusal (its status below 500) without the traceback attached to it:
    django.security logs a bad Host header or an oversized upload with one, a 400 for bad input."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and getattr(record, "status_code", 500) < 500:
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)


@contextmanager
def quieter(logger: str) -> Iterator[None]:
    """Only warnings and worse from `logger` meanwhile (the demo's year of sends would print the
    embedded email backend's line for each message)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)
