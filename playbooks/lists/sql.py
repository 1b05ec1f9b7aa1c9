# ruff: noqa: S608 -- values travel as named parameters; only the compiled tree's text (its
# names checked by compile_tree) and placeholders built here go into the statements.
"""Lists' hand-written SQL: who is on a list (a static list's membership rows, a segment's
compiled tree), counted, tested for one lead, and members added set-based.

Values are named and bound with `sql.bind`. A segment's condition is the qualification tree
compiled by `leads.qualification.sql.compile_tree` over lead rows aliased `l`; nothing here
compiles a tree of its own. Statements that another statement may embed (the member ids)
prefix their values' names with a caller's `name`, as compiled trees do.
"""

from datetime import datetime, timedelta
from typing import Any

from leads.qualification.sql import Compiled
from smarketing.lib import sql


def _checked(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"Not a parameter name: {name!r}")
    return name


# --- Who is on a list -------------------------------------------------------------------


def static_member_ids(name: str) -> str:
    """The ids (column `id`) of the leads on the static list %(<name>_list)s."""
    name = _checked(name)
    return f"SELECT m.lead_id AS id FROM playbooks_listmembership m WHERE m.list_id = %({name}_list)s"


# What a segment whose stored tree no longer compiles holds: nobody.
NO_MEMBERS = "SELECT l.id FROM leads_lead l WHERE 1 = 0"


def segment_member_ids(compiled: Compiled) -> str:
    """The ids (column `id`) of the leads the compiled tree holds for."""
    return f"SELECT l.id FROM leads_lead l WHERE {compiled.condition}"


def segment_count(compiled: Compiled) -> str:
    return f"SELECT COUNT(*) FROM leads_lead l WHERE {compiled.condition}"


def score_count(tests: list[tuple[str, int]]) -> tuple[str, dict[str, Any]]:
    """The leads whose score row passes every (column, at least) test: column names come from
    the selector's fixed map, values travel as parameters."""
    where = " AND ".join(f"s.{column} >= %(at_least_{n})s" for n, (column, _) in enumerate(tests))
    return f"SELECT COUNT(*) FROM leads_leadscore s WHERE {where}", {
        f"at_least_{n}": value for n, (_, value) in enumerate(tests)
    }


def event_count(node: dict[str, Any], *, as_of: datetime) -> tuple[str, dict[str, Any]]:
    """The leads with an event of the leaf's type (and properties) up to `as_of`, within its days."""
    where, params = sql.named("props", sql.json_has("e.properties", node.get("where") or {}))
    params |= {"type": node["event"], "as_of": sql.db_datetime(as_of)}
    text = f"e.type = %(type)s AND e.occurred_at <= %(as_of)s AND {where}"
    if node.get("within_days"):
        text += " AND e.occurred_at >= %(since)s"
        params["since"] = sql.db_datetime(as_of - timedelta(days=node["within_days"]))
    return f"SELECT COUNT(DISTINCT e.lead_id) FROM leads_event e WHERE {text}", params


def segment_has_lead(compiled: Compiled) -> str:
    """1 when the lead %(lead)s matches the compiled tree, no row otherwise."""
    return f"SELECT 1 FROM leads_lead l WHERE l.id = %(lead)s AND {compiled.condition}"


# --- Adding members ---------------------------------------------------------------------


def members_insert(ids: list[int]) -> tuple[str, dict[str, Any]]:
    """New membership rows on %(list)s for those of `ids` that are leads and not on it yet,
    with %(source)s, %(by)s and %(at)s; the row count is how many were added.

    Inserted in lead id order, so the ids the rows get (which the playbooks' "joined a list"
    trigger reads in order) follow the leads' order. A lead already on the list keeps its
    row, its first addition's time and its id: ON CONFLICT leaves it alone.
    """
    listed, params = sql.named("id", sql.any_of("l.id", ids))
    statement = (
        "INSERT INTO playbooks_listmembership (list_id, lead_id, source, added_by_id, added_at) "
        f"SELECT %(list)s, l.id, %(source)s, %(by)s, %(at)s FROM leads_lead l WHERE {listed} ORDER BY l.id "
        "ON CONFLICT (list_id, lead_id) DO NOTHING"
    )
    return statement, params
