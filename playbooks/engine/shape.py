"""A playbook's definition: its trigger, its steps and its exits, as JSON. The builder page
saves this shape and the API takes it; this module is the one check both go through.

    trigger  {"type": "stage_entered", "stage": "opportunity"}
             {"type": "event", "event": "webinar_attended", "where": {"topic": "pricing"}}
             {"type": "form_submitted", "form": "<form key>"}
             {"type": "score_crossed", "value": 60}
             {"type": "list_joined", "list": <list id>}
             {"type": "manual"}
    steps    [{"key": "s1", "type": "wait", "days": 2, "hours": 0}, …] run in order; each has a
             key that stays when steps move (a step-run names it). Types: wait, wait_until
             (weekday 0-6 or null, hour), email (template), list_add / list_remove (list),
             set_field (field, value), set_stage (stage, forward only), branch (condition,
             then, else: "next", "exit" or a later step's key), notify_owner (text),
             create_task (title, due_days), webhook (url).
    exits    [{"type": "goal", "condition": <tree>}, {"type": "stage_reached", "stage": "customer"}]
             (a lead that unsubscribes always leaves).

A branch may only jump forward, so a run always ends: a playbook that would loop is refused,
and so is one that adds its leads to the list that enrols them when they may come back.
Condition trees are qualification's (leads.qualification.trees).
"""

import re
from typing import Any

from leads.models import EVENT_TYPE_PATTERN, FUNNEL, LEAD_PROFILE_FIELDS, CaptureForm, Stage
from leads.qualification.trees import tree_errors
from playbooks.models import EmailTemplate, LeadList, Playbook
from playbooks.outgoing.services import webhook_step_errors

EVENT_TYPE_RE = re.compile(EVENT_TYPE_PATTERN)
TRIGGERS = {
    "stage_entered": "Enters a stage",
    "event": "An event is received",
    "form_submitted": "Submits a form",
    "score_crossed": "Score reaches",
    "list_joined": "Joins a list",
    "manual": "Enrolled by hand",
}
STEPS = {
    "wait": "Wait",
    "wait_until": "Wait until a weekday and hour",
    "email": "Send an email",
    "list_add": "Add to a list",
    "list_remove": "Remove from a list",
    "set_field": "Set a field",
    "set_stage": "Move the stage forward",
    "branch": "Branch on a condition",
    "notify_owner": "Notify the owner",
    "create_task": "Create a task for the owner",
    "webhook": "Call a webhook",
}
EXITS = {"goal": "A goal is met", "stage_reached": "A stage is reached"}
SETTABLE_FIELDS = tuple(name for name in LEAD_PROFILE_FIELDS if name not in ("email", "company_size"))
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MAX_STEPS = 50
MAX_WAIT_DAYS = 365
JUMPS = ("next", "exit")

Errors = dict[str, list[str]]


def definition_cleaned(data: dict[str, Any], playbook: Playbook | None = None) -> tuple[dict[str, Any], Errors]:
    """The fields of a playbook as they will be stored, and every refusal keyed by field
    (`steps.2.template`: the third step's template)."""
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    current = (lambda name, default: getattr(playbook, name)) if playbook else (lambda name, default: default)
    name = data.get("name", current("name", ""))
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["This field is required."]
    elif len(name.strip()) > 120:
        errors["name"] = ["At most 120 characters."]
    else:
        cleaned["name"] = name.strip()
    description = data.get("description", current("description", ""))
    if not isinstance(description, str) or len(description) > 300:
        errors["description"] = ["At most 300 characters of text."]
    else:
        cleaned["description"] = description.strip()
    trigger = data.get("trigger", current("trigger", {}))
    _collect(errors, "trigger", _trigger_errors(trigger))
    cleaned["trigger"] = trigger
    steps = data.get("steps", current("steps", []))
    if not isinstance(steps, list):
        errors["steps"] = ["Steps must be a list."]
    else:
        steps = _keys_given([dict(step) if isinstance(step, dict) else step for step in steps])
        _collect(errors, "steps", _steps_errors(steps))
        cleaned["steps"] = steps
    exits = data.get("exits", current("exits", []))
    _collect(errors, "exits", _exits_errors(exits))
    cleaned["exits"] = exits
    reentry = data.get("reentry", current("reentry", Playbook.Reentry.NEVER))
    days = data.get("reentry_days", current("reentry_days", None))
    if reentry not in Playbook.Reentry.values:
        errors["reentry"] = [f"Choose one of {', '.join(Playbook.Reentry.values)}."]
    elif reentry == Playbook.Reentry.AFTER_DAYS and not _whole(days, 1, 3650):
        errors["reentry_days"] = ["Say after how many days (1 to 3650) a lead may enter again."]
    cleaned["reentry"], cleaned["reentry_days"] = reentry, days if reentry == Playbook.Reentry.AFTER_DAYS else None
    if not errors:
        loop = _loop(cleaned)
        if loop:
            errors["steps"] = [loop]
    return cleaned, errors


