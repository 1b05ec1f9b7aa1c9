"""Calendar periods in the instance's time zone: reports and agreements count by month."""

from datetime import date, datetime, timedelta

from django.utils import timezone


def month_first(day: date | None = None) -> date:
    """The first day of `day`'s month (today's, in the instance's zone, when not given)."""
    return (day or timezone.localdate()).replace(day=1)


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The month as [start, end) aware datetimes at local midnight."""
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(next_month(first), datetime.min.time()))
    return start, end


def month_start(now: datetime | None = None) -> datetime:
    """The moment this month began, in the instance's zone."""
    return month_bounds(month_first(timezone.localdate(now or timezone.now())))[0]
