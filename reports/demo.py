"""The demo's weekly meeting packs (settings.DEMO_EXTENSIONS): the last two whole weeks' packs,
built by the real service at the moment beat would have built them (the Monday after, at
MEETING_PACK_HOUR), with the ROI rollups brought up to date first as beat keeps them, and mailed
to the managers' outbox; and the first meeting's action items, one of them closed during the
next week and the other carried into the second pack.

Two builds, a rollup update and a handful of rows: the seed's time hardly moves.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from leads.demo.clock import at
from leads.demo.journeys import Touch
from leads.demo.world import World
from playbooks.email import services as email
from playbooks.models import OutboundEmail
from reports.attribution.services import rollups_update
from reports.pack import services as packs
from reports.pack.models import ActionItem
from reports.pack.selectors import week_monday
from smarketing.lib.logs import quieter

WEEKS = 2
ACTIONS = [
    ("marketer", "Look into why the webinar's MQLs were rejected as no budget; bring examples"),
    ("manager", "Agree next month's MQL target with both teams"),
]


class ReportsDemo:
    def __init__(self, *, world: World, seed: int, end: datetime) -> None:
        self.users = world.users
        self.builds = _build_moments(end)
        self.opened: list[ActionItem] = []

    def touch(self, email: str, touch: Touch) -> bool:
        return False  # nobody answers a meeting pack

    def evening(self, moment: datetime) -> None:
        """Beat's Monday-morning build, run the evening before (the demo's days end with the
        evening; nothing happens between it and 08:00)."""
        for number, (monday, build_at) in enumerate(self.builds):
            if moment < build_at <= moment + timedelta(days=1):
                self._meeting(number, monday, build_at)

    def _meeting(self, number: int, monday: datetime, build_at: datetime) -> None:
        if number > 0 and self.opened:  # done during the week before this build
            with at(build_at - timedelta(days=5)):
                packs.action_item_close(item=self.opened[-1], by=self.users["manager"])
        with at(build_at):
            rollups_update(now=build_at)  # what beat keeps current every few seconds: the ROI's credits
            pack = packs.meeting_pack_build(monday=monday.date())
            queued = OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED, lead__isnull=True)
            with quieter("playbooks.email.backends"):  # the embedded backend's line per message
                email.outbox_send_many(email_ids=list(queued.values_list("pk", flat=True)))  # the demo is its worker
        if number == 0:
            with at(build_at + timedelta(hours=1)):  # the meeting, an hour after the pack arrives
                self.opened = [
                    packs.action_item_add(
                        monday=pack.week_start,
                        text=text,
                        owner=self.users[owner],
                        due=(build_at + timedelta(days=4)).date(),
                        by=self.users["manager"],
                    )
                    for owner, text in ACTIONS
                ]


def _build_moments(end: datetime) -> list[tuple[datetime, datetime]]:
    """The last WEEKS whole weeks whose pack beat would have built by `end`: (Monday, build moment)."""
    hour = time(settings.MEETING_PACK_HOUR)
    weekday = settings.DAY_NAMES.index(settings.MEETING_PACK_DAY)
    this_week = week_monday(timezone.localdate(end))
    moments = []
    for back in range(1, WEEKS + 3):
        monday = this_week - timedelta(weeks=back)
        build_day = monday + timedelta(weeks=1, days=weekday)
        build_at = timezone.make_aware(datetime.combine(build_day, hour))
        if build_at <= end:
            moments.append((timezone.make_aware(datetime.combine(monday, time())), build_at))
    return sorted(moments[:WEEKS])
