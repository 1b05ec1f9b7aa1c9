"""Reads for marketing's email pages: templates and the outbox listed and filtered, the lead a
template is previewed for, and a sent message's HTML as it may be shown to staff."""

import re
from functools import cache
from html import escape

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from leads.models import Lead, normalize_email
from leads.selectors import leads_visible_to
from playbooks.email import tracking
from playbooks.models import EmailTemplate, OutboundEmail


def templates_list(*, search: str = "", kind: str = "") -> QuerySet[EmailTemplate]:
    """Templates by name, without their bodies (the list does not show them)."""
    rows = EmailTemplate.objects.defer("body")
    if search:
        rows = rows.filter(name__icontains=search)
    if kind:
        rows = rows.filter(kind=kind)
    return rows


def outbox_list(*, search: str = "", status: str = "", kind: str = "") -> QuerySet[OutboundEmail]:
    """Every message, newest first, with its template's name; the rendered message is left unread."""
    rows = OutboundEmail.objects.select_related("template").defer("html", "text", "template__body")
    if search:
        rows = rows.filter(to_email__icontains=search)
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")


def outbox_email(pk: int) -> OutboundEmail:
    return get_object_or_404(OutboundEmail.objects.select_related("lead", "template"), pk=pk)


def preview_lead(*, user: object, ref: str) -> Lead | None:
    """The lead named by its id or email address, or the newest lead when `ref` is empty;
    None when there is no such lead (or none at all)."""
    leads = leads_visible_to(user).order_by("-created_at", "-id")
    ref = ref.strip()
    if not ref:
        return leads.first()
    if ref.isdigit():
        return leads.filter(pk=int(ref)).first()
    return leads.filter(email=normalize_email(ref)).first()


@cache
def _tracked_links() -> tuple[re.Pattern, re.Pattern]:
    """The open pixel and the click links of a sent message, whatever host SITE_URL named when
    it was sent (read once the URLconf is loaded)."""
    opens = reverse("email:open", args=["-"]).removesuffix("-/")
    clicks = reverse("email:click", args=["-"]).removesuffix("-/")
    pixel = re.compile(rf"<img\b[^>]*\bsrc=([\"'])[^\"']*{re.escape(opens)}[^\"']*\1[^>]*>", re.IGNORECASE)
    click = re.compile(rf"([\"'])https?://[^\"'\s]*{re.escape(clicks)}([^\"'/\s]+)/?\1")
    return pixel, click


def outbox_html_untracked(email: OutboundEmail) -> str:
    """The message's HTML without its open pixel and with its links pointing at their targets:
    a person looking at it in the outbox must not count as the recipient opening or clicking it.

    1. Remove every image whose source is an open-tracking URL.
    2. Replace each click-tracking URL with the target its signed token carries (a token that
       does not verify is left as it is: it leads to the refusal page, recording nothing).
    """
    pixel, click = _tracked_links()
    html = pixel.sub("", email.html)

    def target(match: re.Match) -> str:
        try:
            url = tracking.clicked(match[2]).url
        except tracking.BadToken:
            return match[0]
        return f"{match[1]}{escape(url)}{match[1]}"

    return click.sub(target, html)
