"""Running what is due: the beat tick claims due enrolments in batches and runs each one's steps
until it waits, ends or leaves.

Due work is rows: an active enrolment's `due_at` (indexed where active). A batch is claimed
with `FOR UPDATE SKIP LOCKED`, so runners on several workers share the work and never take
the same enrolment; everything a batch does (its step-runs, the enrolments' new places, the
outbox rows of its emails, webhook deliveries, list moves) commits in one transaction. A worker
killed mid-batch therefore leaves no trace of it: the rows are due again and the next tick runs
them, and a step-run is unique per enrolment and step, so no step can run twice. Emails leave
only after the commit, each sent at most once (playbooks.email.services).

Exits are checked before a lead's steps run: it unsubscribed, it reached a stage the playbook
ends at, or the playbook's goal holds (one query per playbook for the whole batch). The leads
at the same step take it together: a list move, a field's update (rescored and requalified
set-based) or a branch's question is one statement for all of them, not one per lead. A step
that cannot run (its template deleted) is recorded as skipped and the lead moves on. A step
that fails undoes the batch's work, which is run again with a savepoint around each writing
step: the failing one is recorded, its lead leaves the playbook, and the others go on, so one
broken lead never blocks a batch (and the usual batch pays for no savepoints).
"""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.history import lead_change_stage
from leads.models import FUNNEL, ChangeSource, Lead
from leads.sales.notifications import Note, lead_url, notify
from leads.services import leads_set_field
from playbooks.email.services import emails_queue, outbox_send_after_commit
from playbooks.engine.conditions import leads_holding
from playbooks.engine.shape import SETTABLE_FIELDS
from playbooks.lists import services as lists
from playbooks.models import EmailTemplate, Enrollment, LeadList, ListMembership, Playbook, StepRun
from playbooks.outgoing.services import webhook_queue

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
# Steps that write; waits and branches only read, and need no savepoint of their own.
# Steps taken by a batch's leads together; the others one lead at a time.
GROUPED_STEPS = {"email", "branch", "set_field", "list_add", "list_remove"}
# What a field's change may change on the lead, read again after it.
REREAD = ("stage", "stage_changed_at", "updated_at", *SETTABLE_FIELDS)
WRITING_STEPS = {"email", "list_add", "list_remove", "set_field", "set_stage", "notify_owner", "create_task", "webhook"}
RUN_TASK = "playbooks.run_due"
Status = Enrollment.Status


@dataclass
class Done:
    """What a step did: its outcome and, for the runner, where the lead goes next."""

    outcome: str
    detail: str = ""
    email_id: int | None = None
    wait_until: datetime | None = None
    jump: str = "next"  # "next", "exit" or a step's key


def enrolments_run_due(*, now: datetime | None = None, batch: int = CLAIM_BATCH, budget: float | None = None) -> int:
    """Run due enrolments a batch per transaction until none is due (or `budget` seconds
    pass); returns how many steps ran."""
    started = time.monotonic()
    ran = 0
    while True:
        moment = now or timezone.now()
        with transaction.atomic():
            claimed = _claim(moment, batch)
            try:
                with transaction.atomic():  # the usual case: nothing fails, no savepoint per step
                    ran += Run(moment).enrolments(claimed)
            except Exception:  # noqa: BLE001 -- found again step by step, and recorded there
                ran += Run(moment, careful=True).enrolments(_fresh(claimed))
        if len(claimed) < batch or (budget is not None and time.monotonic() - started > budget):
            return ran


def _fresh(enrolments: list[Enrollment]) -> list[Enrollment]:
    """The claimed rows as stored (a failed run changed the objects in memory)."""
    return _with_playbooks(Enrollment.objects.filter(pk__in=[e.pk for e in enrolments]))


def _claim(now: datetime, batch: int) -> list[Enrollment]:
    due = (
        _due(now)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("due_at")
        .values_list("pk", flat=True)[:batch]
    )
    ids = list(due)
    if not ids:
        return []
    return _with_playbooks(Enrollment.objects.filter(pk__in=ids))


def _with_playbooks(enrolments: Any) -> list[Enrollment]:
    """The enrolments with their leads, and their playbooks read once each (a batch is mostly one
    playbook: joined, its steps would be read and parsed again for every row)."""
    claimed = list(enrolments.select_related("lead"))
    playbooks = Playbook.objects.in_bulk({e.playbook_id for e in claimed})
    for enrolment in claimed:
        enrolment.playbook = playbooks[enrolment.playbook_id]
    return claimed


