"""The hand-written SQL of the funnel's rollups (reports.funnel.models): each lead's creation and
first entries, and its moves on the forward path, made from the leads and their stage history,
a set of leads or a range of ids at a time. The leads are chosen by a condition on the lead's
id (`lead_l`) and one on the change's lead id (`lead_c`): `sql.any_of` fragments named with
`sql.named`, or a range bound as %(first)s and %(last)s."""

from typing import Any

from leads.models import FUNNEL
from reports.funnel.models import CREATED
from smarketing.lib import sql

# The forward path's stages, quoted once, and each one's place on it (-1 off it).
STAGES = ", ".join(f"'{stage.value}'" for stage in FUNNEL)
MOVES = " OR ".join(
    f"(m.from_stage = '{earlier.value}' AND m.to_stage = '{later.value}')"
    for earlier, later in zip(FUNNEL, FUNNEL[1:], strict=False)
)


def _rank(column: str) -> str:
    whens = " ".join(f"WHEN '{stage.value}' THEN {place}" for place, stage in enumerate(FUNNEL))
    return f"(CASE {column} {whens} ELSE -1 END)"


def _entries(lead_l: str, lead_c: str) -> str:
    """Each lead's creation, with the furthest place among its stage now and the stages its
    history went to or left, and its first entry into each stage of the forward path."""
    top = sql.greatest([_rank("c.to_stage"), _rank("c.from_stage")])
    furthest = sql.greatest([_rank("l.stage"), "COALESCE(t.top, -1)"])
    return f"""
SELECT l.id AS lead_id, '{CREATED}' AS stage, l.created_at AS at, {furthest} AS furthest
FROM leads_lead l
LEFT JOIN (SELECT c.lead_id, MAX({top}) AS top FROM leads_stagechange c WHERE {lead_c}
           GROUP BY c.lead_id) t ON t.lead_id = l.id
WHERE {lead_l}
UNION ALL
SELECT c.lead_id, c.to_stage, MIN(c.changed_at), NULL
FROM leads_stagechange c
WHERE {lead_c} AND c.to_stage IN ({STAGES})
GROUP BY c.lead_id, c.to_stage
"""


def _moves(lead_l: str, lead_c: str) -> str:
    """Each lead's moves from a stage of the forward path to the next, with the moment it had
    entered the stage it left: its previous change (by time, then id), or its creation."""
    return f"""
SELECT m.id, m.lead_id, m.from_stage, m.changed_at, COALESCE(m.before, l.created_at)
FROM (SELECT c.id, c.lead_id, c.from_stage, c.to_stage, c.changed_at,
             LAG(c.changed_at) OVER (PARTITION BY c.lead_id ORDER BY c.changed_at, c.id) AS before
      FROM leads_stagechange c WHERE {lead_c}) m
JOIN leads_lead l ON l.id = m.lead_id
WHERE {lead_l} AND ({MOVES})
"""


ENTRIES_INSERT = "INSERT INTO reports_stageentry (lead_id, stage, at, furthest) "
MOVES_INSERT = "INSERT INTO reports_stagemove (change_id, lead_id, from_stage, moved_at, entered_at) "


def funnel_refresh(lead_ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
    """The statements that make these leads' funnel rows again: delete them, insert them."""
    lead_l, params = sql.named("l", sql.any_of("l.id", lead_ids))
    lead_c, params_c = sql.named("c", sql.any_of("c.lead_id", lead_ids))
    leads, params_d = sql.named("d", sql.any_of("lead_id", lead_ids))
    params |= params_c | params_d
    return [
        (f"DELETE FROM reports_stageentry WHERE {leads}", params),
        (f"DELETE FROM reports_stagemove WHERE {leads}", params),
        (ENTRIES_INSERT + _entries(lead_l, lead_c), params),
        (MOVES_INSERT + _moves(lead_l, lead_c), params),
    ]


def funnel_insert_range() -> list[str]:
    """Insert the funnel rows of the leads with ids %(first)s to %(last)s (a rebuild: none there)."""
    lead_l, lead_c = "l.id BETWEEN %(first)s AND %(last)s", "c.lead_id BETWEEN %(first)s AND %(last)s"
    return [ENTRIES_INSERT + _entries(lead_l, lead_c), MOVES_INSERT + _moves(lead_l, lead_c)]


# A rebuild starts from nothing; TRUNCATE on PostgreSQL, where DELETE would leave dead rows.
FUNNEL_CLEAR_PG = "TRUNCATE reports_stageentry, reports_stagemove"
# After a rebuild: the visibility map set (the pages' reads are index-only scans), statistics taken.
FUNNEL_VACUUM_PG = "VACUUM (ANALYZE) reports_stageentry, reports_stagemove"
