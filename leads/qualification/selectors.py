"""Reads on qualification: the active definition, why a lead qualified (the rules that held at
each automatic move), which leads a definition would no longer qualify, and a readable diff
between two versions.
"""

import difflib
from typing import Any

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
