"""The sales side's hand-written SQL: claiming from the pool, reassigning handoffs, the
speed-to-lead clock, and notifications written straight from a SELECT.

Values are named (`%(rep)s`) and bound with `sql.bind`; a fragment's values (`sql.values_cte`,
an id list) are named with `sql.named`.
"""

from typing import Any

from leads.models import OPEN_HANDOFF
from smarketing.lib import sql

# --- Claiming (queue.py) ----------------------------------------------------------------

# The best pooled lead of the rep's pools, taken only while the rep holds less than their
# capacity: one statement, which reads the rep's team (none: the general pool only) and load
# itself. No profile means no team and the default capacity. {lock}: SKIP LOCKED on
# PostgreSQL, so a row another claimer holds is skipped, not waited for.
_CLAIM = """
UPDATE leads_handoff SET status = %(assigned)s, assigned_to_id = %(rep)s,
    team_id = COALESCE((SELECT team_id FROM leads_repprofile WHERE user_id = %(rep)s), team_id)
WHERE id = (
    SELECT id FROM leads_handoff
    WHERE status = %(pooled)s
      AND (team_id IS NULL OR team_id = (SELECT team_id FROM leads_repprofile WHERE user_id = %(rep)s))
    ORDER BY score DESC, handed_off_at, id
    LIMIT 1 {lock}
) AND status = %(pooled)s
  AND (SELECT COUNT(*) FROM leads_handoff WHERE assigned_to_id = %(rep)s AND status = %(assigned)s)
    < COALESCE((SELECT capacity FROM leads_repprofile WHERE user_id = %(rep)s), %(capacity)s)
RETURNING id, lead_id, team_id
"""
CLAIM_SKIP_LOCKED = _CLAIM.format(lock="FOR UPDATE SKIP LOCKED")
CLAIM_ONE_WRITER = _CLAIM.format(lock="")  # SQLite: one writer at a time, the row count tells who won


# The rep's capacity and open leads, read only when a claim took nothing.
LOAD = """
SELECT COALESCE((SELECT capacity FROM leads_repprofile WHERE user_id = %(rep)s), %(capacity)s),
       (SELECT COUNT(*) FROM leads_handoff WHERE assigned_to_id = %(rep)s AND status = %(assigned)s)
"""


OWNER_SET = "UPDATE leads_lead SET owner_id = %(rep)s, updated_at = %(now)s WHERE id = %(lead)s"


CLAIM_LOG = """
INSERT INTO leads_assignmentlog (lead_id, action, team_id, to_rep_id, by_id, reason, at)
VALUES (%(lead)s, %(action)s, %(team)s, %(rep)s, %(rep)s, %(reason)s, %(now)s)
"""


# --- Reassigning (assignment.py) --------------------------------------------------------

REASSIGNED_COLUMNS = [(name, "bigint") for name in ("lead_id", "team_id", "rep_id", "from_rep_id", "rule_id")]


def reassigned(rows: list[tuple[Any, ...]]) -> tuple[str, dict[str, Any]]:
    """`WITH v(…)`: each handoff's lead, new team and rep, the rep it leaves and the rule that
    placed it (REASSIGNED_COLUMNS), read by the three statements of a reassignment."""
    return sql.named("v", sql.values_cte("v", REASSIGNED_COLUMNS, rows))


def handoffs_reassign(reassigned: str) -> str:
    """Each handoff of `reassigned` to its new holder (none: the %(pooled)s pool) with a fresh
    clock (%(due_at)s, %(reassign_at)s)."""
    return (
        f"{reassigned} UPDATE leads_handoff SET team_id = v.team_id, assigned_to_id = v.rep_id, "
        "status = CASE WHEN v.rep_id IS NULL THEN %(pooled)s ELSE %(assigned)s END, due_at = %(due_at)s, "
        "reassign_at = %(reassign_at)s, overdue_at = NULL, reassigned_at = %(at)s, "
        "reassign_count = reassign_count + 1 FROM v WHERE leads_handoff.lead_id = v.lead_id"
    )


def reassign_log(reassigned: str) -> str:
    return (
        f"{reassigned} INSERT INTO leads_assignmentlog (lead_id, action, team_id, from_rep_id, to_rep_id, rule_id, "
        "by_id, reason, at) SELECT v.lead_id, %(action)s, v.team_id, v.from_rep_id, v.rep_id, v.rule_id, %(by)s, "
        "%(reason)s, %(at)s FROM v"
    )


