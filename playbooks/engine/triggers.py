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
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model
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
    entered = _follow(
        "playbooks.events",
        Event,
        "received_at",
        active_playbooks("event", "form_submitted"),
        _event_causes,
        now,
        ("id", "lead_id", "type", "properties", "received_at"),
    )
    entered += _follow(
        "playbooks.lists",
        ListMembership,
        "added_at",
        active_playbooks("list_joined"),
        _member_causes,
        now,
        ("id", "lead_id", "list_id", "added_at"),
    )
    return entered + enrolments_score_crossed(now=now)


Causes = Callable[[Playbook, list[Any]], list[tuple[int, str]]]


def _follow(  # noqa: PLR0913
    name: str,
    model: type[Model],
    at: str,
    playbooks: list[Playbook],
    causes: Causes,
    now: datetime,
    fields: tuple[str, ...],
) -> int:
    """Read the rows after this cursor, enrol what the playbooks ask for, and move the cursor
    past the rows that are settled."""
    entered = 0
    with transaction.atomic():
        cursor, _ = TriggerCursor.objects.select_for_update().get_or_create(name=name)
        if not playbooks:  # nobody listens: skip ahead, an activation takes only what follows it
            last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            cursor.last_id, cursor.read_at = max(cursor.last_id, last), now
            cursor.save(update_fields=["last_id", "read_at"])
            return 0
        while True:
            rows = list(model.objects.filter(pk__gt=cursor.last_id).order_by("pk").only(*fields)[:READ_BATCH])
            for playbook in playbooks:
                found = [row for row in causes(playbook, rows) if row]
                if found:
                    entered += leads_enrol(playbook=playbook, causes=found, now=now)
            settled = [row.pk for row in rows if getattr(row, at) <= now - SETTLE]
            # Only a settled prefix moves the cursor; the rest is read again next time.
            moved = 0
            for row in rows:
                if row.pk not in settled:
                    break
                moved = row.pk
            if moved:
                cursor.last_id = moved
            if len(rows) < READ_BATCH or moved != (rows[-1].pk if rows else 0):
                break
        cursor.read_at = now
        cursor.save(update_fields=["last_id", "read_at"])
    return entered


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
