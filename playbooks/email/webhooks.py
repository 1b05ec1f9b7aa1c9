"""The email service's webhooks (django-anymail, mounted at /email/webhooks/<service>/): a hard
bounce or a complaint suppresses the address for good. Anymail reports them as its `tracking`
signal, the library's own interface; the app connects this receiver when it starts."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from anymail.signals import AnymailTrackingEvent
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern

from playbooks.email.services import address_suppress
from playbooks.models import Suppression

SUPPRESSING = {"bounced": Suppression.Reason.BOUNCED, "complained": Suppression.Reason.COMPLAINED}


def tracking_received(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    reason = SUPPRESSING.get(event.event_type)
    if reason and event.recipient:
        address_suppress(
            email=event.recipient, reason=reason, detail=f"{esp_name}: {event.description or event.reject_reason or ''}"
        )


def _secret_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET"):
            raise Http404("Email webhooks are off until ANYMAIL_WEBHOOK_SECRET is set.")
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as missing:  # another service's key or package: not ours
            raise Http404("This email service is not set up here.") from missing

    return guarded


def webhook_urls() -> list[URLPattern]:
    """anymail's webhook URLs, each answering 404 until ANYMAIL_WEBHOOK_SECRET is set: without
    a secret anymail would accept anyone's posts (and anyone could suppress any address). A
    service whose own settings (a signing key, an extra package) are missing answers 404 too,
    not a server error."""
    return [URLPattern(p.pattern, _secret_required(p.callback), name=p.name) for p in anymail_urls.urlpatterns]
