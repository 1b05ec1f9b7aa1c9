"""Id cursors over the growing tables the rollups read (events, leads, deals, deal changes, merges).

Ids come from a sequence, so on PostgreSQL a transaction that took id 100 may commit after one
that took id 101 was read: a cursor that only remembered "up to 101" would never see 100. So a
cursor also keeps the *gaps*, the ids missing between the rows it read, and reads them again on
every run for WINDOW (the re-read window): a row committed late fills its gap and is handled
then. An id that never appears (a rolled-back insert, a conflicting event that was not stored)
is dropped from the gaps after the window. Each row is handled once in the usual case, and a
late one once more later; handlers recompute from the source rows, so handling a row twice is
harmless.

Each batch is handled in one transaction with the cursor's new place, so a crash repeats a
batch and never skips one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from reports.attribution.models import RollupCursor
from smarketing.lib.sql import chunked

WINDOW = timedelta(minutes=10)
READ_BATCH = 20_000
GAPS_MAX = 5_000  # more and the oldest are given up (a mass of conflicting inserts)
GAPS_PER_QUERY = 200

Rows = list[dict[str, Any]]
Handler = Callable[[Rows], None]
Gap = list[int]  # [first id, last id, first seen as a Unix time]


@dataclass(frozen=True)
class Table:
    """A growing table a cursor reads: the cursor's name, the model, the column saying when a
    row was written (for the lag), and the columns the handler reads."""

    cursor: str
    model: type[Model]
    written_at: str
    fields: tuple[str, ...]


def rows_follow(table: Table, handle: Handler, *, now: datetime | None = None, batch: int = READ_BATCH) -> int:
    """Give `handle` the rows of `table` this cursor has not handled yet: first those that filled
    a gap, then the new ones oldest first, a batch per transaction. Returns how many."""
    now = now or timezone.now()
    handled, first = 0, True
    while True:
        with transaction.atomic():
            cursor = _cursor_locked(table.cursor)
            if first:
                handled += _late_follow(cursor, table, handle, now)
            rows = list(
                table.model.objects.filter(pk__gt=cursor.last_id).order_by("pk").values("pk", *table.fields)[:batch]
            )
            if rows:
                handle(rows)
                _advance(cursor, rows, table, now)
            cursor.read_at = now
            cursor.save()
        handled += len(rows)
        first = False
        if len(rows) < batch:
            return handled


def _late_follow(cursor: RollupCursor, table: Table, handle: Handler, now: datetime) -> int:
    """The rows that filled a gap since the last run, handled; the gaps left are kept until
    they are older than the window."""
    horizon = (now - WINDOW).timestamp()
    gaps = [gap for gap in cursor.gaps if gap[2] >= horizon]
    late: Rows = []
    for part in chunked(gaps, GAPS_PER_QUERY):
        within = Q()
        for first, last, _ in part:
            within |= Q(pk__range=(first, last))
        late += table.model.objects.filter(within).order_by("pk").values("pk", *table.fields)
    if late:
        handle(late)
    cursor.gaps = gaps_without(gaps, [row["pk"] for row in late])
    return len(late)


def _cursor_locked(name: str) -> RollupCursor:
    cursor = RollupCursor.objects.select_for_update().filter(name=name).first()
    if cursor is None:
        RollupCursor.objects.get_or_create(name=name)
        cursor = RollupCursor.objects.select_for_update().get(name=name)
    return cursor


def _advance(cursor: RollupCursor, rows: Rows, table: Table, now: datetime) -> None:
    """Move past `rows` (read in id order), keeping the ids missing between them as gaps."""
    seen = int(now.timestamp())
    last = cursor.last_id
    for row in rows:
        if row["pk"] > last + 1 and last:  # a cursor that never read a row has nothing missing
            cursor.gaps.append([last + 1, row["pk"] - 1, seen])
        last = row["pk"]
    cursor.gaps = cursor.gaps[-GAPS_MAX:]
    cursor.last_id, cursor.last_at = last, rows[-1][table.written_at]


def gaps_without(gaps: list[Gap], found: list[int]) -> list[Gap]:
    """The gaps with the ids found in them taken out (a gap may split in two or vanish)."""
    found = sorted(found)
    left: list[Gap] = []
    for first, last, seen in gaps:
        start = first
        for pk in found:
            if first <= pk <= last:
                if pk > start:
                    left.append([start, pk - 1, seen])
                start = pk + 1
        if start <= last:
            left.append([start, last, seen])
    return left


def cursor_place(table: Table, *, head: int, written_at: datetime | None, gaps: list[Gap]) -> None:
    """Put a cursor at `head` with these gaps below it (a rebuild read everything up to there)."""
    RollupCursor.objects.update_or_create(
        name=table.cursor, defaults={"last_id": head, "last_at": written_at, "gaps": gaps, "read_at": timezone.now()}
    )


def head_of(table: Table, *, lookback: int) -> tuple[int, datetime | None, list[Gap]]:
    """The newest id of `table`, when that row was written, and the ids missing among the last
    `lookback` ids below it: a rebuild starts its cursors there, so rows that a transaction
    still running commits later are read by the next run."""
    newest = table.model.objects.order_by("-pk").values("pk", table.written_at).first()
    if newest is None:
        return 0, None, []
    head = newest["pk"]
    oldest = table.model.objects.order_by("pk").values_list("pk", flat=True).first() or head
    ids = table.model.objects.filter(pk__gt=head - lookback, pk__lte=head).order_by("pk").values_list("pk", flat=True)
    gaps: list[Gap] = []
    last, seen = max(head - lookback, oldest - 1), int(timezone.now().timestamp())
    for pk in ids.iterator(chunk_size=10_000):
        if pk > last + 1:
            gaps.append([last + 1, pk - 1, seen])
        last = pk
    return head, newest[table.written_at], gaps[-GAPS_MAX:]
