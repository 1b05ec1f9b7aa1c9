"""A lead's stage history: every stage move goes through here, and what reacts to a move reads it.

Moves, one lead or a set at a time, write a StageChange row each (append-only: reports are
built from them). Whatever reacts to a move (handing a lead to sales today; playbook
enrolment and report rollups next) is a *reader* of this history, never called by the code
that moved the lead: the mover does not know who listens, and a reaction is never lost when
a worker is down, because the rows wait for it.

A reader keeps its place in the database (HistoryReader: the last `txid, id` it handled) and
handles the rows after it, oldest first, a batch per transaction: its own writes and its new
place commit together, so a crash repeats a batch and never skips one. After each commit
that adds to the history, the readers named in settings.HISTORY_READERS are sent a task, and
beat runs them every minute in case a message was lost.

Which rows are final: ids come from a sequence, so on PostgreSQL a transaction that took id
100 may commit after one that took id 101. Each row therefore records the id of the
transaction that wrote it (`txid`), and a reader takes only rows whose transaction is older
than every transaction still running (the snapshot's xmin): no row can appear behind its
place later. SQLite runs one writer at a time, so there ids follow commit order and txid is 0.
"""

from collections.abc import Callable, Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from leads import sql as leads_sql
from leads.models import ChangeSource, HistoryReader, Lead, StageChange
from smarketing.lib import sql
from smarketing.lib.tasks import task_send_on_commit

READ_BATCH = 1_000
MOVE_BATCH = 1_000

Handler = Callable[[list[StageChange]], None]


# --- Moves ------------------------------------------------------------------------------


def lead_change_stage(
    *,
    lead: Lead,
    to_stage: str,
    by: AbstractBaseUser | None = None,
    source: str = ChangeSource.USER,
    reason: str = "",
    note: str = "",
) -> StageChange | None:
    """Move a lead to another stage and record it; a move to the current stage does nothing."""
    if lead.stage == to_stage:
        return None
    with transaction.atomic():
        now = timezone.now()
        change = StageChange.objects.create(
            lead=lead,
            from_stage=lead.stage,
            to_stage=to_stage,
            changed_at=now,
            changed_by=by,
            source=source,
            reason=reason,
            note=note,
        )
        lead.stage = to_stage
        lead.stage_changed_at = now
        lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])
        history_grew()
    return change


def leads_move_stage(
    *,
    lead_ids: Iterable[int],
    from_stage: str,
    to_stage: str,
    source: str,
    at: datetime | None = None,
    reason: str = "",
    definition_version: int | None = None,
    matched_rules: dict[int, list[str]] | None = None,
) -> list[int]:
    """Move the leads still at `from_stage` (a person may have moved one meanwhile) and record
    each move; returns the ids moved. Set-based: one UPDATE and one INSERT per batch.

    Automatic qualification passes the definition version and, per lead, the rules that held.
    """
    at = at or timezone.now()
    moved: list[int] = []
    with transaction.atomic():
        for batch in sql.chunked(sorted(set(lead_ids)), MOVE_BATCH):
            ids = _leads_update_stage(batch, from_stage, to_stage, definition_version, at)
            StageChange.objects.bulk_create(
                StageChange(
                    lead_id=lead_id,
                    from_stage=from_stage,
                    to_stage=to_stage,
                    changed_at=at,
                    source=source,
                    reason=reason,
                    definition_version=definition_version,
                    matched_rules=(matched_rules or {}).get(lead_id, []),
                )
                for lead_id in ids
            )
            moved += ids
        if moved:
            history_grew()
    return moved


def _leads_update_stage(ids: list[int], from_stage: str, to_stage: str, version: int | None, at: datetime) -> list[int]:
    statement, params = leads_sql.stage_move(ids, qualified=version is not None)
    move = {"from_stage": from_stage, "to_stage": to_stage, "at": sql.db_datetime(at), "version": version}
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, **move, **params))
        return [row[0] for row in cursor.fetchall()]


def history_grew() -> None:
    """Once this transaction commits, tell the readers of the history that it has new rows."""
    for task_name in settings.HISTORY_READERS:
        task_send_on_commit(task_name)


# --- Readers ----------------------------------------------------------------------------


def stage_changes_follow(*, reader: str, handle: Handler, batch: int = READ_BATCH) -> int:
    """Give `handle` the stage changes this reader has not handled yet, oldest first, a batch
    per transaction; returns how many it was given.

    A reader seen for the first time starts at the beginning (a migration may give a new
    reader its place at the end, when what came before was handled by the code it replaced).
    Two runs of one reader take turns (its place is locked), so none is handled twice.
    """
    handled = 0
    while True:
        with transaction.atomic():
            place = _place_locked(reader)
            changes = _changes_after(place, batch)
            if changes:
                handle(changes)
                _place_move(place, changes[-1])
        handled += len(changes)
        if len(changes) < batch:
            return handled


def _place_locked(reader: str) -> HistoryReader:
    place = HistoryReader.objects.select_for_update().filter(name=reader).first()
    if place is None:  # its first run
        HistoryReader.objects.get_or_create(name=reader)
        place = HistoryReader.objects.select_for_update().get(name=reader)
    return place


def _changes_after(place: HistoryReader, batch: int) -> list[StageChange]:
    if connection.vendor != "postgresql":
        return list(StageChange.objects.filter(id__gt=place.last_id).order_by("id")[:batch])
    # Only the rows no running transaction can still add behind (leads_sql.FINAL_ROWS_AFTER).
    place_and_batch = {"txid": place.txid, "last_id": place.last_id, "batch": batch}
    return list(StageChange.objects.raw(*sql.bind(leads_sql.FINAL_ROWS_AFTER, **place_and_batch)))


def _place_move(place: HistoryReader, last: StageChange) -> None:
    place.txid, place.last_id, place.read_at = last.txid, last.pk, timezone.now()
    place.save(update_fields=["txid", "last_id", "read_at"])