class Run:
    """One batch's run, its writes gathered and stored together."""

    def __init__(self, now: datetime, *, careful: bool = False) -> None:
        self.now = now
        # Careful: each writing step in a savepoint of its own, so a failing one undoes only
        # itself and its lead leaves the playbook (the batch is run so after a first try failed).
        self.careful = careful
        self.step_runs: list[StepRun] = []
        self.rows: dict[tuple[type, int], Any] = {}  # the templates and lists steps name, read once
        self.events: list[EventIn] = []  # the batch's email events, stored together
        self.queued: list[int] = []  # the batch's emails, sent together once it commits

    def enrolments(self, enrolments: list[Enrollment]) -> int:
        if not enrolments:
            return 0
        leaving = self._exits(enrolments)
        moving = []
        for enrolment in enrolments:
            if enrolment.pk in leaving:
                self._finish(enrolment, Status.EXITED, leaving[enrolment.pk])
            else:
                moving.append(enrolment)
        while moving:  # a branch never jumps back (playbooks.engine.shape), so every round moves on
            moving = self._round(moving)
        StepRun.objects.bulk_create(self.step_runs, batch_size=1_000)
        _places_store(enrolments)
        if self.events:
            events_ingest(events=self.events)
        outbox_send_after_commit(self.queued)
        return len(self.step_runs)

    # --- Exits ----------------------------------------------------------------------------

    def _exits(self, enrolments: list[Enrollment]) -> dict[int, str]:
        leaving: dict[int, str] = {}
        by_playbook: dict[int, list[Enrollment]] = defaultdict(list)
        for enrolment in enrolments:
            by_playbook[enrolment.playbook_id].append(enrolment)
            if enrolment.lead.unsubscribed_at:
                leaving[enrolment.pk] = "unsubscribed"
        for group in by_playbook.values():
            for rule in group[0].playbook.exits:
                if rule["type"] == "stage_reached":
                    for enrolment in group:
                        if stage_reached(enrolment.lead.stage, rule["stage"]):
                            leaving.setdefault(enrolment.pk, f"reached {rule['stage']}")
                elif rule["type"] == "goal":
                    met = leads_holding(rule["condition"], [e.lead_id for e in group], now=self.now)
                    for enrolment in group:
                        if enrolment.lead_id in met:
                            leaving.setdefault(enrolment.pk, "goal met")
        return leaving

    # --- Steps ----------------------------------------------------------------------------

    def _round(self, enrolments: list[Enrollment]) -> list[Enrollment]:
        """Each enrolment takes its next step, those at the same step of the same playbook
        together (their emails' rules and rows, one list move, one field update, one branch
        question for all of them).
        Returns those that go straight on to another step."""
        at_step: dict[tuple[int, int], list[Enrollment]] = defaultdict(list)
        for enrolment in enrolments:
            if enrolment.position >= len(enrolment.playbook.steps):
                self._finish(enrolment, Status.COMPLETED, "")
            else:
                at_step[(enrolment.playbook_id, enrolment.position)].append(enrolment)
        going_on = []
        for group in at_step.values():
            step = group[0].playbook.steps[group[0].position]
            for enrolment, done in self._step_taken(group, step):
                if self._moved(enrolment, step, done):
                    going_on.append(enrolment)
        return going_on

    def _step_taken(self, group: list[Enrollment], step: dict[str, Any]) -> list[tuple[Enrollment, Done]]:
        if not self.careful:
            if step["type"] in GROUPED_STEPS:
                return self._grouped(group, step)
            return [(enrolment, self._step(enrolment, step)) for enrolment in group]
        # Careful: each lead's writing step in a savepoint of its own, so a failing one undoes
        # only itself and its lead leaves the playbook.
        taken = []
        for enrolment in group:
            written = len(self.events)
            try:
                if step["type"] in WRITING_STEPS:
                    with transaction.atomic():
                        done = self._one(enrolment, step)
                else:
                    done = self._one(enrolment, step)
            except Exception as failure:  # noqa: BLE001 -- recorded on the step; the lead leaves
                del self.events[written:]  # undone with the step
                log.exception(
                    "Playbook %s step %s failed for lead %s", enrolment.playbook_id, step["key"], enrolment.lead_id
                )
                done = Done("failed", str(failure)[:300], jump="exit")
            taken.append((enrolment, done))
        return taken

    def _one(self, enrolment: Enrollment, step: dict[str, Any]) -> Done:
        if step["type"] in GROUPED_STEPS:
            return self._grouped([enrolment], step)[0][1]
        return self._step(enrolment, step)

    def _moved(self, enrolment: Enrollment, step: dict[str, Any], done: Done) -> bool:
        """Record the step and move the lead on; True when its next step is due now."""
        self._record(enrolment, step, done)
        if done.jump == "exit":
            reason = "step failed" if done.outcome == "failed" else f"branch at {step['key']}"
            self._finish(enrolment, Status.EXITED, reason)
            return False
        if done.jump == "next":
            enrolment.position += 1
        else:
            enrolment.position = [s["key"] for s in enrolment.playbook.steps].index(done.jump)
        if done.wait_until is not None:
            enrolment.due_at = done.wait_until
            return False
        return True

    def _record(self, enrolment: Enrollment, step: dict[str, Any], done: Done) -> None:
        self.step_runs.append(
            StepRun(
                enrollment=enrolment,
                step=step["key"],
                ran_at=self.now,
                outcome=done.outcome,
                detail=done.detail[:300],
                email_id=done.email_id,
            )
        )

    def _finish(self, enrolment: Enrollment, status: str, reason: str) -> None:
        enrolment.status, enrolment.finished_at, enrolment.exit_reason, enrolment.due_at = (
            status,
            self.now,
            reason,
            None,
        )

    def _step(self, enrolment: Enrollment, step: dict[str, Any]) -> Done:  # noqa: PLR0911 -- one case per type
        kind, lead = step["type"], enrolment.lead
        if kind == "wait":
            until = self.now + timedelta(days=step.get("days", 0), hours=step.get("hours", 0))
            return Done("waiting", f"until {timezone.localtime(until):%Y-%m-%d %H:%M}", wait_until=until)
        if kind == "wait_until":
            until = next_weekday_hour(self.now, step.get("weekday"), step["hour"])
            return Done("waiting", f"until {timezone.localtime(until):%a %Y-%m-%d %H:%M}", wait_until=until)
        if kind == "set_stage":
            # Forward only, and never out of a stage a person put the lead in (recycled, disqualified).
            if lead.stage not in FUNNEL or stage_reached(lead.stage, step["stage"]):
                return Done("skipped", f"already at {lead.stage}; a playbook only moves a lead forward")
            lead_change_stage(
                lead=lead, to_stage=step["stage"], source=ChangeSource.PLAYBOOK, note=_cause(enrolment, step)
            )
            return Done("moved", f"to {step['stage']}")
        if kind in ("notify_owner", "create_task"):
            return self._tell_owner(enrolment, step)
        if kind == "webhook":
            delivery = webhook_queue(url=step["url"], payload=_payload(enrolment, step), enrollment=enrolment)
            return Done("queued", f"delivery {delivery.pk}")
        return Done("skipped", f"unknown step type {kind}")

    def _row(self, model: type, pk: int) -> Any:
        """A template or list a step names, read once per batch (None when it was deleted)."""
        if (model, pk) not in self.rows:
            self.rows[(model, pk)] = model.objects.filter(pk=pk).first()
        return self.rows[(model, pk)]

    def _emails(self, group: list[Enrollment], step: dict[str, Any]) -> list[tuple[Enrollment, Done]]:
        template = self._row(EmailTemplate, step["template"])
        if template is None:
            return [(e, Done("skipped", "the template was deleted")) for e in group]
        leads = [e.lead for e in group]
        emails = emails_queue(leads=leads, template=template, cause=_cause(group[0], step), events=self.events)
        taken = []
        for enrolment, email in zip(group, emails, strict=True):
            if email.status == email.Status.SUPPRESSED:
                taken.append((enrolment, Done("suppressed", email.reason, email_id=email.pk)))
            else:
                self.queued.append(email.pk)
                taken.append((enrolment, Done("emailed", template.name, email_id=email.pk)))
        return taken

    def _grouped(self, group: list[Enrollment], step: dict[str, Any]) -> list[tuple[Enrollment, Done]]:
        """A step taken by the group's leads together."""
        ids = [e.lead_id for e in group]
        if step["type"] == "branch":
            holds = leads_holding(step["condition"], ids, now=self.now)
            sides = {True: step.get("then", "next"), False: step.get("else", "next")}
            return [
                (
                    e,
                    Done(
                        "yes" if e.lead_id in holds else "no",
                        f"going to {sides[e.lead_id in holds]}",
                        jump=sides[e.lead_id in holds],
                    ),
                )
                for e in group
            ]
        if step["type"] == "email":
            return self._emails(group, step)
        if step["type"] == "set_field":
            return self._fields_set(group, step)
        lead_list = self._row(LeadList, step["list"])
        if lead_list is None:
            return [(e, Done("skipped", "the list was deleted")) for e in group]
        on_list = set(ListMembership.objects.filter(list=lead_list, lead_id__in=ids).values_list("lead_id", flat=True))
        if step["type"] == "list_add":
            lists.list_add_leads(lead_list=lead_list, lead_ids=ids, source=ListMembership.Source.PLAYBOOK)
            return [(e, Done("unchanged" if e.lead_id in on_list else "added", lead_list.name)) for e in group]
        lists.list_remove_leads(lead_list=lead_list, lead_ids=ids)
        return [(e, Done("removed" if e.lead_id in on_list else "unchanged", lead_list.name)) for e in group]

    def _fields_set(self, group: list[Enrollment], step: dict[str, Any]) -> list[tuple[Enrollment, Done]]:
        field, value = step["field"], step["value"]
        changed = set(leads_set_field(lead_ids=[e.lead_id for e in group], field=field, value=value))
        # Requalification may have moved some: later steps and policies read the lead's stage.
        now_at = {row.pop("pk"): row for row in Lead.objects.filter(pk__in=changed).values("pk", *REREAD)}
        for enrolment in group:
            for name, stored in now_at.get(enrolment.lead_id, {}).items():
                setattr(enrolment.lead, name, stored)
        detail = f"{field} = {value}"
        return [(e, Done("set" if e.lead_id in changed else "unchanged", detail)) for e in group]

    def _tell_owner(self, enrolment: Enrollment, step: dict[str, Any]) -> Done:
        lead = enrolment.lead
        if not lead.owner_id:
            return Done("skipped", "the lead has no owner")
        if step["type"] == "notify_owner":
            text = f"{lead.full_name or lead.email}: {step['text']}"
        else:
            due = timezone.localdate(self.now) + timedelta(days=step.get("due_days", 1))
            text = f"Task for {lead.full_name or lead.email}, due {due:%a %d %b}: {step['title']}"
        notify(notes=[Note(user_id=lead.owner_id, text=text, url=lead_url(lead.pk))])
        return Done("notified", text[:300])


