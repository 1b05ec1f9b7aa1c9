"""The rep's work on a lead: activities, and the verdict — accept, reject or recycle.

Stages (DESIGN.md's lifecycle has no "sales accepted"):
- accept  → `opportunity`, and a deal is opened in the pipeline's first stage;
- reject  → `disqualified`, with a reason from the managed list (and text for "other");
- recycle → `recycled`, with a reason and a revisit date; on that date the lead goes back
  to `lead` and is requalified (`leads_revisit_due`, run by beat).
Each verdict closes the handoff, stops the speed-to-lead clock and lands in the stage
history with who and why.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leads.history import lead_change_stage, leads_move_stage
from leads.models import (
    Activity,
    ChangeSource,
    Deal,
    Handoff,
    HandoffStatus,
    Lead,
    Reason,
    Stage,
    StageChange,
)
from leads.qualification.selectors import why_qualified
from leads.qualification.services import leads_qualify
from leads.sales.deals import deal_open
from leads.sales.services import SalesError, reason_checked
from leads.scoring.selectors import score_explained

REVISIT_BATCH = 1_000


FUTURE_SKEW_SECONDS = 300  # a client's clock may run a little ahead


WORKABLE = (Stage.MQL, Stage.SQL)


@dataclass(frozen=True)
class ActivityIn:
    kind: str
    outcome: str = ""
    note: str = ""
    next_step_on: date | None = None
    occurred_at: datetime | None = None
    client_token: str | None = None


def _activity_checked(data: ActivityIn, now: datetime) -> None:
    if data.kind not in Activity.Kind.values:
        raise SalesError(f"Choose one of: {', '.join(Activity.Kind.values)}.", field="kind")
    if data.occurred_at and (data.occurred_at - now).total_seconds() > FUTURE_SKEW_SECONDS:
        raise SalesError("An activity cannot happen in the future.", field="occurred_at")
    if data.next_step_on and data.next_step_on < timezone.localdate(now):
        raise SalesError("The next step cannot be in the past.", field="next_step_on")


def activity_log(*, lead: Lead, by: AbstractBaseUser, data: ActivityIn) -> tuple[Activity, bool]:
    """Record an activity; returns (activity, created).

    A resend with the same client token returns the first activity (created False), even
    when two submissions race: the token is unique, and the loser reads the winner's row.
    """
    now = timezone.now()
    _activity_checked(data, now)
    if data.client_token and (existing := _by_token(lead, data.client_token)):
        return existing, False
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                lead=lead,
                kind=data.kind,
                outcome=data.outcome,
                note=data.note,
                next_step_on=data.next_step_on,
                occurred_at=data.occurred_at or now,
                client_token=data.client_token or None,
                by=by,
                created_at=now,
            )
            _handoff_touched(lead.pk, activity, now)
    except IntegrityError:
        if data.client_token and (existing := _by_token(lead, data.client_token)):
            return existing, False
        raise
    return activity, True


def _by_token(lead: Lead, token: str) -> Activity | None:
    existing = Activity.objects.filter(client_token=token).first()
    if existing and existing.lead_id != lead.pk:
        raise SalesError("This client token was already used for another lead.", field="client_token", status=409)
    return existing


def _handoff_touched(lead_id: int, activity: Activity, now: datetime) -> None:
    """The first logged activity stops the clock (at logging time, so it cannot be backdated)."""
    Handoff.objects.filter(lead_id=lead_id).update(
        first_touch_at=Coalesce("first_touch_at", now),
        last_activity_at=Greatest(Coalesce("last_activity_at", activity.occurred_at), activity.occurred_at),
        last_activity_kind=activity.kind,
    )


def activities_for(lead: Lead) -> Any:
    return lead.activities.select_related("by").order_by("-occurred_at", "-id")


def _open_handoff(lead: Lead) -> Handoff:
    """The lead's handoff, locked; refuses leads sales is not (or no longer) working."""
    handoff = Handoff.objects.select_for_update().filter(lead=lead).first()
    if handoff is None or lead.stage not in WORKABLE:
        raise SalesError(f"This lead is not waiting for sales: it is {lead.get_stage_display()}.")
    if handoff.status == HandoffStatus.POOLED:
        raise SalesError("This lead waits in a pool: claim it first.")
    if handoff.status != HandoffStatus.ASSIGNED:
        raise SalesError(f"This lead was already {handoff.get_status_display().lower()}.")
    return handoff


