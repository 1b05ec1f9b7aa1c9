"""The day totals of the funnel's first entries (reports.funnel.models: CohortDay, EntryDay), kept
equal to StageEntry's rows by the rollups' runs: a refresh of some leads' rows adds what it
changed, the counts a deleted lead's rows left due are added at the next run, a rebuild counts
them all again. Days are the instance's zone's."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from reports.funnel.models import CREATED, CohortDay, DayCountDue, EntryDay, StageEntry

# (stage, day, furthest) → leads; furthest is None on an entry row.
Totals = dict[tuple[str, date, int | None], int]

COHORT_ADD = (
    "INSERT INTO reports_cohortday (day, furthest, leads) VALUES {rows} "
    "ON CONFLICT (day, furthest) DO UPDATE SET leads = reports_cohortday.leads + excluded.leads"
)
ENTRY_ADD = (
    "INSERT INTO reports_entryday (stage, day, leads) VALUES {rows} "
    "ON CONFLICT (stage, day) DO UPDATE SET leads = reports_entryday.leads + excluded.leads"
)
ROWS_PER_STATEMENT = 500


def totals_of(entries: QuerySet[StageEntry]) -> Totals:
    """The rows counted per stage, day and furthest place: one grouped query."""
    grouped = (
        entries.annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values_list("stage", "day", "furthest")
        .annotate(n=Count("*"))
        .order_by()
    )
    return {(stage, day, furthest): n for stage, day, furthest, n in grouped}


@contextmanager
def days_kept(lead_ids: list[int]) -> Iterator[None]:
    """Around a remaking of these leads' StageEntry rows (in its transaction): add to the day
    totals the difference it made."""
    leads = StageEntry.objects.filter(lead_id__in=lead_ids)
    before = totals_of(leads)
    yield
    after = totals_of(leads)
    change = {key: after.get(key, 0) - before.get(key, 0) for key in before.keys() | after.keys()}
    days_add({key: n for key, n in change.items() if n})


def days_due(entries: QuerySet[StageEntry], *, using: str) -> None:
    """Note these rows (about to be deleted) as due to leave the day totals at the next run."""
    due = [
        DayCountDue(stage=stage, day=day, furthest=furthest, leads=-n)
        for (stage, day, furthest), n in totals_of(entries.using(using)).items()
    ]
    DayCountDue.objects.using(using).bulk_create(due)


def days_due_add() -> int:
    """Add the counts left due to the day totals, and forget them; returns how many rows."""
    with transaction.atomic():
        due = list(DayCountDue.objects.select_for_update().values_list("pk", "stage", "day", "furthest", "leads"))
        totals: Counter[tuple[str, date, int | None]] = Counter()
        for _, stage, day, furthest, n in due:
            totals[(stage, day, furthest)] += n
        days_add(totals)
        DayCountDue.objects.filter(pk__in=[row[0] for row in due]).delete()
    return len(due)


def days_add(totals: Totals) -> None:
    """Add these counts (negative to subtract) to the day totals, creating the days not there."""
    cohort = [(day, furthest, n) for (stage, day, furthest), n in totals.items() if stage == CREATED]
    entries = [(stage, day, n) for (stage, day, _), n in totals.items() if stage != CREATED]
    with connection.cursor() as cursor:
        for statement, rows in ((COHORT_ADD, cohort), (ENTRY_ADD, entries)):
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                values = ", ".join(["(" + ", ".join(["%s"] * len(chunk[0])) + ")"] * len(chunk))
                cursor.execute(statement.format(rows=values), [value for row in chunk for value in row])


def days_rebuild() -> dict[str, Any]:
    """Count every row again (after the rows themselves were rebuilt): two grouped queries. What
    deletions left due is already missing from the rows, so it is dropped; on PostgreSQL a
    deletion waits meanwhile (before it deletes), so none is both counted out and due."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {DayCountDue._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        DayCountDue.objects.all().delete()
        CohortDay.objects.all().delete()
        EntryDay.objects.all().delete()
        totals = totals_of(StageEntry.objects.all())
        days_add(totals)
    return {"days": len({day for _, day, _ in totals})}
