"""The hand-written SQL of the lead kernel (history, selectors, rulebook) and of the lead's own
services (merge). Values are named (`%(at)s`) and bound with `sql.bind`.
"""

from typing import Any

from smarketing.lib import sql

# --- Stage history (history.py) ---------------------------------------------------------


def stage_move(ids: list[int], *, qualified: bool) -> tuple[str, dict[str, Any]]:
    """Moves the leads with these ids that are still at %(from_stage)s to %(to_stage)s at %(at)s,
    returning the ids moved; `qualified` also records the definition %(version)s."""
    listed, params = sql.named("id", (sql.in_list(ids), ids))
    version = ", qualified_version = %(version)s" if qualified else ""
    statement = (
        f"UPDATE leads_lead SET stage = %(to_stage)s, stage_changed_at = %(at)s, updated_at = %(at)s{version} "
        f"WHERE id IN ({listed}) AND stage = %(from_stage)s RETURNING id"
    )
    return statement, params


# Rows whose transaction ended before every running one began (below the snapshot's xmin), and
# the reader's own rows when its transaction is the oldest running: nothing can still commit
# behind those. Walks the (txid, id) index from the reader's place.
FINAL_ROWS_AFTER = """
SELECT c.* FROM leads_stagechange c,
  (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon,
          pg_current_xact_id_if_assigned()::text::bigint AS mine) t
WHERE (c.txid, c.id) > (%(txid)s, %(last_id)s)
  AND (c.txid < t.horizon OR (c.txid = t.mine AND t.mine = t.horizon))
ORDER BY c.txid, c.id
LIMIT %(batch)s
"""


# --- Counts (selectors.py) --------------------------------------------------------------

# PostgreSQL's estimate of a table's rows; -1 when it was never analysed.
TABLE_ESTIMATE = "SELECT reltuples FROM pg_class WHERE oid = %(table)s::regclass"


def plan(statement: str) -> str:
    """The planner's plan for a statement the ORM built, as JSON. Its values stay the ORM's own,
    `%s` in the order it gave them."""
    return f"EXPLAIN (FORMAT JSON) {statement}"


# --- The rulebook (rulebook.py) ---------------------------------------------------------

# By hand: the ORM's query building cost more than the query, which capture runs on every event.
RULEBOOK_VERSION = "SELECT rulebook_version FROM leads_scoringstate WHERE id = 1"


# --- Merging leads (services.py) --------------------------------------------------------

# The %(other)s lead's rollups added to the %(survivor)s's, rule by rule.
ROLLUPS_COMBINE = """
INSERT INTO leads_engagementrollup (lead_id, rule_id, value)
SELECT %(survivor)s, rule_id, value FROM leads_engagementrollup WHERE lead_id = %(other)s
ON CONFLICT (lead_id, rule_id) DO UPDATE SET value = leads_engagementrollup.value + excluded.value
"""
