"""In-app notifications for the sales side, and their email digest.

Notifications are written in bulk inside the transaction that caused them (a handoff, the
speed-to-lead job); after commit one task per batch emails each recipient a digest of what
they have not been emailed yet. The task claims rows with a conditional update, so running
it twice sends nothing twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from leads.models import Notification
from leads.sales import sql as sales_sql
from smarketing.lib import sql
from smarketing.lib.tasks import task_send_on_commit

DIGEST_LINES = 20


MARKER = 987654321  # an id no lead has, replaced in the reversed URL


@dataclass(frozen=True)
class Note:
    user_id: int
    text: str
    url: str = ""


@cache
def _lead_url_pattern() -> str:
    return reverse("leads:detail", args=[MARKER])


def lead_url(lead_id: int) -> str:
    # Reversing once and substituting keeps bulk notification cheap (no resolver per row).
    return _lead_url_pattern().replace(str(MARKER), str(lead_id))


def lead_url_parts() -> dict[str, str]:
    """What goes before and after the id in the lead page's URL, as `sales_sql.lead_url` names them."""
    prefix, suffix = _lead_url_pattern().split(str(MARKER))
    return {"url_prefix": prefix, "url_suffix": suffix}


def notify_select(*, select: str, params: dict[str, Any], with_: str = "") -> int:
    """Store the notifications a SELECT of (user_id, text, url, created_at) rows yields, in one
    INSERT … SELECT (no row passes through Python), and email them once the transaction commits.

    `with_` is a WITH clause the SELECT reads; `params` hold the values both name.
    """
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(sales_sql.notify(select, with_), **params))
        recipients = [row[0] for row in cursor.fetchall()]
    user_ids = sorted(set(recipients))
    if user_ids:
        task_send_on_commit("sales.notifications_email", user_ids)
    return len(recipients)


def notify(*, notes: Iterable[Note]) -> int:
    """Store notifications and email them once the transaction commits."""
    rows = [Notification(user_id=n.user_id, text=n.text[:300], url=n.url) for n in notes if n.user_id]
    if not rows:
        return 0
    Notification.objects.bulk_create(rows, batch_size=1_000)
    user_ids = sorted({row.user_id for row in rows})
    task_send_on_commit("sales.notifications_email", user_ids)
    return len(rows)


def notifications_email(*, user_ids: Iterable[int]) -> int:
    """Email each user a digest of their not-yet-emailed notifications; returns emails sent."""
    sent = 0
    users = get_user_model().objects.filter(pk__in=list(user_ids), is_active=True).exclude(email="")
    for user in users:
        sent += _email_one(user)
    return sent


def _email_one(user: object) -> int:
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(user=user, emailed_at__isnull=True)
            .order_by("-created_at", "-id")
            .values_list("id", "text")
        )
        if not pending:
            return 0
        # The conditional update is the claim: a second run finds nothing left to send.
        claimed = Notification.objects.filter(pk__in=[pk for pk, _ in pending], emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            return 0
        lines = [f"- {text}" for _, text in pending[:DIGEST_LINES]]
        if len(pending) > DIGEST_LINES:
            lines.append(f"… and {len(pending) - DIGEST_LINES} more in the app.")
        subject = pending[0][1] if len(pending) == 1 else f"{len(pending)} updates on your leads"
        send_mail(subject[:150], "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [user.email])
    return 1


def notifications_for(user: object, *, unread_only: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(user=user)
    return rows.filter(read_at__isnull=True) if unread_only else rows


def notifications_unread_count(user: object) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_mark_read(*, user: object, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications (all, or the given ones) read; others' are never touched."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
