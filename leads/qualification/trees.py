"""Qualification rule trees: validate, describe, explain for one lead (compiled to SQL in
qualification/sql.py).

A tree is JSON. Branches: ``{"op": "all" | "any", "children": [...]}`` and
``{"op": "not", "child": {...}}``. Leaves:

- ``{"op": "fit_gte", "value": 60}`` and ``{"op": "score_gte", "value": 50}``
- ``{"op": "has_event", "event": "trial_started", "where": {"plan": "pro"}, "within_days": 30,
  "min_count": 1}`` (``where``, ``within_days`` and ``min_count`` optional)
- ``{"op": "event_after", "event": "pricing_downloaded", "after": "webinar_attended"}``: some X
  happened after the first Y (``where`` filters X)
- ``{"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "MX"]}`` (see conditions.py)

A tree is evaluated *as of* a moment: only events up to that moment count, and windows
are measured back from it. That is what makes a backtest honest. Fit and score are the
lead's current values (they are not kept as history).
"""

import re
from datetime import datetime, timedelta
from typing import Any

from leads.conditions import condition_errors, condition_matches, describe_condition
from leads.models import EVENT_TYPE_PATTERN, Lead
from smarketing.lib import sql

MAX_DEPTH = 8


MAX_NODES = 60


EVENT_TYPE_RE = re.compile(EVENT_TYPE_PATTERN)


LEAF_OPS = {"fit_gte", "score_gte", "has_event", "event_after", "attr"}


BRANCH_OPS = {"all", "any", "not"}


def tree_errors(tree: Any) -> list[str]:
    """Every problem in a tree, each with its path (`children.1.value: …`); empty when valid."""
    errors: list[str] = []
    counter = [0]
    _check(tree, "", 0, errors, counter)
    if counter[0] > MAX_NODES:
        errors.append(f"The tree has {counter[0]} rules; keep it under {MAX_NODES}.")
    unstorable = sql.json_problem(tree)  # text the database cannot hold, wherever it sits
    if unstorable:
        errors.append(unstorable)
    return errors


def _check(node: Any, path: str, depth: int, errors: list[str], counter: list[int]) -> None:
    counter[0] += 1
    where = f"{path}: " if path else ""
    if depth > MAX_DEPTH:
        errors.append(f"{where}nested too deep (at most {MAX_DEPTH} levels).")
        return
    if not isinstance(node, dict) or node.get("op") not in LEAF_OPS | BRANCH_OPS:
        ops = ", ".join(sorted(LEAF_OPS | BRANCH_OPS))
        errors.append(f"{where}each rule needs an op, one of {ops}.")
        return
    op = node["op"]
    if op in ("all", "any"):
        children = node.get("children")
        if not isinstance(children, list) or not children:
            errors.append(f"{where}'{op}' needs at least one rule inside.")
            return
        for index, child in enumerate(children):
            _check(child, f"{path}.children.{index}".lstrip("."), depth + 1, errors, counter)
    elif op == "not":
        _check(node.get("child"), f"{path}.child".lstrip("."), depth + 1, errors, counter)
    else:
        errors.extend(where + message for message in _leaf_errors(node))


def _leaf_errors(node: dict[str, Any]) -> list[str]:
    op = node["op"]
    if op in ("fit_gte", "score_gte"):
        value = node.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1000 <= value <= 10000:
            return [f"{op} needs a number."]
        return []
    if op == "attr":
        condition = {"field": node.get("field"), "op": node.get("cmp"), "value": node.get("value")}
        return condition_errors(condition)
    errors = []
    for key in ("event", "after") if op == "event_after" else ("event",):
        name = node.get(key)
        if not isinstance(name, str) or not EVENT_TYPE_RE.match(name):
            errors.append(
                f"{key} must be an event type as the events API takes it: lower case letters, digits "
                "and _ . - (up to 64 characters), like webinar_attended."
            )
    where = node.get("where", {})
    if not isinstance(where, dict) or not all(isinstance(v, str | int | float | bool) for v in where.values()):
        errors.append("where must map property names to plain values.")
    for key, low, high in (("within_days", 1, 3650), ("min_count", 1, 1000)):
        value = node.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            errors.append(f"{key} must be a whole number from {low} to {high}.")
    return errors


def leaves(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The tree's leaves in order; their index is how stage changes cite the rules that matched."""
    if tree.get("op") in ("all", "any"):
        return [leaf for child in tree["children"] for leaf in leaves(child)]
    if tree.get("op") == "not":
        return leaves(tree["child"])
    return [tree]


def describe(node: dict[str, Any]) -> str:
    """One readable sentence for a leaf."""
    op = node["op"]
    if op == "fit_gte":
        return f"fit is at least {node['value']}"
    if op == "score_gte":
        return f"score is at least {node['value']}"
    if op == "attr":
        return describe_condition({"field": node["field"], "op": node["cmp"], "value": node.get("value")}).lower()
    what = node["event"].replace("_", " ")
    where = "".join(f" with {key} = {value}" for key, value in (node.get("where") or {}).items())
    if op == "event_after":
        return f"{what}{where} after {node['after'].replace('_', ' ')}"
    count = node.get("min_count") or 1
    times = f" at least {count} times" if count > 1 else ""
    window = f" in the last {node['within_days']} days" if node.get("within_days") else ""
    return f"{what}{where}{times}{window}"


def outline(node: dict[str, Any], depth: int = 0) -> list[tuple[int, str]]:
    """The tree as indented lines of sentences, for pages and diffs."""
    op = node["op"]
    if op in ("all", "any"):
        head = "all of:" if op == "all" else "any of:"
        return [(depth, head)] + [line for child in node["children"] for line in outline(child, depth + 1)]
    if op == "not":
        return [(depth, "none of:"), *outline(node["child"], depth + 1)]
    return [(depth, describe(node))]


def explain(tree: dict[str, Any], lead: Lead, events: list[Any], as_of: datetime) -> list[dict[str, Any]]:
    """Each leaf with whether it holds for this lead and the event that proves it."""
    return [{"rule": describe(leaf), **_leaf_holds(leaf, lead, events, as_of)} for leaf in leaves(tree)]


def _matching(events: list[Any], event_type: str, where: dict[str, Any], as_of: datetime) -> list[Any]:
    return [
        e
        for e in events
        if e.type == event_type
        and e.occurred_at <= as_of
        and all((e.properties or {}).get(key) == value for key, value in where.items())
    ]


def _leaf_holds(node: dict[str, Any], lead: Lead, events: list[Any], as_of: datetime) -> dict[str, Any]:
    op = node["op"]
    if op == "fit_gte":
        return {"holds": lead.fit_score >= node["value"], "at": None}
    if op == "score_gte":
        return {"holds": lead.score >= node["value"], "at": None}
    if op == "attr":
        condition = {"field": node["field"], "op": node["cmp"], "value": node.get("value")}
        return {"holds": condition_matches(condition, lead), "at": None}
    found = _matching(events, node["event"], node.get("where") or {}, as_of)
    if op == "has_event":
        if node.get("within_days"):
            since = as_of - timedelta(days=node["within_days"])
            found = [e for e in found if e.occurred_at >= since]
        ok = len(found) >= (node.get("min_count") or 1)
        return {"holds": ok, "at": min(e.occurred_at for e in found) if ok else None}
    firsts = _matching(events, node["after"], {}, as_of)
    if not found or not firsts:
        return {"holds": False, "at": None}
    first_y = min(e.occurred_at for e in firsts)
    later = [e.occurred_at for e in found if e.occurred_at > first_y]
    return {"holds": bool(later), "at": min(later) if later else None}
