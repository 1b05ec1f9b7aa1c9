"""Qualification's hand-written SQL: a rule tree compiled to a condition over lead rows, and the
statements that ask it which leads qualify (live, in a backtest, or no longer).

Values are named and bound with `sql.bind`. A compiled tree names each of its values after
the tree (`mql3_type`: the type of the MQL tree's fourth leaf, `mql_as_of`: its moment), so
the MQL and SQL trees sit in one statement side by side and the values follow the text,
however the tree nests. An `attr` leaf's field name reaches the text only through
`condition_sql`, which checks it against the lead's fields.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leads.conditions import condition_sql
from leads.models import Stage
from leads.qualification.trees import leaves
from smarketing.lib import sql


@dataclass
class Compiled:
    """A tree as SQL over lead rows aliased `l` (or the alias it was compiled for): the whole
    test, one column per leaf (in `leaves()` order), and the values both name."""

    condition: str
    params: dict[str, Any]
    leaf_columns: list[str]


def compile_tree(tree: dict[str, Any], *, as_of: datetime, name: str, lead: str = "l") -> Compiled:
    """The tree evaluated as of a moment (only events up to it count; windows are measured back
    from it). `name` prefixes every value's name: unique among the trees of one statement.
    `lead` is the alias (or table name) of the lead rows the statement tests."""
    if not name.isidentifier():
        raise ValueError(f"Not a parameter name: {name!r}")
    if not lead.isidentifier():
        raise ValueError(f"Not a table alias: {lead!r}")
    moment = f"{name}_as_of"
    params: dict[str, Any] = {moment: sql.db_datetime(as_of)}
    leaf_columns = []
    for index, leaf in enumerate(leaves(tree)):
        text, values = _leaf_sql(leaf, as_of, f"{name}{index}", moment, lead)
        leaf_columns.append(text)
        params.update(values)
    return Compiled(condition=_node_sql(tree, iter(leaf_columns)), params=params, leaf_columns=leaf_columns)


def _node_sql(node: dict[str, Any], leaf_sql: Iterator[str]) -> str:
    op = node["op"]
    if op in ("all", "any"):
        joiner = " AND " if op == "all" else " OR "
        return "(" + joiner.join([_node_sql(child, leaf_sql) for child in node["children"]]) + ")"
    if op == "not":
        return f"(NOT {_node_sql(node['child'], leaf_sql)})"
    return next(leaf_sql)


def _leaf_sql(node: dict[str, Any], as_of: datetime, name: str, moment: str, lead: str) -> tuple[str, dict[str, Any]]:
    op = node["op"]
    if op in ("fit_gte", "score_gte"):
        column = "fit" if op == "fit_gte" else "score"
        # A lead not scored yet has no LeadScore row: it counts as zero, so at or below zero the
        # test is that no row falls short. EXISTS, not the row's value looked up: over every lead
        # (a segment's count, a backtest) PostgreSQL joins the score table once instead of probing
        # it once per lead (1 s for a million leads).
        negate, cmp = ("", ">=") if node["value"] > 0 else ("NOT ", "<")
        text = (
            f"({negate}EXISTS (SELECT 1 FROM leads_leadscore s "
            f"WHERE s.lead_id = {lead}.id AND s.{column} {cmp} %({name}_value)s))"
        )
        return text, {f"{name}_value": node["value"]}
    if op == "attr":
        condition = {"field": node["field"], "op": node["cmp"], "value": node.get("value")}
        text, params = sql.named(name, condition_sql(condition, vendor=sql.vendor(), alias=lead))
        return f"({text})", params
    if op == "has_event":
        return _has_event_sql(node, as_of, name, moment, lead)
    return _event_after_sql(node, name, moment, lead)


def _event_filter(
    alias: str, name: str, event_type: str, where: dict[str, Any], moment: str, lead: str
) -> tuple[str, dict[str, Any]]:
    json_sql, params = sql.named(f"{name}_where", sql.json_has(f"{alias}.properties", where or {}))
    text = (
        f"{alias}.lead_id = {lead}.id AND {alias}.type = %({name}_type)s AND {alias}.occurred_at <= %({moment})s "
        f"AND {json_sql}"
    )
    return text, {f"{name}_type": event_type, **params}


def _has_event_sql(
    node: dict[str, Any], as_of: datetime, name: str, moment: str, lead: str
) -> tuple[str, dict[str, Any]]:
    text, params = _event_filter("e", name, node["event"], node.get("where") or {}, moment, lead)
    if node.get("within_days"):
        text += f" AND e.occurred_at >= %({name}_since)s"
        params[f"{name}_since"] = sql.db_datetime(as_of - timedelta(days=node["within_days"]))
    count = node.get("min_count") or 1
    if count == 1:
        return f"EXISTS (SELECT 1 FROM leads_event e WHERE {text})", params
    params[f"{name}_count"] = count
    return f"((SELECT COUNT(*) FROM leads_event e WHERE {text}) >= %({name}_count)s)", params


def _event_after_sql(node: dict[str, Any], name: str, moment: str, lead: str) -> tuple[str, dict[str, Any]]:
    # "Some X after the first Y" is "latest X > earliest Y": two index endpoint lookups.
    x_sql, x_params = _event_filter("x", f"{name}_x", node["event"], node.get("where") or {}, moment, lead)
    y_sql, y_params = _event_filter("y", f"{name}_y", node["after"], {}, moment, lead)
    text = (
        f"COALESCE((SELECT MAX(x.occurred_at) FROM leads_event x WHERE {x_sql})"
        f" > (SELECT MIN(y.occurred_at) FROM leads_event y WHERE {y_sql}), FALSE)"
    )
    return text, {**x_params, **y_params}


# --- Live qualification (services.py) ---------------------------------------------------


def qualifying(
    mql: Compiled | None,
    sql_tree: Compiled | None,
    *,
    promotes_from: list[str],
    stages: list[str],
    ids: list[int] | None,
) -> tuple[str, dict[str, Any]]:
    """(id, stage, to_mql, to_sql) of the leads at `stages` that a tree promotes: `mql` those at
    `promotes_from`, `sql_tree` MQLs and the leads the MQL tree promotes (so a lead can go
    lead → mql → sql at once). Over the leads with these `ids`, or with `ids` None over the
    id range %(first)s to %(last)s.
    """
    params: dict[str, Any] = {}
    to_mql = to_sql = "0"
    if mql:
        moves_from, from_params = sql.named("from", (sql.in_list(promotes_from), promotes_from))
        to_mql = f"CASE WHEN l.stage IN ({moves_from}) AND {mql.condition} THEN 1 ELSE 0 END"
        params |= from_params | mql.params
    if sql_tree:
        to_sql = f"CASE WHEN (l.stage = %(stage_mql)s OR l.to_mql = 1) AND {sql_tree.condition} THEN 1 ELSE 0 END"
        params |= sql_tree.params | {"stage_mql": Stage.MQL}
    at_stages, stage_params = sql.named("stage", (sql.in_list(stages), stages))
    params |= stage_params
    if ids is None:
        leads, bounds = "leads_lead", " AND l.id BETWEEN %(first)s AND %(last)s"
    else:
        # Looked up by id first (fenced): left to itself, PostgreSQL ANDs the id list with a
        # bitmap of every lead at the stage, 180k entries for a thousand leads.
        condition, id_params = sql.named("id", sql.any_of("id", ids))
        leads, bounds = f"(SELECT * FROM leads_lead WHERE {condition}{sql.fence()})", ""
        params |= id_params
    # Fenced so each tree's subqueries run once per lead, not wherever a flag is named.
    statement = (
        f"SELECT id, stage, to_mql, to_sql FROM ("
        f"SELECT l.id, l.stage, l.to_mql, {to_sql} AS to_sql FROM ("
        f"SELECT l.*, {to_mql} AS to_mql FROM {leads} l WHERE l.stage IN ({at_stages}){bounds}"
        f"{sql.fence()}) l{sql.fence()}) q WHERE to_mql = 1 OR to_sql = 1"
    )
    return statement, params


def matched_leaves(compiled: Compiled, ids: list[int]) -> tuple[str, dict[str, Any]]:
    """Each lead's id and, per leaf of the tree, 1 where it holds."""
    columns = ", ".join(f"CASE WHEN {text} THEN 1 ELSE 0 END" for text in compiled.leaf_columns)
    listed, params = sql.named("id", (sql.in_list(ids), ids))
    return f"SELECT l.id, {columns} FROM leads_lead l WHERE l.id IN ({listed})", {**compiled.params, **params}


