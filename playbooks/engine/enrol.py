"""Putting leads into a playbook: one active enrolment per lead and playbook, the playbook's
re-entry policy, and each cause enrolling once (a trigger's reader may read a row twice)."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from playbooks.models import Enrollment, Playbook
from smarketing.lib.tasks import task_send_on_commit

RUN_TASK = "playbooks.run_due"
ENROL_BATCH = 2_000


def leads_enrol(*, playbook: Playbook, causes: Iterable[tuple[int, str]], now: datetime | None = None) -> int:
    """Enrol each (lead id, cause) the playbook lets in now; returns how many entered. Their
    first step is due at once: the runner is asked for once this transaction commits."""
    now = now or timezone.now()
    first: dict[int, str] = {}
    for lead_id, cause in causes:
        first.setdefault(lead_id, cause[:60])
    entered = 0
    ids = sorted(first)
    for start in range(0, len(ids), ENROL_BATCH):
        allowed = leads_allowed(playbook, ids[start : start + ENROL_BATCH], now)
        rows = [
            Enrollment(playbook=playbook, lead_id=lead_id, cause=first[lead_id], due_at=now, entered_at=now)
            for lead_id in allowed
        ]
        # Conflicts (already active, this cause already enrolled) are the rules holding, not errors.
        Enrollment.objects.bulk_create(rows, ignore_conflicts=True)
        entered += len(rows)
    if entered:
        task_send_on_commit(RUN_TASK)
    return entered


def leads_allowed(playbook: Playbook, lead_ids: list[int], now: datetime) -> list[int]:
    """The leads that may enter: not in it now, and let back in by its re-entry policy."""
    past = (
        Enrollment.objects.filter(playbook=playbook, lead_id__in=lead_ids)
        .values("lead_id")
        .annotate(last=Max("entered_at"), active=Count("id", filter=_active()))
    )
    blocked = set()
    for row in past:
        too_soon = playbook.reentry == Playbook.Reentry.AFTER_DAYS and row["last"] > now - timedelta(
            days=playbook.reentry_days or 0
        )
        if row["active"] or playbook.reentry == Playbook.Reentry.NEVER or too_soon:
            blocked.add(row["lead_id"])
    return [lead_id for lead_id in lead_ids if lead_id not in blocked]


def _active() -> Q:
    return Q(status=Enrollment.Status.ACTIVE)


def enrolments_exit(*, enrolments: Iterable[Enrollment] | None = None, ids: Iterable[int] = (), reason: str) -> int:
    """Take leads out of playbooks (a stage policy, a person removing them): nothing further runs."""
    ids = [e.pk for e in enrolments or []] + list(ids)
    return Enrollment.objects.filter(pk__in=ids, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.EXITED, finished_at=timezone.now(), exit_reason=reason[:60], due_at=None
    )
