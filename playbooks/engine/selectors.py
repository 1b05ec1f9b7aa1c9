"""Reading playbooks: the list with its counts, where a playbook's leads are, a lead's enrolments."""

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower

from leads.models import CaptureForm, Lead
from leads.qualification.trees import LEAF_OPS, describe
from playbooks.engine.shape import STEPS, WEEKDAYS
from playbooks.models import EmailTemplate, Enrollment, LeadList, Playbook, StepRun

Status = Enrollment.Status


def playbooks_listed(*, search: str = "", status: str = "") -> QuerySet[Playbook]:
    playbooks = Playbook.objects.annotate(
        active_count=Count("enrollments", filter=Q(enrollments__status=Status.ACTIVE)),
        completed_count=Count("enrollments", filter=Q(enrollments__status=Status.COMPLETED)),
        exited_count=Count("enrollments", filter=Q(enrollments__status=Status.EXITED)),
    )
    if search:
        playbooks = playbooks.filter(name__icontains=search)
    if status:
        playbooks = playbooks.filter(status=status)
    return playbooks.order_by(Lower("name"), "pk")


def playbook_step_figures(playbook: Playbook) -> list[dict[str, Any]]:
    """Per step: who is there now, and what happened to those who passed (outcome counts)."""
    here = dict(
        Enrollment.objects.filter(playbook=playbook, status=Status.ACTIVE)
        .values_list("position")
        .annotate(n=Count("id"))
        .values_list("position", "n")
    )
    outcomes: dict[str, dict[str, int]] = {}
    rows = (
        StepRun.objects.filter(enrollment__playbook=playbook)
        .values("step", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        outcomes.setdefault(row["step"], {})[row["outcome"]] = row["n"]
    texts = steps_described(playbook.steps)
    return [
        {
            "position": i,
            "step": step,
            "text": texts[i],
            "here": here.get(i, 0),
            "outcomes": outcomes.get(step["key"], {}),
        }
        for i, step in enumerate(playbook.steps)
    ]


def steps_described(steps: list[dict[str, Any]]) -> list[str]:
    """Each step in words, naming its template and list (two queries for all of them)."""
    templates = dict(EmailTemplate.objects.filter(pk__in=_ids(steps, "template")).values_list("pk", "name"))
    lists = dict(LeadList.objects.filter(pk__in=_ids(steps, "list")).values_list("pk", "name"))
    return [_described(step, templates, lists) for step in steps]


def _jump(target: str) -> str:
    return {"next": "go on", "exit": "leave the playbook"}.get(target, f"jump to {target}")


def triggers_described(triggers: list[dict[str, Any]]) -> list[str]:
    """Each trigger in words, naming its list or form (two queries for all of them)."""
    lists = dict(
        LeadList.objects.filter(pk__in=[t.get("list") for t in triggers if isinstance(t.get("list"), int)]).values_list(
            "pk", "name"
        )
    )
    forms = dict(
        CaptureForm.objects.filter(
            key__in=[t.get("form") for t in triggers if isinstance(t.get("form"), str)]
        ).values_list("key", "name")
    )
    return [_trigger_words(trigger, lists, forms) for trigger in triggers]


def _trigger_words(trigger: dict[str, Any], lists: dict[int, str], forms: dict[str, str]) -> str:
    kind = trigger.get("type")
    if kind == "list_joined":
        return f"Joins the list “{lists.get(trigger.get('list'), 'a deleted list')}”"
    if kind == "form_submitted":
        return f"Submits the form “{forms.get(trigger.get('form'), 'a deleted form')}”"
    if kind == "stage_entered":
        return f"Enters the {trigger.get('stage')} stage"
    if kind == "event":
        where = ", ".join(f"{k} = {v}" for k, v in (trigger.get("where") or {}).items())
        return f"Event {trigger.get('event')}" + (f" with {where}" if where else "")
    if kind == "score_crossed":
        return f"Score reaches {trigger.get('value')}"
    return "Enrolled by hand (or by a stage policy)"


def _ids(steps: list[dict[str, Any]], name: str) -> list[int]:
    return [step[name] for step in steps if isinstance(step.get(name), int)]


def _described(step: dict[str, Any], templates: dict[int, str], lists: dict[int, str]) -> str:  # noqa: PLR0911
    kind = step.get("type")
    if kind == "wait":
        parts = [
            f"{step.get('days')} day(s)" if step.get("days") else "",
            f"{step.get('hours')} hour(s)" if step.get("hours") else "",
        ]
        return "Wait " + " ".join(part for part in parts if part)
    if kind == "wait_until":
        day = WEEKDAYS[step["weekday"]] if step.get("weekday") is not None else "the next day"
        return f"Wait until {day} at {step.get('hour')}:00"
    if kind == "email":
        return f"Send “{templates.get(step.get('template'), 'a deleted template')}”"
    if kind in ("list_add", "list_remove"):
        verb = "Add to" if kind == "list_add" else "Remove from"
        return f"{verb} “{lists.get(step.get('list'), 'a deleted list')}”"
    if kind == "set_field":
        return f"Set {step.get('field')} to “{step.get('value')}”"
    if kind == "set_stage":
        return f"Move forward to {step.get('stage')}"
    if kind == "branch":
        condition = step.get("condition")
        said = (
            describe(condition) if isinstance(condition, dict) and condition.get("op") in LEAF_OPS else "its conditions"
        )
        return f"If {said} hold: {step.get('then', 'next')}; if not: {step.get('else', 'next')}"
    if kind == "notify_owner":
        return f"Notify the owner: {step.get('text')}"
    if kind == "create_task":
        return f"Task for the owner: {step.get('title')}"
    if kind == "webhook":
        return f"Call {step.get('url')}"
    return STEPS.get(kind, str(kind))


def playbook_enrolments(playbook: Playbook, *, status: str = "") -> QuerySet[Enrollment]:
    enrolments = Enrollment.objects.filter(playbook=playbook).select_related("lead")
    return enrolments.filter(status=status) if status else enrolments


def lead_enrolments(lead: Lead) -> list[Enrollment]:
    """A lead's enrolments, newest first, each with its step-runs (two queries)."""
    return list(
        Enrollment.objects.filter(lead=lead)
        .select_related("playbook")
        .prefetch_related("step_runs")
        .order_by("-entered_at", "-id")
    )
