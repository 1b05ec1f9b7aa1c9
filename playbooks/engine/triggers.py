"""What enrols leads: readers over the rows the product already writes.

- Stage entered: a reader of the stage history (leads.history), exact and in order; the stage
  policies (playbooks.engine.policies) act on the same moves first, so a new opportunity leaves its
  promotional playbooks before the conversion playbook takes it.
- An event, a form submitted, a list joined: a cursor over the event and list-membership ids.
  Ids come from a sequence, so on PostgreSQL a row may commit after a later id was read; the
  cursor therefore only moves past rows older than SETTLE and re-reads the newer ones next time.
  Reading a row twice is harmless: each row enrols a lead once (the enrolment's cause is the
  row, unique per playbook).
- Score crossed: the leads whose score is at or above the mark and who are not in the
  playbook, asked each tick (the score has no history to read).

A playbook only takes what happened after it was activated.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from leads.history import stage_changes_follow
from leads.models import Event, LeadScore, StageChange
from playbooks.engine import policies
from playbooks.engine.enrol import leads_enrol
from playbooks.models import Enrollment, ListMembership, Playbook, TriggerCursor

HISTORY_READER = "playbooks.enrolments"
SETTLE = timedelta(seconds=60)
READ_BATCH = 5_000
SCORE_BATCH = 5_000


def active_playbooks(*types: str) -> list[Playbook]:
    return [p for p in Playbook.objects.filter(status=Playbook.Status.ACTIVE) if p.trigger.get("type") in types]


# --- Stage history ----------------------------------------------------------------------------


def enrolments_follow_history() -> int:
    return stage_changes_follow(reader=HISTORY_READER, handle=_stage_changes)


def _stage_changes(changes: list[StageChange]) -> None:
    policies.stage_policies_apply(changes)
    for playbook in active_playbooks("stage_entered"):
        stage = playbook.trigger["stage"]
        causes = [
            (c.lead_id, f"stage:{c.pk}")
            for c in changes
            if c.to_stage == stage and c.changed_at >= playbook.activated_at
        ]
        if causes:
            leads_enrol(playbook=playbook, causes=causes)


# --- Events, forms, lists -------------------------------------------------------------------


def enrolments_follow_rows(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    by_event = active_playbooks("event", "form_submitted")
    types = {"form_submitted" if p.trigger["type"] == "form_submitted" else p.trigger["event"] for p in by_event}
    by_list = active_playbooks("list_joined")
    entered = _follow(
        Rows("playbooks.events", Event, "received_at", ("id", "lead_id", "type", "properties", "received_at")),
        by_event,
        _event_causes,
        Q(type__in=sorted(types)),
        now,
    )
    entered += _follow(
        Rows("playbooks.lists", ListMembership, "added_at", ("id", "lead_id", "list_id", "added_at")),
        by_list,
        _member_causes,
        Q(list_id__in=sorted({p.trigger["list"] for p in by_list})),
        now,
    )
    return entered + enrolments_score_crossed(now=now)


@dataclass(frozen=True)
class Rows:
    """A growing table a cursor reads: its name, model, when a row was written, what is read."""

    cursor: str
    model: type[Model]
    written_at: str
    fields: tuple[str, ...]


Causes = Callable[[Playbook, list[Any]], list[tuple[int, str]]]


def _follow(rows: Rows, playbooks: list[Playbook], causes: Causes, relevant: Q, now: datetime) -> int:
    """Read the rows after this cursor that some playbook may want, enrol whom they ask for,
    and move the cursor past what is settled (written more than SETTLE ago), wanted or not."""
    entered = 0
    settled = now - SETTLE
    with transaction.atomic():
        cursor, _ = TriggerCursor.objects.select_for_update().get_or_create(name=rows.cursor)
        while playbooks:
            batch = list(
                rows.model.objects.filter(relevant, pk__gt=cursor.last_id)
                .order_by("pk")
                .only(*rows.fields)[:READ_BATCH]
            )
            for playbook in playbooks:
                found = causes(playbook, batch)
                if found:
                    entered += leads_enrol(playbook=playbook, causes=found, now=now)
            unsettled = next((row.pk for row in batch if getattr(row, rows.written_at) > settled), None)
            if unsettled is None and len(batch) == READ_BATCH:
                cursor.last_id = batch[-1].pk
                continue
            head = _settled_head(rows, settled) or cursor.last_id
            cursor.last_id = max(cursor.last_id, min(head, unsettled - 1) if unsettled else head)
            break
        else:  # nobody listens: skip ahead, an activation takes only what follows it
            cursor.last_id = max(cursor.last_id, _settled_head(rows, settled) or 0)
        cursor.read_at = now
        cursor.save(update_fields=["last_id", "read_at"])
    return entered


def _settled_head(rows: Rows, settled: datetime) -> int | None:
    """The newest row written before `settled`: found walking the ids back from the newest."""
    old = rows.model.objects.filter(**{f"{rows.written_at}__lte": settled})
    return old.order_by("-pk").values_list("pk", flat=True).first()


def _event_causes(playbook: Playbook, events: list[Event]) -> list[tuple[int, str]]:
    trigger = playbook.trigger
    if trigger["type"] == "form_submitted":
        wanted, where = "form_submitted", {"form": trigger["form"]}
    else:
        wanted, where = trigger["event"], trigger.get("where") or {}
    return [
        (e.lead_id, f"event:{e.pk}")
        for e in events
        if e.type == wanted
        and e.received_at >= playbook.activated_at
        and all(_matches((e.properties or {}).get(k), v) for k, v in where.items())
    ]


def _matches(actual: Any, wanted: Any) -> bool:
    return actual == wanted or (
        isinstance(actual, str) and isinstance(wanted, str) and actual.lower() == wanted.lower()
    )


def _member_causes(playbook: Playbook, members: list[ListMembership]) -> list[tuple[int, str]]:
    return [
        (m.lead_id, f"list:{m.pk}")
        for m in members
        if m.list_id == playbook.trigger["list"] and m.added_at >= playbook.activated_at
    ]


# --- Scores ------------------------------------------------------------------------------------


def enrolments_score_crossed(*, now: datetime) -> int:
    entered = 0
    for playbook in active_playbooks("score_crossed"):
        inside = Enrollment.objects.filter(playbook=playbook)
        if playbook.reentry != Playbook.Reentry.NEVER:
            inside = inside.filter(status=Enrollment.Status.ACTIVE)
        ids = list(
            LeadScore.objects.filter(score__gte=playbook.trigger["value"])
            .exclude(lead_id__in=inside.values("lead_id"))
            .values_list("lead_id", flat=True)[:SCORE_BATCH]
        )
        # One cause per lead and day: the re-entry policy decides whether a lead comes back.
        day = timezone.localdate(now).isoformat()
        entered += leads_enrol(playbook=playbook, causes=[(i, f"score:{i}:{day}") for i in ids], now=now)
    return entered