def sends_promotional(steps: list[dict[str, Any]]) -> bool:
    ids = [step["template"] for step in steps if step.get("type") == "email"]
    return EmailTemplate.objects.filter(pk__in=ids, kind="promotional").exists() if ids else False


def _collect(errors: Errors, prefix: str, found: Errors) -> None:
    for key, messages in found.items():
        errors.setdefault(f"{prefix}.{key}" if key else prefix, []).extend(messages)


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _trigger_errors(trigger: Any) -> Errors:
    if not isinstance(trigger, dict) or trigger.get("type") not in TRIGGERS:
        return {"type": [f"Choose a trigger: {', '.join(TRIGGERS)}."]}
    kind = trigger["type"]
    if kind == "stage_entered" and trigger.get("stage") not in Stage.values:
        return {"stage": [f"Choose a stage: {', '.join(Stage.values)}."]}
    if kind == "event":
        errors = _event_errors(trigger.get("event"))
        where = trigger.get("where", {})
        if not isinstance(where, dict) or not all(isinstance(v, str | int | float | bool) for v in where.values()):
            errors.setdefault("where", []).append("where must map property names to plain values.")
        return errors
    if kind == "form_submitted" and not CaptureForm.objects.filter(key=trigger.get("form")).exists():
        return {"form": ["Choose one of the hosted forms."]}
    if kind == "score_crossed" and not _whole(trigger.get("value"), 1, 10000):
        return {"value": ["Give the score, a whole number from 1 to 10000."]}
    if kind == "list_joined" and not _static_list(trigger.get("list")):
        return {"list": ["Choose one of the static lists."]}
    return {}


def _event_errors(name: Any) -> Errors:
    if not isinstance(name, str) or not EVENT_TYPE_RE.match(name):
        return {
            "event": [
                "An event type as the events API takes it: lower case letters, digits and _ . -, like webinar_attended."
            ]
        }
    return {}


def _static_list(list_id: Any) -> bool:
    return _whole(list_id, 1, 2**62) and LeadList.objects.filter(pk=list_id, kind=LeadList.Kind.STATIC).exists()


def _keys_given(steps: list[Any]) -> list[Any]:
    """Give every step without a key one that no other step uses."""
    used = {step.get("key") for step in steps if isinstance(step, dict)}
    number = 1
    for step in steps:
        if isinstance(step, dict) and not step.get("key"):
            while f"s{number}" in used:
                number += 1
            step["key"] = f"s{number}"
            used.add(step["key"])
    return steps


def _steps_errors(steps: list[Any]) -> Errors:
    errors: Errors = {}
    if len(steps) > MAX_STEPS:
        return {"": [f"At most {MAX_STEPS} steps."]}
    keys = [step.get("key") for step in steps if isinstance(step, dict)]
    for index, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("type") not in STEPS:
            errors[f"{index}.type"] = [f"Choose a step: {', '.join(STEPS)}."]
            continue
        key = step.get("key")
        if not isinstance(key, str) or not key.isidentifier() or len(key) > 20 or keys.count(key) > 1:
            errors[f"{index}.key"] = ["A step's key is a short name no other step uses."]
        for field, messages in _step_errors(step, later=keys[index + 1 :]).items():
            errors[f"{index}.{field}"] = messages
    return errors