def _close(handoff: Handoff, status: str, now: datetime, revisit_on: date | None = None) -> None:
    handoff.status, handoff.closed_at, handoff.revisit_on = status, now, revisit_on
    handoff.first_touch_at = handoff.first_touch_at or now  # a verdict is a touch too
    handoff.save(update_fields=["status", "closed_at", "revisit_on", "first_touch_at"])


def lead_accept(*, lead: Lead, by: AbstractBaseUser, note: str = "") -> Deal:
    """Sales accepts the lead: it becomes an opportunity with a deal opened for its rep."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        handoff = _open_handoff(lead)
        now = timezone.now()
        # "Sales accepted" is recorded as the move to opportunity, by the person who accepted.
        lead_change_stage(lead=lead, to_stage=Stage.OPPORTUNITY, by=by, reason="Accepted by sales", note=note)
        _close(handoff, HandoffStatus.ACCEPTED, now)
        return deal_open(lead=lead, owner_id=handoff.assigned_to_id, by=by)


def lead_reject(*, lead: Lead, by: AbstractBaseUser, reason: str, text: str = "") -> StageChange:
    """Sales says no: the lead is disqualified, with the reason marketing will see."""
    chosen = reason_checked(kind=Reason.Kind.REJECT, code=reason, text=text)
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        handoff = _open_handoff(lead)
        change = lead_change_stage(lead=lead, to_stage=Stage.DISQUALIFIED, by=by, reason=chosen.label, note=text)
        _close(handoff, HandoffStatus.REJECTED, timezone.now())
    return change


def lead_recycle(*, lead: Lead, by: AbstractBaseUser, reason: str, revisit_on: date, text: str = "") -> StageChange:
    """Not now: back to marketing's nurture until `revisit_on`, then requalified."""
    chosen = reason_checked(kind=Reason.Kind.RECYCLE, code=reason, text=text)
    if revisit_on <= timezone.localdate():
        raise SalesError("The revisit date must be after today.", field="revisit_on")
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        handoff = _open_handoff(lead)
        note = f"Revisit on {revisit_on:%Y-%m-%d}." + (f" {text}" if text else "")
        change = lead_change_stage(lead=lead, to_stage=Stage.RECYCLED, by=by, reason=chosen.label, note=note)
        _close(handoff, HandoffStatus.RECYCLED, timezone.now(), revisit_on=revisit_on)
    return change


def leads_revisit_due(*, today: date | None = None, batch: int = REVISIT_BATCH) -> int:
    """Recycled leads whose revisit date has come go back to `lead` and are requalified.

    In bounded batches; each batch is claimed by moving its handoffs to "returned" with a
    conditional update, so a second run at the same time takes none of the same leads.
    """
    today = today or timezone.localdate()
    returned = 0
    while ids := list(
        Handoff.objects.filter(status=HandoffStatus.RECYCLED, revisit_on__lte=today)
        .order_by("revisit_on", "id")
        .values_list("lead_id", flat=True)[:batch]
    ):
        moved = _revisit_batch(ids)
        returned += len(moved)
        if moved:
            leads_qualify(lead_ids=moved)
    return returned


def _revisit_batch(lead_ids: list[int]) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Handoff.objects.filter(lead_id__in=lead_ids, status=HandoffStatus.RECYCLED).values_list(
                "lead_id", flat=True
            )
        )
        Handoff.objects.filter(lead_id__in=claimed, status=HandoffStatus.RECYCLED).update(
            status=HandoffStatus.RETURNED, closed_at=now
        )
        moved = leads_move_stage(
            lead_ids=claimed,
            from_stage=Stage.RECYCLED,
            to_stage=Stage.LEAD,
            source=ChangeSource.SYSTEM,
            at=now,
            reason="Revisit date reached",
        )
    return moved


def lead_workspace(*, lead: Lead) -> dict[str, Any]:
    """What a rep needs on the lead page besides the timeline: why it is here, its handoff, deal."""
    handoff = Handoff.objects.filter(lead=lead).select_related("assigned_to", "team").first()
    return {
        "lead": lead,
        "why_qualified": why_qualified(lead),
        "score": score_explained(lead),
        "persona": lead.persona,
        "handoff": handoff,
        "open_deal": lead.deals.filter(closed_at__isnull=True).select_related("stage", "owner").first(),
        "activities": list(activities_for(lead)[:20]),
        "assignments": list(lead.assignments.select_related("from_rep", "to_rep", "team", "by")[:20]),
    }
