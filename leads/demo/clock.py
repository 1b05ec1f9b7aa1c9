"""The demo's clock: the product's services run with the time set to each moment of the demo's
year, so every timestamp they write (and every "as of now" they evaluate) is that moment's."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import time_machine
from django.utils import timezone

# The demo's day: the reps work their queue at midday and at the close of business; the day's
# events arrive as one batch in the evening (after the reps' day, so the history never runs
# backwards), and the night's hand-offs follow.
MIDDAY, CLOSE_OF_BUSINESS, EVENING = time(13), time(19), time(23, 30)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Stop the clock at `moment` for the block (Python's clocks: the databases take the times
    the product passes them)."""
    with time_machine.travel(moment, tick=False):
        yield


def when(day: date, at_time: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at_time))


def last_overdue_evening(end: datetime, *, first_touch_within: timedelta) -> datetime:
    """The last evening whose hand-offs are past their first-touch deadline when the demo ends."""
    day = timezone.localdate(end)
    while when(day, EVENING) + first_touch_within >= end:
        day -= timedelta(days=1)
    return when(day, EVENING)