def reassign_notes() -> str:
    """A note to the new rep (%(to_text)s) and to the rep who lost the lead (%(from_text)s),
    read from `reassigned`'s v."""
    url = lead_url("v.lead_id")
    return (
        f"SELECT v.rep_id, %(to_text)s, {url}, %(at)s FROM v WHERE v.rep_id IS NOT NULL "
        f"UNION ALL SELECT v.from_rep_id, %(from_text)s, {url}, %(at)s FROM v "
        f"WHERE v.from_rep_id IS NOT NULL AND {sql.distinct('v.from_rep_id', 'v.rep_id')}"
    )


# --- The speed-to-lead clock (speed_to_lead.py) -----------------------------------------

# Each %(pooled)s lead's current score copied onto its handoff, where the two differ.
POOL_SCORES_REFRESH = """
UPDATE leads_handoff SET score = s.score FROM leads_leadscore s
WHERE s.lead_id = leads_handoff.lead_id AND leads_handoff.status = %(pooled)s AND leads_handoff.score <> s.score
"""


def overdue_flag(*, skip_locked: bool) -> tuple[str, dict[str, Any]]:
    """Flags at most %(batch)s open handoffs, untouched and past their deadline at %(now)s,
    returning their ids; with `skip_locked` (PostgreSQL) rows another run holds are left to it."""
    open_statuses, params = sql.named("open", (sql.in_list(OPEN_HANDOFF), list(OPEN_HANDOFF)))
    lock = "FOR UPDATE SKIP LOCKED" if skip_locked else ""
    statement = (
        "UPDATE leads_handoff SET overdue_at = %(now)s WHERE id IN ("
        f"SELECT id FROM leads_handoff WHERE status IN ({open_statuses}) AND first_touch_at IS NULL "
        f"AND overdue_at IS NULL AND due_at < %(now)s ORDER BY due_at LIMIT %(batch)s {lock}) AND overdue_at IS NULL "
        "RETURNING id"
    )
    return statement, params


def handoff_ids(ids: list[int]) -> tuple[str, dict[str, Any]]:
    """`h_0, h_1, …`: the handoffs flagged, for the statements that record them."""
    return sql.named("h", (sql.in_list(ids), ids))


def overdue_log(handoff_ids: str) -> str:
    return (
        "INSERT INTO leads_assignmentlog (lead_id, action, team_id, from_rep_id, reason, at) "
        f"SELECT lead_id, %(action)s, team_id, assigned_to_id, %(reason)s, %(at)s FROM leads_handoff "
        f"WHERE id IN ({handoff_ids})"
    )


NAME_SQL = "COALESCE(NULLIF(TRIM(l.first_name || ' ' || l.last_name), ''), l.email)"


def overdue_notes(handoff_ids: str) -> str:
    """A note to each flagged lead's rep (%(rep_text)s) and to their manager, or the pool's
    team's (%(manager_text)s), unless that is the rep."""
    url = lead_url("h.lead_id")
    manager = "COALESCE(rt.manager_id, pt.manager_id)"
    return (
        f"SELECT h.assigned_to_id, %(rep_text)s || {NAME_SQL}, {url}, %(at)s FROM leads_handoff h "
        f"JOIN leads_lead l ON l.id = h.lead_id WHERE h.id IN ({handoff_ids}) AND h.assigned_to_id IS NOT NULL "
        f"UNION ALL SELECT {manager}, %(manager_text)s || {NAME_SQL}, {url}, %(at)s FROM leads_handoff h "
        "JOIN leads_lead l ON l.id = h.lead_id "
        "LEFT JOIN leads_repprofile rp ON rp.user_id = h.assigned_to_id "
        "LEFT JOIN leads_team rt ON rt.id = rp.team_id LEFT JOIN leads_team pt ON pt.id = h.team_id "
        f"WHERE h.id IN ({handoff_ids}) AND {manager} IS NOT NULL AND {sql.distinct(manager, 'h.assigned_to_id')}"
    )


# --- Notifications (notifications.py) --------------------------------------------------


def lead_url(column: str) -> str:
    """The lead page's URL as an SQL expression over a lead id column: the id between
    %(url_prefix)s and %(url_suffix)s (`notifications.lead_url_parts`)."""
    return f"(%(url_prefix)s || CAST({column} AS TEXT) || %(url_suffix)s)"


def notify(select: str, with_: str = "") -> str:
    """Stores the notifications `select` yields as (user_id, text, url, created_at) rows, in one
    INSERT … SELECT, returning each one's user; `with_` is a WITH clause the SELECT reads."""
    return f"{with_} INSERT INTO leads_notification (user_id, text, url, created_at) {select} RETURNING user_id"
