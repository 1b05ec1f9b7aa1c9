"""Attribute conditions on a lead: `{"field": "industry", "op": "in", "value": ["SaaS", "Fintech"]}`.

Personas weigh them, qualification trees test them. Each condition is validated once, then
either compiled to SQL (set-based scoring and qualification over every lead) or checked in
Python against one lead (to explain a score on the lead page). Text compares ignore case.
"""

import math
import re
from typing import Any

from leads.models import LEAD_ATTRIBUTE_FIELDS, Lead

NUMERIC_FIELDS = {"company_size"}

OPERATORS = {
    "eq": "is",
    "neq": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
    "present": "is known",
    "absent": "is unknown",
}

NO_VALUE_OPERATORS = {"present", "absent"}

LIST_OPERATORS = {"in", "not_in"}

NUMERIC_OPERATORS = {"gte", "lte"}


def condition_errors(condition: Any) -> list[str]:
    """What is wrong with a condition, in words a marketer understands (empty when valid).

    The one check for every condition, wherever it is saved: a persona's, a qualification
    tree's `attr` leaf, an assignment rule's. The builders parse typed text into values first
    (`condition_value`), so a number typed in a box arrives as a number.
    """
    if not isinstance(condition, dict):
        return ["A condition must be an object with field, op and value."]
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if field not in LEAD_ATTRIBUTE_FIELDS:
        return [f"Unknown field {field!r}; choose one of {', '.join(LEAD_ATTRIBUTE_FIELDS)}."]
    if op not in OPERATORS:
        return [f"Unknown operator {op!r}; choose one of {', '.join(OPERATORS)}."]
    if op in NO_VALUE_OPERATORS:
        return []
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not value or not all(isinstance(v, str | int) for v in value):
            return [f"{field} {OPERATORS[op]}: give a non-empty list of values."]
        if field in NUMERIC_FIELDS and not all(_is_whole_number(v) for v in value):
            return [f"{field} {OPERATORS[op]}: give whole numbers."]
        return []
    if op in NUMERIC_OPERATORS or field in NUMERIC_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{field} {OPERATORS[op]}: give a number."]
        return []
    if not isinstance(value, str) or not value.strip():
        return [f"{field} {OPERATORS[op]}: give a value."]
    return []


def _is_whole_number(value: Any) -> bool:
    """10 or "10" (a list typed in JSON may quote its numbers); the SQL casts each to a number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def describe_condition(condition: dict[str, Any]) -> str:
    label = LEAD_ATTRIBUTE_FIELDS.get(condition["field"], condition["field"])
    op = condition["op"]
    if op in NO_VALUE_OPERATORS:
        return f"{label} {OPERATORS[op]}"
    value = condition.get("value")
    shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return f"{label} {OPERATORS[op]} {shown}"


def _column_sql(field: str, vendor: str, alias: str) -> str:
    # The field's name goes into the SQL text: check it here too, not only when it was saved.
    if field not in LEAD_ATTRIBUTE_FIELDS:
        raise ValueError(f"Not a lead attribute: {field!r}")
    if field == "email_domain":
        if vendor == "postgresql":
            return f"split_part({alias}.email, '@', 2)"
        return f"substr({alias}.email, instr({alias}.email, '@') + 1)"
    return f"{alias}.{field}"


def condition_sql(condition: dict[str, Any], *, vendor: str, alias: str = "l") -> tuple[str, list[Any]]:
    """The condition as a SQL boolean over the lead row `alias`, with its parameters."""
    field, op, value = condition["field"], condition["op"], condition.get("value")
    if op not in OPERATORS:
        raise ValueError(f"Not a condition operator: {op!r}")
    column = _column_sql(field, vendor, alias)
    if field in NUMERIC_FIELDS:
        return _numeric_sql(column, op, value)
    text = f"LOWER(COALESCE({column}, ''))"
    if op == "present":
        return f"{text} <> ''", []
    if op == "absent":
        return f"{text} = ''", []
    if op in LIST_OPERATORS:
        marks = ", ".join(["%s"] * len(value))
        negate = "NOT " if op == "not_in" else ""
        return f"{text} {negate}IN ({marks})", [str(v).lower() for v in value]
    if op == "contains":
        return f"{text} LIKE %s ESCAPE '!'", ["%" + _escape_like(str(value).lower()) + "%"]
    if op in NUMERIC_OPERATORS:
        return f"{text} {'>=' if op == 'gte' else '<='} %s", [str(value).lower()]
    return f"{text} {'=' if op == 'eq' else '<>'} %s", [str(value).lower()]


def _numeric_sql(column: str, op: str, value: Any) -> tuple[str, list[Any]]:
    if op == "present":
        return f"{column} IS NOT NULL", []
    if op == "absent":
        return f"{column} IS NULL", []
    if op in LIST_OPERATORS:
        marks = ", ".join(["%s"] * len(value))
        negate = "NOT " if op == "not_in" else ""
        return f"COALESCE({column} {negate}IN ({marks}), FALSE)", [int(v) for v in value]
    sql_op = {"eq": "=", "neq": "<>", "gte": ">=", "lte": "<=", "contains": "="}[op]
    return f"COALESCE({column} {sql_op} %s, FALSE)", [value]


def _escape_like(text: str) -> str:
    """A value's own % and _ match themselves, not any text."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def lead_value(lead: Lead, field: str) -> Any:
    if field == "email_domain":
        return lead.email.rpartition("@")[2]
    return getattr(lead, field)


