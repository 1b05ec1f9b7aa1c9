"""Deals: the pipeline after a rep accepts a lead.

Stages are rows (DealStage), default discovery → demo → proposal → negotiation, then won
or lost. Won makes the lead a customer; lost needs a reason from the managed list and sends
the lead back to marketing (recycled). A closed deal changes only after a manager reopens
it. Every change is a DealChange row: {"field": [before, after]}.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from leads.history import lead_change_stage
from leads.models import Deal, DealChange, DealStage, Lead, Reason, Stage
from leads.sales.services import SalesError, reason_checked
from smarketing.roles import Role, has_role

DEAL_STAGES = [Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST]


EDITABLE = ("name", "amount", "expected_close_on", "stage", "owner")


BOARD_CLOSED_DAYS = 30


def stage_open_first() -> DealStage:
    stage = DealStage.objects.filter(outcome=DealStage.Outcome.OPEN).order_by("position", "id").first()
    if stage is None:
        raise SalesError("The pipeline has no open stage; a manager must add one in the admin.")
    return stage


def stage_closing(outcome: str) -> DealStage:
    stage = DealStage.objects.filter(outcome=outcome).first()
    if stage is None:
        raise SalesError(f"The pipeline has no {outcome} stage; a manager must add it in the admin.")
    return stage


def _amount_checked(amount: Any) -> Decimal | None:
    if amount is None:
        return None
    try:
        value = Decimal(str(amount))
    except ArithmeticError as error:
        raise SalesError("Give the amount as a number.", field="amount") from error
    if not value.is_finite() or value < 0:
        raise SalesError("The amount cannot be negative.", field="amount")
    return value


def _record(
    deal: Deal, by: AbstractBaseUser | None, action: str, changes: dict[str, list[Any]], note: str = ""
) -> None:
    DealChange.objects.create(deal=deal, by=by, action=action, changes=changes, note=note)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, DealStage):
        return value.name
    return getattr(value, "pk", value)


def deal_open(
    *,
    lead: Lead,
    owner_id: int | None,
    by: AbstractBaseUser,
    name: str = "",
    amount: Any = None,
    expected_close_on: date | None = None,
) -> Deal:
    """Open a deal on an opportunity (or a customer's new business); one open deal per lead."""
    if lead.stage not in DEAL_STAGES:
        raise SalesError("Accept the lead before opening a deal on it.", field="lead")
    value = _amount_checked(amount)
    with transaction.atomic():
        # The lead's row is the lock: two submissions for one lead open one deal, not a 500.
        Lead.objects.select_for_update().filter(pk=lead.pk).exists()
        if Deal.objects.filter(lead=lead, closed_at__isnull=True).exists():
            raise SalesError("This lead already has an open deal.", field="lead")
        deal = Deal.objects.create(
            lead=lead,
            name=name or lead.company or str(lead),
            owner_id=owner_id,
            stage=stage_open_first(),
            amount=value,
            expected_close_on=expected_close_on,
        )
        _record(deal, by, "opened", {"stage": [None, deal.stage.name], "amount": [None, _json(value)]})
    return deal


def deal_update(*, deal: Deal, by: AbstractBaseUser, changes: dict[str, Any]) -> Deal:
    """Change an open deal's name, amount, expected close, open stage or (managers) owner."""
    with transaction.atomic():
        deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
        if deal.is_closed:
            raise SalesError("This deal is closed; a manager must reopen it before it can change.", status=403)
        fields = {key: value for key, value in changes.items() if key in EDITABLE}
        _update_checked(fields, by)
        diff = {key: [_json(getattr(deal, key)), _json(value)] for key, value in fields.items()}
        diff = {key: pair for key, pair in diff.items() if pair[0] != pair[1]}
        if not diff:
            return deal
        for key, value in fields.items():
            setattr(deal, key, value)
        deal.save(update_fields=[*fields, "updated_at"])
        _record(deal, by, "changed", diff)
    return deal


def _update_checked(fields: dict[str, Any], by: AbstractBaseUser) -> None:
    if "amount" in fields:
        fields["amount"] = _amount_checked(fields["amount"])
    stage = fields.get("stage")
    if stage is not None and stage.is_closed:
        raise SalesError("Close a deal through won or lost (lost needs a reason).", field="stage")
    if "stage" in fields and stage is None:
        raise SalesError("A deal always has a stage.", field="stage")
    if "owner" in fields:
        if not has_role(by, Role.MANAGER):
            raise SalesError("Only a manager may hand a deal to another rep.", field="owner", status=403)
        if fields["owner"] is None or not has_role(fields["owner"], Role.SALES):
            raise SalesError("The owner must be a sales rep.", field="owner")


def deal_win(*, deal: Deal, by: AbstractBaseUser, amount: Any = None) -> Deal:
    """Won: the deal closes and its lead becomes a customer."""
    with transaction.atomic():
        deal = _closable(deal)
        won = stage_closing(DealStage.Outcome.WON)
        diff: dict[str, list[Any]] = {"stage": [deal.stage.name, won.name]}
        if amount is not None:
            value = _amount_checked(amount)
            diff["amount"] = [_json(deal.amount), _json(value)]
            deal.amount = value
        deal.stage, deal.closed_at = won, timezone.now()
        deal.save(update_fields=["stage", "closed_at", "amount", "updated_at"])
        _record(deal, by, "won", diff)
        lead = Lead.objects.select_for_update().get(pk=deal.lead_id)
        if lead.stage == Stage.OPPORTUNITY:
            lead_change_stage(lead=lead, to_stage=Stage.CUSTOMER, by=by, reason=f"Deal won: {deal.name}")
    return deal


def deal_lose(*, deal: Deal, by: AbstractBaseUser, reason: str, note: str = "") -> Deal:
    """Lost, with a reason from the list; an opportunity with no other open deal goes back to marketing."""
    chosen = reason_checked(kind=Reason.Kind.LOST, code=reason, text=note)
    with transaction.atomic():
        deal = _closable(deal)
        lost = stage_closing(DealStage.Outcome.LOST)
        diff = {"stage": [deal.stage.name, lost.name], "lost_reason": [None, chosen.label]}
        deal.stage, deal.closed_at, deal.lost_reason, deal.lost_note = lost, timezone.now(), chosen, note
        deal.save(update_fields=["stage", "closed_at", "lost_reason", "lost_note", "updated_at"])
        _record(deal, by, "lost", diff, note)
        lead = Lead.objects.select_for_update().get(pk=deal.lead_id)
        others = Deal.objects.filter(lead=lead, closed_at__isnull=True).exists()
        if lead.stage == Stage.OPPORTUNITY and not others:
            lead_change_stage(lead=lead, to_stage=Stage.RECYCLED, by=by, reason=f"Deal lost: {chosen.label}", note=note)
    return deal


def _closable(deal: Deal) -> Deal:
    deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if deal.is_closed:
        raise SalesError(f"This deal is already {deal.stage.name.lower()}.")
    return deal


def deal_reopen(*, deal: Deal, by: AbstractBaseUser, stage: DealStage | None = None, note: str = "") -> Deal:
    """A manager reopens a won or lost deal (a correction); its lead is an opportunity again."""
    if not has_role(by, Role.MANAGER):
        raise SalesError("Only a manager may reopen a closed deal.", status=403)
    if stage is not None and stage.is_closed:
        raise SalesError("Reopen into an open stage.", field="stage")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
        if not deal.is_closed:
            raise SalesError("This deal is open.")
        if Deal.objects.filter(lead_id=deal.lead_id, closed_at__isnull=True).exists():
            raise SalesError("Its lead has another open deal; close that one first.")
        target = stage or _stage_before_close(deal)
        diff = {"stage": [deal.stage.name, target.name], "lost_reason": [_json(deal.lost_reason), None]}
        deal.stage, deal.closed_at, deal.lost_reason, deal.lost_note = target, None, None, ""
        deal.save(update_fields=["stage", "closed_at", "lost_reason", "lost_note", "updated_at"])
        _record(deal, by, "reopened", diff, note)
        lead = Lead.objects.select_for_update().get(pk=deal.lead_id)
        if lead.stage in (Stage.CUSTOMER, Stage.RECYCLED):
            lead_change_stage(lead=lead, to_stage=Stage.OPPORTUNITY, by=by, reason="Deal reopened", note=note)
    return deal


def _stage_before_close(deal: Deal) -> DealStage:
    last = deal.changes.filter(action__in=["won", "lost"]).order_by("-at", "-id").first()
    name = last.changes.get("stage", [None])[0] if last else None
    found = DealStage.objects.filter(name=name, outcome=DealStage.Outcome.OPEN).first() if name else None
    return found or stage_open_first()


def deals_board(*, deals: QuerySet[Deal], closed_days: int = BOARD_CLOSED_DAYS) -> list[dict[str, Any]]:
    """One column per stage with its deals and total; won and lost show the last `closed_days` days.

    Two queries whatever the number of deals: the stages, then the deals joined to their lead.
    """
    since = timezone.now() - timezone.timedelta(days=closed_days)
    stages = list(DealStage.objects.order_by("position", "id"))
    rows = (
        deals.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=since))
        .select_related("lead", "owner", "stage")
        .order_by("expected_close_on", "id")
    )
    columns = {stage.pk: {"stage": stage, "deals": [], "total": Decimal(0)} for stage in stages}
    for deal in rows:
        column = columns[deal.stage_id]
        column["deals"].append(deal)
        column["total"] += deal.amount or 0
    return list(columns.values())


def deals_summary(*, deals: QuerySet[Deal]) -> dict[str, Any]:
    """Open pipeline count and value."""
    figures = deals.filter(closed_at__isnull=True).aggregate(count=Count("id"), value=Sum("amount"))
    return {"open_count": figures["count"], "open_value": figures["value"] or Decimal(0)}
