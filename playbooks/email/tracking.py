"""Signed links in sent email: the open pixel, click redirects and the unsubscribe link.

Each token carries what it acts on (the message, and for a click its target), signed with the
instance's secret: a changed token fails its signature and is refused with a 400, so the click
endpoint can only ever redirect to a link that was in the message (no open redirect).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

OPEN, CLICK, UNSUBSCRIBE = "playbooks.email.open", "playbooks.email.click", "playbooks.email.unsubscribe"


class BadToken(Exception):
    """A token that was changed, truncated or made for another purpose."""


@dataclass(frozen=True)
class Click:
    email_id: int
    url: str


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def open_url(email_id: int) -> str:
    token = signing.dumps({"e": email_id}, salt=OPEN)
    return _absolute(reverse("email:open", args=[token]))


def click_url(email_id: int, target: str) -> str:
    token = signing.dumps({"e": email_id, "u": target}, salt=CLICK, compress=True)
    return _absolute(reverse("email:click", args=[token]))


def unsubscribe_url(lead_id: int, email_id: int | None = None) -> str:
    token = signing.dumps({"l": lead_id, "e": email_id}, salt=UNSUBSCRIBE)
    return _absolute(reverse("email:unsubscribe", args=[token]))


def _loads(token: str, salt: str) -> dict:
    try:
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature as refused:
        raise BadToken("This link is not valid: it was changed or cut short.") from refused
    if not isinstance(payload, dict):
        raise BadToken("This link is not valid.")
    return payload


def opened(token: str) -> int:
    payload = _loads(token, OPEN)
    if not isinstance(payload.get("e"), int):
        raise BadToken("This link is not valid.")
    return payload["e"]


def clicked(token: str) -> Click:
    payload = _loads(token, CLICK)
    email_id, url = payload.get("e"), payload.get("u")
    if not isinstance(email_id, int) or not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise BadToken("This link is not valid.")
    return Click(email_id, url)


def unsubscribing(token: str) -> tuple[int, int | None]:
    payload = _loads(token, UNSUBSCRIBE)
    lead_id, email_id = payload.get("l"), payload.get("e")
    if not isinstance(lead_id, int) or not (email_id is None or isinstance(email_id, int)):
        raise BadToken("This link is not valid.")
    return lead_id, email_id
