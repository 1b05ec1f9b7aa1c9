"""The hand-written SQL of the ROI rollups: lead milestones made from the leads and their stage
history, a set of leads or a range of ids at a time. Values are named and bound with `sql.bind`;
`leads` fragments come from `sql.any_of` (named with `sql.named`)."""

from typing import Any

from reports.attribution.models import Milestone
from smarketing.lib import sql

# The stages whose first entry is a milestone: the choices' own values, quoted here once.
STAGES = ", ".join(f"'{milestone.value}'" for milestone in Milestone if milestone != Milestone.CREATED)

# Each lead's milestones, the leads chosen by the conditions {lead_l} and {lead_c} on the lead's
# id and the change's lead id: its creation, and its first entry into each stage, on its first
# campaign's account and under the version that qualified it. Both conditions go on the join, or
# PostgreSQL reads every lead to join them.
_MILESTONES = f"""
SELECT l.id AS lead_id, '{Milestone.CREATED.value}' AS milestone, l.created_at AS at,
  l.first_campaign_id AS campaign_id, l.qualified_version AS version
FROM leads_lead l WHERE {{lead_l}}
UNION ALL
SELECT c.lead_id, c.to_stage, MIN(c.changed_at), l.first_campaign_id, l.qualified_version
FROM leads_stagechange c JOIN leads_lead l ON l.id = c.lead_id
WHERE {{lead_c}} AND {{lead_l}} AND c.to_stage IN ({STAGES})
GROUP BY c.lead_id, c.to_stage, l.first_campaign_id, l.qualified_version
"""


def milestones_upsert(lead_ids: list[int]) -> tuple[str, dict[str, Any]]:
    """Writes these leads' milestones, changing only the rows whose moment, campaign or version
    moved (WHERE true: SQLite would read ON CONFLICT as a join's ON without it)."""
    lead_l, params = sql.named("l", sql.any_of("l.id", lead_ids))
    lead_c, params_c = sql.named("c", sql.any_of("c.lead_id", lead_ids))
    select = _MILESTONES.format(lead_l=lead_l, lead_c=lead_c)
    changed = sql.distinct("reports_leadmilestone.at", "excluded.at")
    moved = sql.distinct("reports_leadmilestone.campaign_id", "excluded.campaign_id")
    requalified = sql.distinct("reports_leadmilestone.version", "excluded.version")
    statement = (
        "INSERT INTO reports_leadmilestone (lead_id, milestone, at, campaign_id, version) "
        f"SELECT * FROM ({select}) m WHERE true "
        "ON CONFLICT (lead_id, milestone) DO UPDATE SET at = excluded.at, campaign_id = excluded.campaign_id, "
        f"version = excluded.version WHERE {changed} OR {moved} OR {requalified}"
    )
    return statement, params | params_c


def milestones_insert_range() -> str:
    """Inserts the milestones of the leads with ids %(first)s to %(last)s (a rebuild: none there)."""
    select = _MILESTONES.format(
        lead_l="l.id BETWEEN %(first)s AND %(last)s", lead_c="c.lead_id BETWEEN %(first)s AND %(last)s"
    )
    return f"INSERT INTO reports_leadmilestone (lead_id, milestone, at, campaign_id, version) {select}"


def milestones_campaign_follow(lead_ids: list[int]) -> tuple[str, dict[str, Any]]:
    """Moves these leads' milestones to the lead's first campaign where it changed (a known
    lead's first touch filled an empty one)."""
    leads, params = sql.named("m", sql.any_of("lead_id", lead_ids))
    first = "(SELECT l.first_campaign_id FROM leads_lead l WHERE l.id = reports_leadmilestone.lead_id)"
    statement = (
        f"UPDATE reports_leadmilestone SET campaign_id = {first} WHERE {leads} AND {sql.distinct('campaign_id', first)}"
    )
    return statement, params


# The milestones of campaigns that are gone, on nobody's account (as the lead's first campaign is).
MILESTONES_CAMPAIGNS_GONE = """
UPDATE reports_leadmilestone SET campaign_id = NULL
WHERE campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leads_campaign c WHERE c.id = campaign_id)
"""

# A rebuild starts from nothing; TRUNCATE on PostgreSQL, where DELETE would leave a million dead rows.
MILESTONES_CLEAR_PG = "TRUNCATE reports_leadmilestone"
CREDITS_CLEAR_PG = "TRUNCATE reports_dealcredit"

# After a rebuild: the visibility map set (a period's milestone counts are an index-only scan)
# and the planner's statistics taken.
ROLLUPS_VACUUM_PG = "VACUUM (ANALYZE) reports_leadmilestone, reports_dealcredit"

# The newest stage change no running transaction can still add behind (leads.sql.FINAL_ROWS_AFTER):
# where a rebuild leaves the history reader.
HISTORY_HEAD_PG = """
SELECT c.txid, c.id FROM leads_stagechange c
WHERE c.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY c.txid DESC, c.id DESC LIMIT 1
"""
