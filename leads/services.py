"""Marketing's hand corrections to a lead: editing its facts, and merging two leads into one.

A merge happens when one person reached us from two addresses (work and personal mail,
a typo in a form). The survivor keeps its email and absorbs the other lead's history.
"""

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from leads import sql as leads_sql
from leads.history import lead_change_stage
from leads.jobs import Advance, job_queue, job_run
from leads.models import (
    FUNNEL,
    LEAD_TEXT_FIELDS,
    OPEN_HANDOFF,
    EngagementRollup,
    Event,
    Job,
    Lead,
    LeadMerge,
    LeadScore,
    SavedView,
    StageChange,
)
from leads.qualification import services as qualification
from leads.sales.assignment import QUALIFIED
from leads.sales.manual_handoff import ALREADY_WITH_SALES, leads_hand_off_by_hand
from leads.sales.services import SalesError
from leads.scoring import services as scoring
from smarketing.lib.sql import bind, chunked


def saved_view_create(*, owner: Any, name: str, query: str, shared: bool) -> SavedView:
    return SavedView.objects.create(owner=owner, name=name, query=query, shared=shared)


def saved_view_delete(*, view: SavedView) -> None:
    view.delete()


FILLED_FIELDS = LEAD_TEXT_FIELDS


FIRST_TOUCH_FIELDS = ("source", "first_campaign_id", "first_touch")


LAST_TOUCH_FIELDS = ("last_source", "last_campaign_id", "last_touch", "last_touch_at")


# Moved explicitly below; every other table pointing at a lead is moved generically.
# LeadScore goes with the other lead: the survivor is rescored from the combined rollups.
HANDLED_MODELS = {Event, StageChange, EngagementRollup, LeadMerge, LeadScore}


class MergeError(Exception):
    """A merge that cannot be done; the message says why."""


def lead_edit(*, lead: Lead, changes: dict[str, Any]) -> list[str]:
    """Save edited facts ({field: new value}, only the changed ones); the fit score and the
    qualification depend on them, so both are redone. Returns the fields saved."""
    if not changes:
        return []
    with transaction.atomic():
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.save(update_fields=[*changes, "updated_at"])
        _rescore(lead)
    return list(changes)


def leads_set_field(*, lead_ids: Iterable[int], field: str, value: Any) -> list[int]:
    """Set one fact on many leads at once (a playbook's step): only those holding another value
    are written, then rescored and requalified together. Returns the ids changed."""
    with transaction.atomic():
        changed = list(Lead.objects.filter(pk__in=set(lead_ids)).exclude(**{field: value}).values_list("pk", flat=True))
        if changed:
            Lead.objects.filter(pk__in=changed).update(**{field: value, "updated_at": timezone.now()})
            scoring.leads_rescore(lead_ids=changed)
            qualification.leads_qualify(lead_ids=changed)
    return changed


def lead_unsubscribe(*, lead: Lead) -> bool:
    """The lead asked for no more marketing email (a link, a mail client's one-click button,
    an integration). The score's negative rule reads it, so the lead is rescored. False when
    it had already unsubscribed: the first moment is kept."""
    with transaction.atomic():
        updated = Lead.objects.filter(pk=lead.pk, unsubscribed_at=None).update(
            unsubscribed_at=timezone.now(), updated_at=timezone.now()
        )
        if updated:
            _rescore(lead)
    return bool(updated)


