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

from leads.models import OPEN_HANDOFF, Agreement, AssignmentLog, Handoff
from leads.sales.assignment import handoffs_reassign
from leads.sales.notifications import lead_url_sql, notify_select
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
        cursor.execute(
            "UPDATE leads_handoff SET score = s.score FROM leads_leadscore s "
            "WHERE s.lead_id = leads_handoff.lead_id AND leads_handoff.status = %s AND leads_handoff.score <> s.score",
            ["pooled"],
        )
        return cursor.rowcount


def handoffs_flag_overdue(*, now: datetime, batch: int = CLOCK_BATCH) -> int:
    """Flag untouched handoffs past their deadline; notify the rep and their manager. Batched."""
    flagged = 0
    while rows := _flag_batch(now, batch):
        flagged += len(rows)
    return flagged


def _flag_batch(now: datetime, batch: int) -> list[tuple[Any, ...]]:
    lock = "FOR UPDATE SKIP LOCKED" if sql.is_postgres() else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_handoff SET overdue_at = %s WHERE id IN ("  # noqa: S608 (no values in the text)
            "SELECT id FROM leads_handoff WHERE status IN (%s, %s) AND first_touch_at IS NULL "
            f"AND overdue_at IS NULL AND due_at < %s ORDER BY due_at LIMIT %s {lock}) AND overdue_at IS NULL "
            "RETURNING id",
            [sql.db_datetime(now), *OPEN_HANDOFF, sql.db_datetime(now), batch],
        )
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            _overdue_record(ids, now)
    return ids


NAME_SQL = "COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name), ''), l.email)"


def _overdue_record(handoff_ids: list[int], now: datetime) -> None:
    """Log each flagged lead and tell its rep and their manager (or the pool's), set-based."""
    ids, at = sql.in_list(handoff_ids), sql.db_datetime(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO leads_assignmentlog (lead_id, action, team_id, from_rep_id, reason, at) "  # noqa: S608
            f"SELECT lead_id, %s, team_id, assigned_to_id, %s, %s FROM leads_handoff WHERE id IN ({ids})",
            [AssignmentLog.Action.OVERDUE, "First touch overdue", at, *handoff_ids],
        )
    url, url_params = lead_url_sql("h.lead_id")
    manager = "COALESCE(rt.manager_id, pt.manager_id)"
    notify_select(
        select=(
            f"SELECT h.assigned_to_id, %s || {NAME_SQL}, {url}, %s FROM leads_handoff h "  # noqa: S608 (values are parameters)
            f"JOIN leads_lead l ON l.id = h.lead_id WHERE h.id IN ({ids}) AND h.assigned_to_id IS NOT NULL "
            f"UNION ALL SELECT {manager}, %s || {NAME_SQL}, {url}, %s FROM leads_handoff h "
            "JOIN leads_lead l ON l.id = h.lead_id "
            "LEFT JOIN leads_repprofile rp ON rp.user_id = h.assigned_to_id "
            "LEFT JOIN leads_team rt ON rt.id = rp.team_id LEFT JOIN leads_team pt ON pt.id = h.team_id "
            f"WHERE h.id IN ({ids}) AND {manager} IS NOT NULL AND {sql.distinct(manager, 'h.assigned_to_id')}"
        ),
        params=[
            *["First touch overdue: ", *url_params, at, *handoff_ids],
            *["First touch overdue in your team: ", *url_params, at, *handoff_ids],
        ],
    )


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
