"""The weekly meeting pack's Celery task, on beat (settings.MEETING_PACK_WEEKDAY and _HOUR)."""

from celery import shared_task

from reports.pack import services
from reports.pack.selectors import last_week


# Safe to run twice: the week's row is updated in place and the managers are mailed once.
@shared_task(name="reports.meeting_pack_build", acks_late=True)
def meeting_pack_build() -> str:
    """Build last week's pack (the week before the one beat runs in) and mail it to managers."""
    pack = services.meeting_pack_build(monday=last_week())
    return pack.week


@shared_task(name="reports.meeting_pack_catch_up", acks_late=True)
def meeting_pack_catch_up() -> str:
    """Beat, hourly: last week's pack, if its weekly build was lost (else nothing)."""
    pack = services.meeting_pack_catch_up()
    return pack.week if pack else ""
