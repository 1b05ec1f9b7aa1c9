"""The builder page's form, read into the playbook's JSON and written back out.

The builder is one form with no script: each step is a group of fields named `sN-…`, and the
buttons that add, move or remove a step post the form back, which is redrawn with the change
and nothing saved. "Save" hands the JSON to the engine, whose refusals (keyed `steps.2.template`)
are shown beside the step and field they name. Condition trees are written as JSON.
"""

import json
from typing import Any

from django.http import QueryDict

from leads.conditions import parse_where, where_text
from playbooks.models import Playbook

STEP_FIELDS = {
    "wait": ("days", "hours"),
    "wait_until": ("weekday", "hour"),
    "email": ("template",),
    "list_add": ("list",),
    "list_remove": ("list",),
    "set_field": ("field", "value"),
    "set_stage": ("stage",),
    "branch": ("condition", "then", "else"),
    "notify_owner": ("text",),
    "create_task": ("title", "due_days"),
    "webhook": ("url",),
}
NUMBERS = {"days", "hours", "weekday", "hour", "template", "list", "due_days"}
TRIGGER_FIELDS = {
    "stage_entered": ("stage",),
    "event": ("event", "where"),
    "form_submitted": ("form",),
    "score_crossed": ("value",),
    "list_joined": ("list",),
    "manual": (),
}
MAX_STEPS_POSTED = 60


def definition_from_post(post: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The playbook the form describes, and what could not even be read (bad JSON)."""
    unreadable: dict[str, list[str]] = {}
    trigger_type = post.get("trigger_type", "")
    trigger: dict[str, Any] = {"type": trigger_type}
    for name in TRIGGER_FIELDS.get(trigger_type, ()):
        raw = post.get(f"trigger_{name}", "").strip()
        if name == "where":
            trigger["where"], problem = parse_where(raw)
            if problem:
                unreadable["trigger.where"] = [problem]
        else:
            trigger[name] = _number(raw) if name in ("value", "list") else raw
    steps = [_step(post, index, unreadable) for index in range(_count(post))]
    exits: list[dict[str, Any]] = []
    if post.get("exit_stage"):
        exits.append({"type": "stage_reached", "stage": post["exit_stage"]})
    goal = post.get("exit_goal", "").strip()
    if goal:
        parsed = _json(goal, "exits.goal", unreadable)
        exits.append({"type": "goal", "condition": parsed})
    data = {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "trigger": trigger,
        "steps": steps,
        "exits": exits,
        "reentry": post.get("reentry", Playbook.Reentry.NEVER),
        "reentry_days": _number(post.get("reentry_days", "").strip()) or None,
    }
    return data, unreadable


def _count(post: QueryDict) -> int:
    try:
        return max(0, min(int(post.get("step_count", "0")), MAX_STEPS_POSTED))
    except ValueError:
        return 0


def _step(post: QueryDict, index: int, unreadable: dict[str, list[str]]) -> dict[str, Any]:
    prefix = f"s{index}-"
    kind = post.get(prefix + "type", "")
    step: dict[str, Any] = {"key": post.get(prefix + "key", ""), "type": kind}
    for name in STEP_FIELDS.get(kind, ()):
        raw = post.get(prefix + name, "").strip()
        if name == "condition":
            step[name] = _json(raw, f"steps.{index}.condition", unreadable)
        elif name in NUMBERS:
            step[name] = None if raw == "" and name == "weekday" else _number(raw)
        else:
            step[name] = raw if name != "value" else post.get(prefix + name, "")
    return step


def _number(raw: str) -> Any:
    try:
        return int(raw)
    except ValueError:
        return raw or 0


def _json(raw: str, key: str, unreadable: dict[str, list[str]]) -> Any:
    try:
        return json.loads(raw or "null")
    except ValueError as error:
        unreadable[key] = [f"Not valid JSON: {error}."]
        return None


def steps_changed(steps: list[dict[str, Any]], action: str, new_type: str) -> list[dict[str, Any]]:
    """The steps after an "add", "up-N", "down-N" or "remove-N" button."""
    steps = list(steps)
    if action == "add" and new_type in STEP_FIELDS and len(steps) < MAX_STEPS_POSTED:
        steps.append(_new_step(new_type))
        return steps
    verb, _, number = action.partition("-")
    if not number.isdigit() or int(number) >= len(steps):
        return steps
    index = int(number)
    if verb == "remove":
        steps.pop(index)
    elif verb == "up" and index > 0:
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
    elif verb == "down" and index < len(steps) - 1:
        steps[index + 1], steps[index] = steps[index], steps[index + 1]
    return steps


def _new_step(kind: str) -> dict[str, Any]:
    defaults = {
        "wait": {"days": 1, "hours": 0},
        "wait_until": {"weekday": None, "hour": 9},
        "branch": {"then": "next", "else": "next"},
    }
    return {"key": "", "type": kind, **defaults.get(kind, {})}


def step_text(step: dict[str, Any], name: str) -> str:
    """A step's value as its field shows it."""
    value = step.get(name)
    if name == "condition":
        return "" if value is None else json.dumps(value, indent=2)
    return "" if value is None else str(value)


def trigger_where_text(trigger: dict[str, Any]) -> str:
    return where_text(trigger.get("where") or {})
