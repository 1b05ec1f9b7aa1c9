"""Writes for the weekly meeting pack: building a week's snapshot (and mailing it to managers once),
and the meeting's action items (open, assign, close).

Building is idempotent: one row per week (unique), updated in place when the week is built again,
so beat, a retry and `manage.py meeting_pack_build` may all run it, at the same time too. The email
goes once per week: the pack's `emailed_at` is claimed with a conditional update in the same
transaction that writes the outbox rows. A weekly build lost with a killed worker is made up
by beat's hourly catch-up (`meeting_pack_catch_up`).
"""

import re
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from playbooks.email.services import colleagues_email_queue
from reports.pack.models import ActionItem, MeetingPack
from reports.pack.selectors import last_week, pack_due_at, pack_figures, person_name, week_monday
from smarketing.roles import Role, has_role

TEXT_LIMIT = ActionItem._meta.get_field("text").max_length


def meeting_pack_build(*, monday: date, now: datetime | None = None, email: bool = True) -> MeetingPack:
    """Build (or build again) the week starting `monday`; mail it to managers if it has not been."""
    now = now or timezone.now()
    figures = pack_figures(monday=monday, now=now)
    with transaction.atomic():
        pack, _ = MeetingPack.objects.update_or_create(
            week_start=monday, defaults={"figures": figures, "built_at": now}
        )
        if email:
            meeting_pack_email(pack=pack, now=now)
    return pack


def meeting_pack_catch_up(*, now: datetime | None = None) -> MeetingPack | None:
    """Beat, hourly: build and mail last week's pack when its time this week has passed and it
    has not been mailed yet, so a weekly run lost with its worker or its broker message is made
    up within the hour rather than a week later."""
    now = now or timezone.now()
    if now < pack_due_at(now):
        return None
    monday = last_week(now)
    if MeetingPack.objects.filter(week_start=monday, emailed_at__isnull=False).exists():
        return None
    return meeting_pack_build(monday=monday, now=now)


def meeting_pack_email(*, pack: MeetingPack, now: datetime | None = None) -> int:
    """Queue the pack to every manager with an address, once a week; how many were queued."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = MeetingPack.objects.filter(pk=pack.pk, emailed_at__isnull=True).update(emailed_at=now)
        if not claimed:  # another build mailed it already
            return 0
        pack.emailed_at = now
        to = list(managers_to_mail().values_list("email", flat=True))
        if to:
            html = render_to_string("reports/pack/email.html", pack_email_context(pack))
            colleagues_email_queue(
                to=to, subject=pack_subject(pack), html=html, text=_text(html), cause=f"Meeting pack {pack.week}"
            )
    return len(to)


def managers_to_mail() -> QuerySet:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return users.filter(Q(groups__name=Role.MANAGER.value) | Q(is_superuser=True)).distinct().order_by("pk")


def pack_subject(pack: MeetingPack) -> str:
    deals, agreement = pack.figures["deals"], pack.figures["agreement"]
    return (
        f"Meeting pack {pack.week}: {deals['won']} won, {deals['lost']} lost; "
        f"MQLs {agreement['mql_delivered']} of {agreement['mql_target']} this month"
    )


def pack_email_context(pack: MeetingPack) -> dict[str, Any]:
    site = settings.SITE_URL.rstrip("/")
    page = reverse("reports:meeting-pack", args=[pack.week])
    return {
        "pack": pack,
        "figures": pack.figures,
        "page_url": site + page,
        "csv_url": site + reverse("reports:meeting-pack-csv", args=[pack.week]),
    }


def _text(html: str) -> str:
    """The plain-text part: the HTML's words, a line per block, no runs of blank lines."""
    body = re.sub(r"(?is)<(head|style)\b.*?</\1>", "", html)
    body = re.sub(r'(?is)<a\b[^>]*href="([^"]+)"[^>]*>(.*?)</a>', r"\2 (\1)", body)  # keep the links
    body = re.sub(r"(?i)<br\s*/?>|</p>|</h\d>|</li>|</tr>", "\n", body)
    lines = [" ".join(line.split()) for line in strip_tags(body).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- Action items ----------------------------------------------------------------------------


def action_item_add(
    *, monday: date, text: str, owner: AbstractBaseUser | None, due: date | None, by: AbstractBaseUser
) -> ActionItem:
    """Open an item in the week starting `monday`; it shows in every later pack until closed."""
    text = " ".join((text or "").split())
    errors: dict[str, list[str]] = {}
    if not text:
        errors["text"] = ["Say what is to be done."]
    elif len(text) > TEXT_LIMIT:
        errors["text"] = [f"Use at most {TEXT_LIMIT} characters (this has {len(text)})."]
    if owner is not None and not may_own(owner):
        errors["owner"] = ["Choose a manager or a marketer: they are the ones who see the pack."]
    if errors:
        raise ValidationError(errors)
    return ActionItem.objects.create(
        text=text, owner=owner, due=due, opened_week=week_monday(monday), created_by=by, created_at=timezone.now()
    )


def action_item_assign(*, item: ActionItem, owner: AbstractBaseUser | None, by: AbstractBaseUser) -> ActionItem:
    if owner is not None and not may_own(owner):
        raise ValidationError({"owner": ["Choose a manager or a marketer: they are the ones who see the pack."]})
    if not item.is_open:
        raise ValidationError({"owner": ["This item is closed; reassigning it would change nothing."]})
    item.owner = owner
    item.save(update_fields=["owner"])
    return item


def action_item_close(*, item: ActionItem, by: AbstractBaseUser) -> ActionItem:
    """Close an open item; two people closing it at once close it once (the first one)."""
    closed = ActionItem.objects.filter(pk=item.pk, closed_at__isnull=True).update(
        closed_at=timezone.now(), closed_by=by
    )
    item.refresh_from_db()
    if not closed:
        when = timezone.localtime(item.closed_at)
        raise ValidationError(
            {"item": [f"Already closed by {person_name(item.closed_by) or 'someone'} on {when:%d %b %Y, %H:%M}."]}
        )
    return item


def may_own(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and has_role(user, Role.MANAGER, Role.MARKETING))