def lead_merge(*, survivor: Lead, other: Lead, by: AbstractBaseUser | None) -> LeadMerge:
    """Fold `other` into `survivor` in one transaction, then delete `other`.

    1. Lock both rows (lowest id first, so two merges of the same pair cannot deadlock).
    2. Snapshot the other lead for the LeadMerge record.
    3. Move its events, stage history and every other row that points at it (UPDATE … SET lead_id).
    4. Add its engagement rollups to the survivor's, rule by rule.
    5. Fill the survivor's blanks from it; keep the earlier first touch and the later last touch;
       unsubscribed if either is; the further funnel stage if it is ahead.
    6. Record the merge, delete the other lead, rescore and requalify the survivor.
    """
    if survivor.pk == other.pk:
        raise MergeError("A lead cannot be merged into itself; choose another lead.")
    with transaction.atomic():
        scoring.capture_state()  # no decay or rollup rebuild while rollups are combined
        locked = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=[survivor.pk, other.pk])}
        if len(locked) != 2:
            raise MergeError("One of the two leads no longer exists (merged or deleted meanwhile).")
        survivor, other = locked[survivor.pk], locked[other.pk]
        snapshot = _snapshot(other)
        snapshot["moved"] = _move_history(survivor, other)
        _rollups_combine(survivor, other)
        ahead = _stage_ahead(survivor, other)
        _fill_from(survivor, other, ahead=ahead)
        record = LeadMerge.objects.create(
            survivor=survivor, merged_lead_id=other.pk, merged_email=other.email, snapshot=snapshot, merged_by=by
        )
        other.delete()
        if ahead:
            lead_change_stage(lead=survivor, to_stage=other.stage, by=by, reason="Merge", note=f"Merged {other.email}")
        _rescore(survivor)
    return record


def _rescore(lead: Lead) -> None:
    scoring.leads_rescore(lead_ids=[lead.pk])
    qualification.leads_qualify(lead_ids=[lead.pk])
    lead.refresh_from_db()


def _snapshot(lead: Lead) -> dict[str, Any]:
    fields = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
    return json.loads(json.dumps(fields, cls=DjangoJSONEncoder))


def _move_history(survivor: Lead, other: Lead) -> dict[str, int]:
    """Re-point every row of the other lead at the survivor; returns rows moved per table."""
    moved = {
        "events": Event.objects.filter(lead=other).update(lead=survivor),
        "stage_changes": StageChange.objects.filter(lead=other).update(lead=survivor),
        "merges": LeadMerge.objects.filter(survivor=other).update(survivor=survivor),
    }
    for relation in Lead._meta.related_objects:
        if relation.many_to_many or relation.related_model in HANDLED_MODELS:
            continue
        label = relation.related_model._meta.label
        moved[label] = _move_rows(relation.related_model, relation.field.name, survivor, other)
    return moved


def _move_rows(model: type[Model], field: str, survivor: Lead, other: Lead) -> int:
    """Move one table's rows; where a unique rule forbids it (say one enrolment per lead and
    playbook), the survivor's row wins and the other's is deleted with the other lead."""
    rows = model._base_manager.filter(**{field: other})
    try:
        with transaction.atomic():
            return rows.update(**{field: survivor})
    except IntegrityError:
        moved = 0
        for pk in rows.values_list("pk", flat=True):
            try:
                with transaction.atomic():
                    moved += model._base_manager.filter(pk=pk).update(**{field: survivor})
            except IntegrityError:
                continue  # the survivor already has the equivalent row
        return moved


def _rollups_combine(survivor: Lead, other: Lead) -> None:
    """Sum per rule: rollups are uncapped decayed sums, so adding them is exact (caps apply at rescore)."""
    with connection.cursor() as cursor:
        cursor.execute(*bind(leads_sql.ROLLUPS_COMBINE, survivor=survivor.pk, other=other.pk))
    EngagementRollup.objects.filter(lead=other).delete()


def _stage_ahead(survivor: Lead, other: Lead) -> bool:
    """Whether the other lead is further along the funnel (recycled and disqualified stand aside)."""
    if survivor.stage not in FUNNEL or other.stage not in FUNNEL:
        return False
    return FUNNEL.index(other.stage) > FUNNEL.index(survivor.stage)


def _fill_from(survivor: Lead, other: Lead, *, ahead: bool) -> None:
    changed = [name for name in FILLED_FIELDS if not getattr(survivor, name) and getattr(other, name)]
    for name in ("company_size", "owner_id", "qualified_version"):
        if getattr(survivor, name) is None and getattr(other, name) is not None:
            changed.append(name)
    if ahead and other.qualified_version is not None:  # the stage it brings was qualified under this
        changed.append("qualified_version")
    if other.source and (not survivor.source or other.created_at < survivor.created_at):
        changed.extend(FIRST_TOUCH_FIELDS)
    if other.last_touch_at and (survivor.last_touch_at is None or other.last_touch_at > survivor.last_touch_at):
        changed.extend(LAST_TOUCH_FIELDS)
    if other.created_at < survivor.created_at:
        changed.append("created_at")
    for name in changed:
        setattr(survivor, name, getattr(other, name))
    # Consent was given per address, so the survivor keeps its own; an unsubscribe from
    # either address is honoured (the earliest one).
    if other.unsubscribed_at and (survivor.unsubscribed_at is None or other.unsubscribed_at < survivor.unsubscribed_at):
        survivor.unsubscribed_at = other.unsubscribed_at
        changed.append("unsubscribed_at")
    survivor.updated_at = timezone.now()
    survivor.save(update_fields=[*dict.fromkeys(name.removesuffix("_id") for name in changed), "updated_at"])


