"""The funnel's rollups (reports.funnel.models), kept by the ROI's runs: what the runs leave equals
what the definitions give from the leads and their history, and what a rebuild makes."""

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from leads.models import FUNNEL, Lead, Stage, StageChange
from leads.services import lead_merge
from reports.attribution.models import LeadMilestone
from reports.attribution.services import rollups_rebuild, rollups_update
from reports.funnel.models import CREATED, CohortDay, DayCountDue, EntryDay, StageEntry, StageMove
from reports.funnel.selectors import funnel_by_cohort
from tests.factories import LeadFactory
from tests.reports.funnel.world import at, build_world, move

PAIRS = set(zip(FUNNEL, FUNNEL[1:], strict=False))


def _place(stage: str) -> int:
    return FUNNEL.index(stage) if stage in FUNNEL else -1


def entries_now() -> list[tuple[Any, ...]]:
    return sorted(StageEntry.objects.values_list("lead_id", "stage", "at", "furthest"))


def moves_now() -> list[tuple[Any, ...]]:
    return sorted(StageMove.objects.values_list("change_id", "lead_id", "from_stage", "moved_at", "entered_at"))


def _histories() -> dict[int, list[StageChange]]:
    histories: dict[int, list[StageChange]] = defaultdict(list)
    for change in StageChange.objects.order_by("changed_at", "id"):
        histories[change.lead_id].append(change)
    return histories


def entries_from_the_rows() -> list[tuple[Any, ...]]:
    """Each lead's creation with its furthest place (its stage now, every stage its history went
    to or left), and the first move into each stage of the forward path."""
    histories, rows = _histories(), []
    for lead in Lead.objects.all():
        history = histories[lead.pk]
        places = [_place(lead.stage)] + [_place(s) for c in history for s in (c.to_stage, c.from_stage)]
        rows.append((lead.pk, CREATED, lead.created_at, max(places)))
        firsts: dict[str, datetime] = {}
        for change in history:
            if change.to_stage in FUNNEL:
                firsts.setdefault(change.to_stage, change.changed_at)
        rows += [(lead.pk, stage, when, None) for stage, when in firsts.items()]
    return sorted(rows)


def moves_from_the_rows() -> list[tuple[Any, ...]]:
    """Each move to the next stage of the forward path, from the lead's previous change or creation."""
    rows = []
    for lead_id, history in _histories().items():
        entered = Lead.objects.get(pk=lead_id).created_at
        for change in history:
            if (change.from_stage, change.to_stage) in PAIRS:
                rows.append((change.pk, lead_id, change.from_stage, change.changed_at, entered))
            entered = change.changed_at
    return sorted(rows)


@pytest.fixture
def world(db):
    """Rollups built over an empty database first, so the world arrives run by run."""
    assert rollups_update()["rebuilt"]
    world = build_world(rebuild=False)
    rollups_update()
    return world


def test_runs_leave_the_first_entries_furthest_stages_and_moves_the_history_gives(world):
    assert entries_now() == entries_from_the_rows()
    assert moves_now() == moves_from_the_rows()
    b = StageEntry.objects.get(lead=world["B"], stage=CREATED)
    assert b.furthest == FUNNEL.index(Stage.SQL)  # recycled on the way, its furthest kept
    assert StageEntry.objects.get(lead=world["B"], stage=Stage.MQL).at == at(1, 15)  # its first MQL, not the second
    assert StageEntry.objects.get(lead=world["C"], stage=CREATED).furthest == FUNNEL.index(Stage.LEAD)
    assert not StageMove.objects.filter(lead=world["G"]).exists()  # lead → sql skips a pair


def test_incremental_runs_equal_a_rebuild(world, manager):
    """A new lead, moves, and a merge, each picked up by a run, leave what a rebuild makes."""
    newcomer = LeadFactory(created_at=at(3, 1), stage=Stage.SUBSCRIBER)
    rollups_update()
    move(newcomer, Stage.LEAD, at(3, 2))
    move(world["F"], Stage.MQL, at(3, 3))
    rollups_update()
    lead_merge(survivor=world["F"], other=world["D"], by=manager)
    rollups_update()
    assert entries_now() == entries_from_the_rows()
    assert moves_now() == moves_from_the_rows()
    incremental = (entries_now(), moves_now())
    rollups_rebuild()
    assert (entries_now(), moves_now()) == incremental


