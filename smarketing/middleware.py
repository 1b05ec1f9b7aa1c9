"""Middleware of the project's own."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


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