def leads_set_owner_enqueue(*, lead_ids: Iterable[int], owner_id: int | None, by: AbstractBaseUser) -> Job:
    """Queue a bulk change of owner as a job the page can follow."""
    ids = sorted(set(lead_ids))
    return job_queue(kind="set_owner", params={"lead_ids": ids, "owner_id": owner_id}, total=len(ids), by=by)


BULK_BATCH = 2_000


def leads_set_owner_run(*, job: Job) -> Job:
    """Give every lead in the job's list its new owner, a batch at a time, reporting progress.

    The owner of a lead in sales is whoever holds its handoff, so:
    - an MQL or SQL not yet with sales is handed to the new owner (`leads_hand_off_by_hand`,
      set-based per batch); where it cannot be (the rep is away or full), it keeps its owner;
    - a lead already with sales keeps the owner its handoff gives it;
    - any other lead simply gets the owner.
    The result counts the owners changed, the leads handed off, and why the rest were not
    changed (reason → count), the last two only when there are any.
    """
    return job_run(job=job, work=_set_owner)


def _set_owner(job: Job, advance: Advance) -> dict[str, Any]:
    ids, owner_id = job.params["lead_ids"], job.params["owner_id"]
    owner = get_user_model().objects.filter(pk=owner_id).first() if owner_id is not None else None
    # A resumed run goes on after the last batch committed, with the tally so far.
    tally: dict[str, Any] = {"changed": 0, "handed_off": 0, **job.checkpoint.get("tally", {})}
    tally["not_changed"] = Counter(tally.get("not_changed", {}))
    batches_done = job.checkpoint.get("batches", 0)
    for number, batch in enumerate(chunked(ids, BULK_BATCH), start=1):
        if number <= batches_done:
            continue
        with transaction.atomic():
            plain = _owner_hand_over(batch, owner, by=job.created_by, tally=tally)
            leads = Lead.objects.filter(pk__in=plain).exclude(owner_id=owner_id)
            tally["changed"] += leads.update(owner_id=owner_id, updated_at=timezone.now())
            advance(len(batch), checkpoint={"batches": number, "tally": tally})
    result = {"changed": tally["changed"]}
    if tally["handed_off"]:
        result["handed_off"] = tally["handed_off"]
    if tally["not_changed"]:
        result["not_changed"] = dict(tally["not_changed"])
    return result


def _owner_hand_over(batch: list[int], owner: Any, *, by: Any, tally: dict[str, Any]) -> list[int]:
    """Hand this batch's MQLs and SQLs not yet with sales to the new owner; returns the leads
    that simply get the owner. One read, then one set-based handoff, whatever the batch's size."""
    rows = list(Lead.objects.filter(pk__in=batch).values_list("pk", "stage", "owner_id", "handoff__status"))
    in_sales = {pk for pk, _, _, status in rows if status in OPEN_HANDOFF}
    qualified = {pk: was for pk, stage, was, status in rows if stage in QUALIFIED and status not in OPEN_HANDOFF}
    if in_sales:
        tally["not_changed"][ALREADY_WITH_SALES] += len(in_sales)
    if owner is None or not qualified:
        return [pk for pk in batch if pk not in in_sales]
    try:
        outcome = leads_hand_off_by_hand(lead_ids=list(qualified), by=by, rep=owner)
    except SalesError as error:
        tally["not_changed"][error.message] += len(qualified)
    else:
        tally["handed_off"] += len(outcome.handed)
        tally["changed"] += sum(1 for pk in outcome.handed if qualified[pk] != owner.pk)
        tally["not_changed"].update({reason: len(refused) for reason, refused in outcome.refused.items()})
    return [pk for pk in batch if pk not in qualified and pk not in in_sales]
