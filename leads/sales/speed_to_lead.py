"""The agreement (SLA) between marketing and sales, its attainment, and the speed-to-lead clock.

The clock starts at handoff and the first logged activity stops it. The beat job
`sla_check` runs every minute, in bounded batches:
1. copies the lead's current score onto pooled handoffs whose score moved (claims order by it);
2. flags untouched handoffs past their deadline, and notifies the rep and their manager;
3. reassigns, by the rules, untouched handoffs past the second deadline (a new rep or the
   pool gets a fresh clock; the agreement's deadline stays, so the miss still counts).
Each step claims its rows with a conditional update (or SKIP LOCKED on PostgreSQL), so two
runs at once never flag or reassign the same lead twice.
"""

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from leads.models import OPEN_HANDOFF, Agreement, AssignmentLog, Handoff, HandoffStatus
from leads.sales import sql as sales_sql
from leads.sales.assignment import handoffs_reassign
from leads.sales.notifications import lead_url_parts, notify_select
from smarketing.lib import sql

CLOCK_BATCH = 5_000


REASSIGN_BATCH = 2_000


def sla_check(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: refresh pool scores, flag overdue handoffs, reassign the long-overdue."""
    now = now or timezone.now()
    return {
        "scores": pool_scores_refresh(),
        "flagged": handoffs_flag_overdue(now=now),
        "reassigned": handoffs_reassign_overdue(now=now),
    }


def pool_scores_refresh() -> int:
    """Copy each pooled lead's current score onto its handoff, where the two differ (one UPDATE)."""
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(sales_sql.POOL_SCORES_REFRESH, pooled=HandoffStatus.POOLED))
        return cursor.rowcount


def handoffs_flag_overdue(*, now: datetime, batch: int = CLOCK_BATCH) -> int:
    """Flag untouched handoffs past their deadline; notify the rep and their manager. Batched."""
    flagged = 0
    while rows := _flag_batch(now, batch):
        flagged += len(rows)
    return flagged


def _flag_batch(now: datetime, batch: int) -> list[tuple[Any, ...]]:
    statement, params = sales_sql.overdue_flag(skip_locked=sql.is_postgres())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, **params, now=sql.db_datetime(now), batch=batch))
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            _overdue_record(ids, now)
    return ids


def _overdue_record(handoff_ids: list[int], now: datetime) -> None:
    """Log each flagged lead and tell its rep and their manager (or the pool's), set-based."""
    ids, params = sales_sql.handoff_ids(handoff_ids)
    at = sql.db_datetime(now)
    with connection.cursor() as cursor:
        log = {"action": AssignmentLog.Action.OVERDUE, "reason": "First touch overdue"}
        cursor.execute(*sql.bind(sales_sql.overdue_log(ids), **params, **log, at=at))
    texts = {"rep_text": "First touch overdue: ", "manager_text": "First touch overdue in your team: "}
    notify_select(select=sales_sql.overdue_notes(ids), params={**params, **texts, **lead_url_parts(), "at": at})


def handoffs_reassign_overdue(*, now: datetime, batch: int = REASSIGN_BATCH) -> int:
    """Reassign by the rules every untouched handoff past its second deadline. Batched."""
    agreement = Agreement.current()
    reassigned = 0
    while True:
        with transaction.atomic():
            due = _reassign_claim(now, batch)
            if not due:
                return reassigned
            handoffs_reassign(handoffs=due, agreement=agreement, reason="Not touched by the second deadline", now=now)
            reassigned += len(due)


def _reassign_claim(now: datetime, batch: int) -> list[Handoff]:
    rows = Handoff.objects.filter(status__in=OPEN_HANDOFF, first_touch_at__isnull=True, reassign_at__lt=now)
    rows = rows.select_for_update(skip_locked=True) if sql.is_postgres() else rows
    return list(rows.order_by("reassign_at", "id")[:batch])
