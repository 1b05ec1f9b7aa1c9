"""Reads on qualification: the active definition, why a lead qualified (the rules that held at
each automatic move), which leads a definition would no longer qualify, and a readable diff
between two versions; the event types and properties the instance has seen, for the builder.
"""

import difflib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from leads.models import (
    ChangeSource,
    DefinitionStatus,
    Lead,
    QualificationDefinition,
    Stage,
)
from leads.qualification import sql as qualification_sql
from leads.qualification import trees
from smarketing.lib import sql


def active_definition() -> QualificationDefinition | None:
    return QualificationDefinition.objects.filter(status=DefinitionStatus.ACTIVE).first()


def leads_no_longer_qualifying(*, definition: QualificationDefinition, limit: int = 200) -> list[Lead]:
    """MQLs and SQLs the definition would not qualify today: listed for review, never demoted."""
    now = timezone.now()
    found: list[Lead] = []
    for stage, tree in ((Stage.MQL, definition.mql_rule), (Stage.SQL, definition.sql_rule)):
        if not tree:
            continue
        compiled = qualification_sql.compile_tree(tree, as_of=now, name="tree")
        statement = qualification_sql.not_qualifying(compiled)
        with connection.cursor() as cursor:
            cursor.execute(*sql.bind(statement, stage=stage, limit=limit, **compiled.params))
            ids = [row[0] for row in cursor.fetchall()]
        found.extend(Lead.objects.filter(pk__in=ids).select_related("scoring").order_by("-scoring__score", "id"))
    return found[:limit]


def why_qualified(lead: Lead) -> list[dict[str, Any]]:
    """For the lead page: each qualification move, its version and the rules that held."""
    changes = lead.stage_changes.filter(source=ChangeSource.RULE).order_by("changed_at", "id")
    return [
        {"to": c.get_to_stage_display(), "version": c.definition_version, "at": c.changed_at, "rules": c.matched_rules}
        for c in changes
    ]


def definitions_diff(old: QualificationDefinition | None, new: QualificationDefinition) -> list[dict[str, Any]]:
    """Line-by-line comparison of two versions' rule trees, as readable sentences."""
    out = []
    for label, key in (("MQL", "mql_rule"), ("SQL", "sql_rule")):
        before = _lines(getattr(old, key) if old else {})
        after = _lines(getattr(new, key))
        for line in difflib.ndiff(before, after):
            if line.startswith("?"):
                continue
            out.append({"part": label, "change": {"+": "added", "-": "removed"}.get(line[0], "same"), "text": line[2:]})
    return out


def _lines(tree: dict[str, Any]) -> list[str]:
    return ["  " * depth + text for depth, text in trees.outline(tree)] if tree else []


EVENT_TYPES_SHOWN = 200
PROPERTY_SAMPLE = 200  # latest events of a type read for its properties
CATALOG_SECONDS = 300  # the builder's suggestions may lag new event types by this much


def event_types_seen() -> list[str]:
    """The event types the instance has received, for the builder to offer (cached a while)."""
    found = cache.get("qualification:event-types")
    if found is None:
        statement, params = sql.bind(qualification_sql.EVENT_TYPES, limit=EVENT_TYPES_SHOWN)
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            found = [row[0] for row in cursor.fetchall()]
        cache.set("qualification:event-types", found, CATALOG_SECONDS)
    return found


def event_properties_seen(event_type: str, *, values_per_key: int = 5) -> list[str]:
    """`key=value` filters that the latest events of this type would match, most common first."""
    if not event_type:
        return []
    key = f"qualification:event-properties:{event_type}"
    found = cache.get(key)
    if found is None:
        statement, params = sql.bind(qualification_sql.EVENT_PROPERTIES, type=event_type, limit=PROPERTY_SAMPLE)
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            found = _common_pairs((row[0] for row in cursor.fetchall()), values_per_key)
        cache.set(key, found, CATALOG_SECONDS)
    return found


def _common_pairs(rows: Iterable[Any], values_per_key: int) -> list[str]:
    counts: Counter[tuple[str, str]] = Counter()
    for properties in rows:
        data = json.loads(properties) if isinstance(properties, str) else properties
        for name, value in (data or {}).items():
            if isinstance(value, str | int | float | bool) and len(str(value)) <= 60:
                counts[(name, str(value))] += 1
    per_key: Counter[str] = Counter()
    pairs = []
    for (name, value), _ in counts.most_common():
        if per_key[name] < values_per_key:
            per_key[name] += 1
            pairs.append(f"{name}={value}")
    return pairs