def condition_matches(condition: dict[str, Any], lead: Lead) -> bool:
    """The same test as condition_sql, for one lead in memory."""
    field, op, value = condition["field"], condition["op"], condition.get("value")
    actual = lead_value(lead, field)
    if field in NUMERIC_FIELDS:
        return _numeric_matches(actual, op, value)
    text = (actual or "").lower()
    if op == "present":
        return text != ""
    if op == "absent":
        return text == ""
    if op in LIST_OPERATORS:
        inside = text in {str(v).lower() for v in value}
        return inside if op == "in" else not inside
    if op == "contains":
        return str(value).lower() in text
    if op == "gte":
        return text >= str(value).lower()
    if op == "lte":
        return text <= str(value).lower()
    return (text == str(value).lower()) == (op == "eq")


def _numeric_matches(actual: Any, op: str, value: Any) -> bool:
    if op == "present":
        return actual is not None
    if op == "absent":
        return actual is None
    if actual is None:
        return False
    if op in LIST_OPERATORS:
        inside = actual in {int(v) for v in value}
        return inside if op == "in" else not inside
    return {
        "eq": actual == value,
        "contains": actual == value,
        "neq": actual != value,
        "gte": actual >= value,
        "lte": actual <= value,
    }[op]


# --- Values typed as text (the persona, rule and definition builders' boxes) ------------


def parse_number(text: str) -> Any:
    """A whole or decimal number from text; anything else is returned as typed, for the validator to name."""
    text = text.strip()
    if re.fullmatch(r"[-+]?\d{1,12}", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def condition_value(*, field: str, op: str, text: str) -> Any:
    """What a condition's value box means for its field and operator (lists are comma-separated)."""
    text = text.strip()
    if op in NO_VALUE_OPERATORS:
        return None
    if op in LIST_OPERATORS:
        items = [item.strip() for item in text.split(",") if item.strip()]
        return [parse_number(item) for item in items] if field in NUMERIC_FIELDS else items
    if op in NUMERIC_OPERATORS or field in NUMERIC_FIELDS:
        return parse_number(text)
    return text


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def parse_where(text: str) -> tuple[dict[str, str], str]:
    """``plan=pro, seats=10`` → {"plan": "pro", "seats": "10"}, or an error message."""
    where: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sign, value = item.partition("=")
        if not sign or not key.strip():
            return {}, f"Write the property filter as property=value (got {item!r})."
        where[key.strip()] = value.strip()
    return where, ""


def where_text(where: Any) -> str:
    if not isinstance(where, dict):
        return ""
    return ", ".join(f"{key}={value}" for key, value in where.items())
