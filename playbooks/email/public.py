"""What a recipient reaches from a message, without logging in: the open pixel, click redirects
and the unsubscribe page (also the target of a mail client's RFC 8058 one-click POST). The
signed token is the authority; a changed one gets a 400 and no redirect."""

import base64

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from playbooks.email import services
from playbooks.email.tracking import BadToken

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _refused(request: HttpRequest, error: BadToken) -> HttpResponse:
    return render(request, "playbooks/email/link_refused.html", {"message": str(error)}, status=400)


@never_cache
@require_GET
def email_open(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.email_opened(token=token)
    except BadToken as error:
        return _refused(request, error)
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def email_click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = services.email_clicked(token=token)
    except BadToken as error:
        return _refused(request, error)
    return HttpResponseRedirect(target)


# A mail client's one-click unsubscribe POSTs without a CSRF token (RFC 8058); the signed token
# in the URL is what authorises it.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        lead = services.unsubscribe_target(token=token)
        if request.method == "POST" and lead is not None:
            services.unsubscribe_lead(token=token)
            lead.refresh_from_db()
    except BadToken as error:
        return _refused(request, error)
    return render(request, "playbooks/email/unsubscribe.html", {"lead": lead, "done": request.method == "POST"})
