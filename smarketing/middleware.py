"""Middleware of the project's own."""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from smarketing.errors import DATABASE_UNAVAILABLE, database_unavailable

refusals = logging.getLogger("smarketing.refusals")
database_log = logging.getLogger("smarketing.database")


class ServerTimingMiddleware:
    """Add `Server-Timing: app;dur=<ms>`: the time from the request entering Django's
    middleware stack to the response leaving it.

    First in MIDDLEWARE, so every other middleware, the view and its queries count; what
    the WSGI server and the network add does not. Browsers' dev tools and load tests read
    the header, which tells the application's own time apart from queueing in front of it.
    A streaming response is timed to its first byte, not its last.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        metric = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        earlier = response.headers.get("Server-Timing")  # a view's own metrics are kept
        response.headers["Server-Timing"] = f"{earlier}, {metric}" if earlier else metric
        return response


class RefusalLogMiddleware:
    """Log every refused request (a 4xx) as one line: method, path, status, user id, and the
    reason when the refusal gave one (`request.refusal_reason`, set by smarketing.errors).

    Django's own logger writes a traceback for each PermissionDenied or BadRequest; settings'
    LOGGING drops its records below 500, so this line is the only one, and a real 500 still logs
    its traceback there. Second in MIDDLEWARE, so refusals by the other middleware (a bad Host
    header, a failed CSRF check) are seen too. The path is logged without its query string,
    which may carry what people typed (a search for an email address).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if 400 <= response.status_code < 500:
            refusals.warning("%s", refusal_line(request, response))
        return response


def refusal_line(request: HttpRequest, response: HttpResponse) -> str:
    user = getattr(request, "user", None)  # missing when a middleware before AuthenticationMiddleware refused
    user_id = user.pk if user is not None and user.is_authenticated else "-"
    line = f"{request.method} {request.path} {response.status_code} user={user_id}"
    reason = getattr(request, "refusal_reason", "")
    return f"{line}: {reason}" if reason else line


class DatabaseUnavailableMiddleware:
    """Answer 503 (the page, or JSON under /api/) when a view finds the database unreachable.

    Without it such a request would be a 500, which says the code is wrong and asks nobody to
    retry. The broken connection needs nothing more here: at the end of the request Django closes
    a connection that had an error and no longer answers, and with CONN_HEALTH_CHECKS a kept one
    is tested before reuse, so the first request after the database is back succeeds. A failure
    in a middleware rather than a view reaches smarketing.errors.server_error, which answers the same.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        reason = str(exception).strip().splitlines()[0] if str(exception).strip() else type(exception).__name__
        database_log.warning("%s %s 503: database unavailable: %s", request.method, request.path, reason)
        return database_unavailable(request)
