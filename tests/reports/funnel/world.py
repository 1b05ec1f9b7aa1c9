"""Eight leads created in December, January and February whose funnel and velocity figures are
worked out by hand in the tests (all moves at 12:00 in the instance's zone, so every duration is
a whole number of days).

Each lead is created at stage lead unless said, and moved through leads.history with the clock
at the move's moment:

- A, created 5 Jan: mql 10 Jan, sql 12 Jan, opportunity 3 Feb, customer 13 Feb.
- B, created 8 Jan: mql 15 Jan, recycled 20 Jan, mql again 2 Feb, sql 6 Feb.
- C, created 20 Jan: disqualified 25 Jan.
- D, created 2 Feb: mql 4 Feb, sql 14 Feb.
- E, created 3 Feb at subscriber: lead 5 Feb.
- F, created 10 Feb: no move.
- G, created 12 Feb: sql 20 Feb (handed over by hand, skipping mql).
- H, created 15 Dec 2025: mql 9 Feb, sql 11 Feb.
"""

from datetime import date, datetime

import time_machine
from django.utils import timezone

from leads.history import lead_change_stage
from leads.models import Lead, Stage
from reports.attribution.services import rollups_rebuild
from tests.factories import LeadFactory

DECEMBER, JANUARY, FEBRUARY, MARCH = date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 12, tzinfo=timezone.get_current_timezone())


def move(lead: Lead, stage: str, when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        lead_change_stage(lead=lead, to_stage=stage)


def build_world(*, rebuild: bool = True) -> dict[str, Lead]:
    created = {
        "A": at(1, 5),
        "B": at(1, 8),
        "C": at(1, 20),
        "D": at(2, 2),
        "E": at(2, 3),
        "F": at(2, 10),
        "G": at(2, 12),
        "H": at(12, 15, year=2025),
    }
    leads = {
        name: LeadFactory(created_at=when, stage=Stage.SUBSCRIBER if name == "E" else Stage.LEAD)
        for name, when in created.items()
    }
    moves = [
        ("A", Stage.MQL, at(1, 10)),
        ("A", Stage.SQL, at(1, 12)),
        ("B", Stage.MQL, at(1, 15)),
        ("B", Stage.RECYCLED, at(1, 20)),
        ("C", Stage.DISQUALIFIED, at(1, 25)),
        ("B", Stage.MQL, at(2, 2)),
        ("A", Stage.OPPORTUNITY, at(2, 3)),
        ("D", Stage.MQL, at(2, 4)),
        ("E", Stage.LEAD, at(2, 5)),
        ("B", Stage.SQL, at(2, 6)),
        ("H", Stage.MQL, at(2, 9)),
        ("H", Stage.SQL, at(2, 11)),
        ("A", Stage.CUSTOMER, at(2, 13)),
        ("D", Stage.SQL, at(2, 14)),
        ("G", Stage.SQL, at(2, 20)),
    ]
    for name, stage, when in moves:
        move(leads[name], stage, when)
    if rebuild:  # the reports read the rollups (beat keeps them current; a rebuild, as it makes them)
        rollups_rebuild()
    return leads