def _places_store(enrolments: list[Enrollment]) -> None:
    """Each enrolment's new place, one UPDATE per distinct place: a batch's leads mostly move
    alike (the same step, the same wait), and Django's bulk_update would write a CASE per
    column and row."""
    places: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for e in enrolments:
        places[(e.status, e.position, e.due_at, e.finished_at, e.exit_reason)].append(e.pk)
    for (status, position, due_at, finished_at, reason), ids in places.items():
        Enrollment.objects.filter(pk__in=ids).update(
            status=status, position=position, due_at=due_at, finished_at=finished_at, exit_reason=reason
        )


def next_weekday_hour(now: datetime, weekday: int | None, hour: int) -> datetime:
    """The first moment after `now` at `hour` o'clock (on `weekday`, if given) in the instance's zone."""
    local = timezone.localtime(now)
    moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    while moment <= local or (weekday is not None and moment.weekday() != weekday):
        moment = timezone.make_aware(moment.replace(tzinfo=None) + timedelta(days=1))
    return moment


def stage_reached(stage: str, target: str) -> bool:
    if stage == target:
        return True
    return stage in FUNNEL and target in FUNNEL and FUNNEL.index(stage) >= FUNNEL.index(target)


def _cause(enrolment: Enrollment, step: dict[str, Any]) -> str:
    return f"Playbook {enrolment.playbook.name} · step {step['key']}"[:120]


def _payload(enrolment: Enrollment, step: dict[str, Any]) -> dict[str, Any]:
    lead = enrolment.lead
    return {
        "event": "playbook.step",
        "playbook": {"id": enrolment.playbook_id, "name": enrolment.playbook.name},
        "step": step["key"],
        "lead": {
            "id": lead.pk,
            "email": lead.email,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "company": lead.company,
            "stage": lead.stage,
        },
    }


def work_due(now: datetime | None = None) -> bool:
    """Whether an active playbook has an enrolment due."""
    return _due(now or timezone.now()).exists()


def _due(now: datetime) -> Any:
    return Enrollment.objects.filter(status=Status.ACTIVE, due_at__lte=now, playbook__status=Playbook.Status.ACTIVE)
