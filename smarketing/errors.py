"""The error pages: the product's own look for people, JSON for the API.

Django calls these for a refusal or a crash that no view answered (`handler400` … in urls.py,
CSRF_FAILURE_VIEW in settings). Under /api/ a client gets `{"detail": …}`, the shape DRF gives
its own errors; elsewhere a person gets a page in the product's layout. The 500 page renders
from a template that needs no request, session or database: when the server is broken, they may be.

A refusal's reason (the PermissionDenied message, why a CSRF check failed) is kept on the request
for the one line RefusalLogMiddleware logs about it.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults

API_PREFIX = "/api/"


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
    if is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's own, which renders templates/403_csrf.html; the reason goes to the log."""
    request.refusal_reason = reason
    return csrf.csrf_failure(request, reason=reason)