# --- Backtests (backtest.py) and reviews (selectors.py) ---------------------------------


def qualified_as_of(compiled: Compiled) -> str:
    """The leads that existed at %(as_of)s and that the tree, compiled as of then, qualifies."""
    return f"SELECT l.id FROM leads_lead l WHERE l.created_at <= %(as_of)s AND {compiled.condition}"


def not_qualifying(compiled: Compiled) -> str:
    """At most %(limit)s leads at %(stage)s that the tree would not qualify."""
    return f"SELECT l.id FROM leads_lead l WHERE l.stage = %(stage)s AND NOT {compiled.condition} LIMIT %(limit)s"


# --- What the instance has seen (the builder's suggestions) -------------------------------

# The distinct event types, one index step each: the (type, occurred_at) index is walked from
# one type to the next instead of reading every event (a million events have a few dozen types).
EVENT_TYPES = """
WITH RECURSIVE seen(type) AS (
    SELECT MIN(type) FROM leads_event
    UNION ALL
    SELECT (SELECT MIN(e.type) FROM leads_event e WHERE e.type > seen.type) FROM seen WHERE seen.type IS NOT NULL
)
SELECT type FROM seen WHERE type IS NOT NULL LIMIT %(limit)s
"""

# The latest events of one type, newest first through the same index: their properties show
# what a filter on that type may name.
EVENT_PROPERTIES = """
SELECT properties FROM leads_event WHERE type = %(type)s ORDER BY occurred_at DESC LIMIT %(limit)s
"""
