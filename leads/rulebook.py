"""What capture reads on every event: the active personas, scoring rules and definition.

They change a few times a month and are read by every form post and event batch, so each
process keeps them, keyed by ScoringState.rulebook_version. A signal gives that a new token
on every save or delete of a persona, rule or definition (the admin's too), so one cheap
read of it tells whether the process's copy still holds.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from leads import sql as leads_sql
from leads.models import DefinitionStatus, Persona, QualificationDefinition, ScoringRule, ScoringState
from leads.models.scoring import new_token
from smarketing.lib import sql


@dataclass(frozen=True)
class Rulebook:
    version: str
    personas: list[Persona]
    rules: list[ScoringRule]
    definition: QualificationDefinition | None

    @cached_property
    def engagement_by_type(self) -> dict[str, list[ScoringRule]]:
        """The engagement rules by the event type they score: a batch looks up each event's
        rules instead of trying every rule on every event."""
        found: dict[str, list[ScoringRule]] = {}
        for rule in self.rules:
            if rule.kind == ScoringRule.Kind.ENGAGEMENT:
                found.setdefault(rule.event_type, []).append(rule)
        return found


_cached: Rulebook | None = None


def rulebook() -> Rulebook:
    """The current personas, rules and definition: one small query while nothing changed."""
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(leads_sql.RULEBOOK_VERSION))
        row = cursor.fetchone()
    return rulebook_at(row[0] if row else None)


def rulebook_at(version: str | None) -> Rulebook:
    """The rulebook for a version the caller has just read from the state row (None: no row)."""
    global _cached
    cached = _cached
    if version is not None and cached is not None and cached.version == version:
        return cached
    fresh = Rulebook(
        version=version or "",
        personas=list(Persona.objects.filter(is_active=True).order_by("pk")),
        rules=list(ScoringRule.objects.filter(is_active=True).order_by("pk")),
        definition=QualificationDefinition.objects.filter(status=DefinitionStatus.ACTIVE).first(),
    )
    if version is not None:  # without the state row there is no version to trust: read each time
        _cached = fresh
    return fresh


@receiver([post_save, post_delete], sender=Persona)
@receiver([post_save, post_delete], sender=ScoringRule)
@receiver([post_save, post_delete], sender=QualificationDefinition)
def rulebook_changed(**kwargs: Any) -> None:
    """Every process rereads the rulebook on its next capture (once this transaction commits)."""
    ScoringState.current()
    ScoringState.objects.filter(pk=1).update(rulebook_version=new_token())
