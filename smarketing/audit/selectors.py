"""Reads of the audit log: the entries a filter matches, who appears in it, and an entry's
before and after laid side by side."""

import difflib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from smarketing.audit.models import ConfigChange

MAX_DEPTH = 12  # the deepest indent the stylesheet draws (depth-0 … depth-12)


def config_changes(
    *,
    kind: str = "",
    actor: int | None = None,
    since: date | None = None,
    until: date | None = None,
    search: str = "",
    object_id: int | None = None,
) -> QuerySet[ConfigChange]:
    """Entries newest first; the days are the instance's, both ends included."""
    rows = ConfigChange.objects.order_by("-at", "-id")
    if kind:
        rows = rows.filter(kind=kind)
    if object_id is not None:
        rows = rows.filter(object_id=object_id)
    if actor is not None:
        rows = rows.filter(actor_id=actor)
    if since:
        rows = rows.filter(at__gte=_day_start(since))
    if until:
        rows = rows.filter(at__lt=_day_start(until + timedelta(days=1)))
    if search:
        rows = rows.filter(Q(object_label__icontains=search) | Q(actor_name__icontains=search))
    return rows


def config_actors() -> list[tuple[int, str]]:
    """Everyone who has changed configuration, for the page's filter."""
    rows = ConfigChange.objects.filter(actor__isnull=False).values_list("actor_id", "actor_name").distinct()
    return sorted(set(rows), key=lambda row: row[1].lower())


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class Line:
    text: str
    change: str  # "added", "removed" or "" (the same on both sides)
    depth: int


@dataclass
class FieldChange:
    name: str
    label: str
    before: str
    after: str
    lines: list[Line] = field(default_factory=list)  # JSON values: a line diff of before and after


def change_fields(entry: ConfigChange) -> list[FieldChange]:
    """Each field of the entry with its value before and after, as text; a JSON value (a rule
    tree, a playbook's steps) also as a line diff, so a change deep inside it shows."""
    names = list(dict.fromkeys([*entry.after, *entry.before]))
    rows = []
    for name in names:
        old, new = entry.before.get(name), entry.after.get(name)
        row = FieldChange(name=name, label=name.replace("_", " ").capitalize(), before=_text(old), after=_text(new))
        if _is_json(old) or _is_json(new):
            row.lines = _line_diff(old, new)
        rows.append(row)
    return rows


def _is_json(value: Any) -> bool:
    """A rule tree, a condition list, a playbook's steps: not a related object or a list of them."""
    return isinstance(value, dict | list) and not _is_related(value)


def _is_related(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_is_related(item) for item in value)
    return isinstance(value, dict) and set(value) == {"id", "label"}


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_related(value):
        items = value if isinstance(value, list) else [value]
        return ", ".join(item["label"] or f"#{item['id']}" for item in items)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False) if value else "—"
    return str(value)


def _line_diff(old: Any, new: Any) -> list[Line]:
    before = _pretty(old)
    after = _pretty(new)
    lines = []
    for row in difflib.ndiff(before, after):
        sign, text = row[:1], row[2:]
        if sign in ("?",):
            continue
        change = {"+": "added", "-": "removed"}.get(sign, "")
        indent = (len(text) - len(text.lstrip(" "))) // 2
        lines.append(Line(text=text.strip(), change=change, depth=min(indent, MAX_DEPTH)))
    return lines


def _pretty(value: Any) -> list[str]:
    if value is None:
        return []
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