def days_now() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The day totals, without the days a change brought back to nothing."""
    cohorts = CohortDay.objects.filter(leads__gt=0).values_list("day", "furthest", "leads")
    entries = EntryDay.objects.filter(leads__gt=0).values_list("stage", "day", "leads")
    return sorted(cohorts), sorted(entries)


def days_from_the_rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """StageEntry's rows counted per day of the instance's zone, in Python."""
    cohorts: Counter[tuple[Any, ...]] = Counter()
    entries: Counter[tuple[Any, ...]] = Counter()
    for _, stage, when, furthest in entries_now():
        day = timezone.localdate(when)
        if stage == CREATED:
            cohorts[(day, furthest)] += 1
        else:
            entries[(stage, day)] += 1
    return sorted((*key, n) for key, n in cohorts.items()), sorted((*key, n) for key, n in entries.items())


def test_the_day_totals_follow_runs_merges_and_deletions(world, manager):
    """Every change the runs make to the rows shows in the day totals, and so does a lead a merge
    or a person deletes; a rebuild counts the same."""
    assert days_now() == days_from_the_rows()
    assert days_now()[0]  # the world's leads are counted, not two empty lists
    newcomer = LeadFactory(created_at=at(3, 1), stage=Stage.SUBSCRIBER)
    rollups_update()
    move(newcomer, Stage.MQL, at(3, 2))
    move(world["B"], Stage.OPPORTUNITY, at(3, 3))  # an old lead's furthest place grows: its creation day changes
    rollups_update()
    assert days_now() == days_from_the_rows()
    lead_merge(survivor=world["F"], other=world["D"], by=manager)
    rollups_update()
    assert days_now() == days_from_the_rows()
    newcomer.delete()
    assert not StageEntry.objects.filter(lead_id=newcomer.pk).exists()
    assert DayCountDue.objects.exists()  # taken out by the next run, not by the deletion
    assert rollups_update()["day_counts_due"] == 2  # its creation and its first MQL
    assert days_now() == days_from_the_rows()
    assert not DayCountDue.objects.exists()
    incremental = days_now()
    rollups_rebuild()
    assert days_now() == incremental


def test_a_day_is_the_instances_zones_and_a_new_zone_counts_them_again(db, settings):
    """A lead created at 00:30 on 1 February in Madrid (23:30 on 31 January in UTC) counts for
    31 January while the instance keeps UTC, and for 1 February, in the day totals as in the
    rows they add up, from the first run after it moved to Madrid."""
    assert rollups_update()["rebuilt"]
    early = datetime(2026, 2, 1, 0, 30, tzinfo=ZoneInfo("Europe/Madrid"))
    LeadFactory(created_at=early, stage=Stage.SUBSCRIBER)
    assert rollups_update()["days_recounted"] is False
    assert list(CohortDay.objects.values_list("day", "leads")) == [(date(2026, 1, 31), 1)]
    settings.TIME_ZONE = "Europe/Madrid"
    assert rollups_update()["days_recounted"] is True
    assert list(CohortDay.objects.values_list("day", "leads")) == [(date(2026, 2, 1), 1)]
    rows = funnel_by_cohort(start=month_start(2026, 1), end=month_start(2026, 3))
    assert [(row.month, row.leads) for row in rows] == [(date(2026, 1, 1), 0), (date(2026, 2, 1), 1)]
    assert rollups_update()["days_recounted"] is False


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=timezone.get_current_timezone())


def test_rows_a_run_wrote_back_for_a_lead_a_merge_deleted_go_and_the_totals_stay(world, manager):
    """A run that refreshed D while a merge deleted it writes D's rows back after the merge's
    cascade (which saw and left due only the rows before): the next run removes them, and the
    totals, which the merge's due counts already took D out of, stay equal to the rows."""
    other = world["D"]
    written_back = [
        StageEntry(lead_id=other.pk, stage=stage, at=when, furthest=furthest)
        for stage, when, furthest in StageEntry.objects.filter(lead=other).values_list("stage", "at", "furthest")
    ]
    moves_back = [StageMove(**values) for values in StageMove.objects.filter(lead=other).values()]
    milestones_back = [LeadMilestone(**values) for values in LeadMilestone.objects.filter(lead=other).values()]
    assert written_back and moves_back and milestones_back
    lead_merge(survivor=world["F"], other=other, by=manager)
    StageEntry.objects.bulk_create(written_back)
    StageMove.objects.bulk_create(moves_back)
    LeadMilestone.objects.bulk_create(milestones_back)
    rollups_update()
    assert not LeadMilestone.objects.filter(lead_id=other.pk).exists()
    assert not StageEntry.objects.filter(lead_id=other.pk).exists()
    assert not StageMove.objects.filter(lead_id=other.pk).exists()
    assert days_now() == days_from_the_rows()
    assert entries_now() == entries_from_the_rows()