def _step_errors(step: dict[str, Any], *, later: list[str]) -> Errors:  # noqa: PLR0911 -- one case per step type
    kind = step["type"]
    if kind == "wait":
        days, hours = step.get("days", 0), step.get("hours", 0)
        if not _whole(days, 0, MAX_WAIT_DAYS) or not _whole(hours, 0, 23) or days == hours == 0:
            return {"days": [f"Wait whole days (0-{MAX_WAIT_DAYS}) and hours (0-23), more than nothing."]}
    elif kind == "wait_until":
        weekday = step.get("weekday")
        if weekday is not None and not _whole(weekday, 0, 6):
            return {"weekday": ["A weekday from 0 (Monday) to 6 (Sunday), or none for the next day at that hour."]}
        if not _whole(step.get("hour"), 0, 23):
            return {"hour": ["An hour from 0 to 23."]}
    elif kind == "email":
        if not (_whole(step.get("template"), 1, 2**62) and EmailTemplate.objects.filter(pk=step["template"]).exists()):
            return {"template": ["Choose one of the email templates."]}
    elif kind in ("list_add", "list_remove"):
        if not _static_list(step.get("list")):
            return {"list": ["Choose one of the static lists."]}
    elif kind == "set_field":
        if step.get("field") not in SETTABLE_FIELDS:
            return {"field": [f"Choose a field: {', '.join(SETTABLE_FIELDS)}."]}
        if not isinstance(step.get("value"), str) or len(step["value"]) > 200:
            return {"value": ["A text of at most 200 characters."]}
    elif kind == "set_stage":
        if step.get("stage") not in FUNNEL:
            return {"stage": [f"Choose a stage on the way forward: {', '.join(FUNNEL)}."]}
    elif kind == "branch":
        errors: Errors = {}
        problems = tree_errors(step.get("condition"))
        if problems:
            errors["condition"] = problems
        for side in ("then", "else"):
            target = step.get(side, "next")
            if target not in JUMPS and target not in later:
                errors[side] = ["Go to the next step, exit, or a later step's key (a branch never goes back)."]
        return errors
    elif kind == "notify_owner":
        if not isinstance(step.get("text"), str) or not step["text"].strip() or len(step["text"]) > 250:
            return {"text": ["Say what the owner should know (at most 250 characters)."]}
    elif kind == "create_task":
        if not isinstance(step.get("title"), str) or not step["title"].strip() or len(step["title"]) > 200:
            return {"title": ["Name the task (at most 200 characters)."]}
        if not _whole(step.get("due_days", 1), 0, 365):
            return {"due_days": ["Due in 0 to 365 days."]}
    elif kind == "webhook":
        return webhook_step_errors(step)
    return {}


def _exits_errors(exits: Any) -> Errors:
    if not isinstance(exits, list):
        return {"": ["Exits must be a list."]}
    errors: Errors = {}
    for index, rule in enumerate(exits):
        if not isinstance(rule, dict) or rule.get("type") not in EXITS:
            errors[f"{index}.type"] = [f"Choose an exit: {', '.join(EXITS)}."]
        elif rule["type"] == "goal" and tree_errors(rule.get("condition")):
            errors[f"{index}.condition"] = tree_errors(rule.get("condition"))
        elif rule["type"] == "stage_reached" and rule.get("stage") not in Stage.values:
            errors[f"{index}.stage"] = [f"Choose a stage: {', '.join(Stage.values)}."]
    return errors


def _loop(cleaned: dict[str, Any]) -> str:
    """Why the playbook would run forever, or "" (branches only jump forward, checked above)."""
    trigger = cleaned["trigger"]
    if trigger.get("type") != "list_joined" or cleaned["reentry"] == Playbook.Reentry.NEVER:
        return ""
    adds = [s["key"] for s in cleaned["steps"] if s.get("type") == "list_add" and s.get("list") == trigger.get("list")]
    removes = any(s.get("type") == "list_remove" and s.get("list") == trigger.get("list") for s in cleaned["steps"])
    if adds and removes:
        return (
            f"Step {adds[0]} adds the lead to the list that enrols it, and leads may enter again: "
            "the playbook would run in a loop. Use another list, or let leads enter only once."
        )
    return ""
