"""The error pages: the product's own look for people, JSON for the API.

Django calls these for a refusal or a crash that no view answered (`handler400` … in urls.py,
CSRF_FAILURE_VIEW in settings). Under /api/ a client gets `{"detail": …}`, the shape DRF gives
its own errors; elsewhere a person gets a page in the product's layout. The 500 page renders
from a template that needs no request, session or database: when the server is broken, they may be.

When the database cannot be reached (stopped, restarting, its connection dropped mid-request), a
person gets the 503 page and a client `{"detail": …}` with status 503, both with Retry-After:
DatabaseUnavailableMiddleware answers for a view, and server_error for a middleware that failed
on the database (a session saved on the way out). The page, like the 500, touches no database.

A refusal's reason (the PermissionDenied message, why a CSRF check failed) is kept on the request
for the one line RefusalLogMiddleware logs about it.
"""

import sys

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import csrf, defaults

API_PREFIX = "/api/"
# A restart of PostgreSQL takes seconds; clients that honour the header come back after it.
RETRY_AFTER_SECONDS = 15
# What the driver raises when the database is away or its connection broke: OperationalError
# (refused, terminated, timed out, locked) and InterfaceError (a connection already closed).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: PermissionDenied) -> HttpResponse:
    request.refusal_reason = str(exception)
    if is_api(request):
        return JsonResponse({"detail": str(exception) or "You may not do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its `except` for the exception no middleware answered.
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    if is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's own, which renders templates/403_csrf.html; the reason goes to the log."""
    request.refusal_reason = reason
    return csrf.csrf_failure(request, reason=reason)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After; the page renders without a request, so no context processor, session
    or user is read (each would ask the database that is not there)."""
    if is_api(request):
        response = JsonResponse({"detail": "The database is unavailable; try again shortly."}, status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
