"""Template helpers for the playbook builder: errors keyed by dotted paths."""

from typing import Any

from django import template

register = template.Library()

LABELS = {"trigger": "Trigger", "steps": "Step", "exits": "Exit", "name": "Name", "reentry_days": "Re-entry"}


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def has_prefix(mapping: dict[str, Any], prefix: str) -> bool:
    return isinstance(mapping, dict) and any(key.startswith(prefix) for key in mapping)


@register.filter
def field_label(key: str) -> str:
    """`steps.2.template` → "Step 3, template"."""
    head, _, rest = key.partition(".")
    if head == "steps" and rest:
        number, _, field = rest.partition(".")
        if number.isdigit():
            return f"Step {int(number) + 1}" + (f", {field}" if field else "")
    label = LABELS.get(head, head.replace("_", " ").capitalize())
    return f"{label}, {rest.replace('.', ' ')}" if rest else label
