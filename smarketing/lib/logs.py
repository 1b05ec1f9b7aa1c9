"""Logging pieces that settings' LOGGING names: a refusal is one line, a crash keeps its traceback."""

import logging


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
