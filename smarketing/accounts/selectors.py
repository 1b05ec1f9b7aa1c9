"""Reads of axes' rows: the lockouts in force, when one ends, and the latest failed logins."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

FAILURES_SHOWN = 100


@dataclass(frozen=True)
class Lockout:
    """One locked key: a username from one address by default (LOGIN_LOCKOUT_BY), so either
    may be None when the key holds only the other."""

    fields: tuple[str, ...]
    username: str | None
    ip_address: str | None
    failures: int
    last_failure: datetime
    until: datetime


def lockout_keys() -> list[list[str]]:
    """What a lockout is counted by: each item the fields of one key (settings' AXES_LOCKOUT_PARAMETERS)."""
    return [[key] if isinstance(key, str) else list(key) for key in settings.AXES_LOCKOUT_PARAMETERS]


def cool_off() -> timedelta:
    return get_cool_off()


def lockouts_in_force(*, now: datetime | None = None) -> list[Lockout]:
    """Every key whose failures within the cool-off reach the limit, as axes counts them
    (the sum over its rows, one per user agent), the latest first."""
    now = now or timezone.now()
    found = []
    for fields in lockout_keys():
        rows = (
            AccessAttempt.objects.filter(attempt_time__gte=now - cool_off())
            .values(*fields)
            .annotate(failures=Sum("failures_since_start"), last_failure=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
            .order_by()
        )
        found += [
            Lockout(
                fields=tuple(fields),
                username=row.get("username"),
                ip_address=row.get("ip_address"),
                failures=row["failures"],
                last_failure=row["last_failure"],
                until=row["last_failure"] + cool_off(),
            )
            for row in rows
        ]
    return sorted(found, key=lambda lockout: lockout.last_failure, reverse=True)


def lockout_until(*, username: str | None, ip_address: str | None) -> datetime | None:
    """When the lockout of this username from this address ends; None when none is in force."""
    values = {"username": username, "ip_address": ip_address}
    ends = [
        lockout.until
        for lockout in lockouts_in_force()
        if all(getattr(lockout, field) == values[field] for field in lockout.fields)
    ]
    return max(ends, default=None)


def failed_logins() -> QuerySet[AccessFailureLog]:
    """The latest failed logins, newest first (axes keeps up to 1,000 per username)."""
    return AccessFailureLog.objects.only(
        "username", "ip_address", "user_agent", "path_info", "attempt_time", "locked_out"
    ).order_by("-attempt_time", "-id")[:FAILURES_SHOWN]
