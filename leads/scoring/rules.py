"""Marketing's edits to the scoring model: personas and scoring rules.

Each save validates, writes in one transaction and queues one background rescore (with the
edited rule's id, so that rule's rollups are rebuilt from its events). A save that changes
nothing the scores depend on queues nothing: a rescore of a million leads is not free.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from leads.conditions import condition_errors
from leads.models import Job, Persona, ScoringRule
from leads.scoring.services import rescore_enqueue
from smarketing.audit.services import config_changed, config_created, config_snapshot

# What a rule's points depend on; a change to anything else (none today) needs no rescore.
RULE_SCORED_FIELDS = (
    "name",
    "kind",
    "event_type",
    "property_filter",
    "points",
    "cap",
    "half_life_days",
    "values",
    "is_active",
)


def conditions_errors(conditions: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Problems per condition (by position); a persona also needs a positive weight on each."""
    problems: dict[int, list[str]] = {}
    for index, condition in enumerate(conditions):
        found = condition_errors({key: condition.get(key) for key in ("field", "op", "value")})
        weight = condition.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            found.append("Weight must be a whole number of at least 1.")
        if found:
            problems[index] = found
    return problems


def persona_save(
    *,
    by: AbstractBaseUser,
    name: str,
    description: str,
    conditions: list[dict[str, Any]],
    persona: Persona | None = None,
) -> tuple[Persona, Job | None]:
    """Create or change a persona; returns it and the rescore job (None when fit is unchanged)."""
    if not conditions:
        raise ValidationError("Give the persona at least one condition.")
    if problems := conditions_errors(conditions):
        raise ValidationError([f"Condition {index + 1}: {' '.join(p)}" for index, p in problems.items()])
    with transaction.atomic():
        persona = persona or Persona()
        before = config_snapshot(persona) if persona.pk else None
        rescore = persona.pk is None or persona.conditions != conditions
        persona.name, persona.description, persona.conditions = name, description, conditions
        persona.save()
        _recorded(persona, by=by, before=before)
        job = rescore_enqueue(by=by) if rescore and persona.is_active else None
    return persona, job


def _recorded(obj: Persona | ScoringRule, *, by: AbstractBaseUser, before: dict[str, Any] | None) -> None:
    if before is None:
        config_created(obj, by=by)
    else:
        config_changed(obj, by=by, before=before)


def persona_set_active(*, persona: Persona, is_active: bool, by: AbstractBaseUser) -> Job | None:
    """Switch a persona on or off; every lead's fit and best match are recomputed."""
    if persona.is_active == is_active:
        return None
    with transaction.atomic():
        before = config_snapshot(persona)
        persona.is_active = is_active
        persona.save(update_fields=["is_active", "updated_at"])
        config_changed(persona, by=by, before=before)
        return rescore_enqueue(by=by)


def rule_save(
    *, by: AbstractBaseUser, fields: dict[str, Any], rule: ScoringRule | None = None
) -> tuple[ScoringRule, Job | None]:
    """Create or change a rule; a change queues a rescore that rebuilds this rule's rollups."""
    fields = _rule_fields_for_kind(fields)
    with transaction.atomic():
        rule = rule or ScoringRule()
        before = config_snapshot(rule) if rule.pk else None
        changed = rule.pk is None or any(getattr(rule, key) != value for key, value in fields.items())
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.full_clean(validate_unique=False)  # the form checked the name; this guards the rest
        rule.save()
        _recorded(rule, by=by, before=before)
        job = rescore_enqueue(rule_ids=[rule.pk], by=by) if changed else None
    return rule, job


def _rule_fields_for_kind(fields: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the rule's kind uses; the others are cleared so no stale value lingers."""
    fields = {key: value for key, value in fields.items() if key in RULE_SCORED_FIELDS}
    if fields.get("kind", ScoringRule.Kind.ENGAGEMENT) == ScoringRule.Kind.ENGAGEMENT:
        fields["values"] = []
    else:
        fields.update(event_type="", property_filter={}, cap=None, half_life_days=None)
        if fields["kind"] == ScoringRule.Kind.UNSUBSCRIBED:
            fields["values"] = []
    return fields


def rule_set_active(*, rule: ScoringRule, is_active: bool, by: AbstractBaseUser) -> Job | None:
    """Switch a rule on or off; its rollups are rebuilt (or dropped) and every lead rescored."""
    if rule.is_active == is_active:
        return None
    with transaction.atomic():
        before = config_snapshot(rule)
        rule.is_active = is_active
        rule.save(update_fields=["is_active", "updated_at"])
        config_changed(rule, by=by, before=before)
        return rescore_enqueue(rule_ids=[rule.pk], by=by)
