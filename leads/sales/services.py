"""The sales side's shared writes: the agreement's terms per month, the reasons sales gives
marketing (reject, recycle, lost), and SalesError, which every sales service raises when an
action is not allowed now.
"""

from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from leads.models import (
    Agreement,
    Reason,
    Stage,
)
from smarketing.audit.services import config_changed, config_created, config_snapshot
from smarketing.lib.api import Refused
from smarketing.lib.periods import month_first
from smarketing.roles import Role, has_role

AGREEMENT_FIELDS = (
    "mql_target",
    "close_quota",
    "close_per",
    "speed_to_lead_hours",
    "reassign_after_hours",
    "first_touch_target_pct",
    "handoff_stage",
)


class SalesError(Refused):
    """A sales action that is not allowed now (see smarketing.lib.api.Refused)."""


def agreement_set(*, month: date, by: AbstractBaseUser, values: dict[str, Any]) -> tuple[Agreement, bool]:
    """A manager sets this month's or a later month's agreement; past months keep theirs."""
    if not has_role(by, Role.MANAGER):
        raise SalesError("Only a manager may set the agreement.", status=403)
    first = month_first(month)
    if first < month_first():
        raise SalesError("Past months keep the agreement they had; set this month's or a later one.", field="month")
    fields = {key: value for key, value in values.items() if key in AGREEMENT_FIELDS}
    if fields.get("handoff_stage", Stage.MQL) not in (Stage.MQL, Stage.SQL):
        raise SalesError("Hand leads to sales at MQL or SQL.", field="handoff_stage")
    terms = {**_carried(first), **fields}
    if terms["close_per"] < 1 or terms["close_quota"] > terms["close_per"]:
        raise SalesError(f"Sales wins at most all of them: a quota up to {terms['close_per']}.", field="close_quota")
    with transaction.atomic():
        agreement, created = Agreement.objects.select_for_update().get_or_create(
            month=first, defaults={**_carried(first), **fields, "created_by": by}
        )
        if created:
            config_created(agreement, by=by)
        else:
            before = config_snapshot(agreement)
            for key, value in fields.items():
                setattr(agreement, key, value)
            agreement.save(update_fields=[*fields, "updated_at"])
            config_changed(agreement, by=by, before=before)
    return agreement, created


def _carried(first: date) -> dict[str, Any]:
    """A new month starts from the terms that held before it."""
    before = Agreement.for_month(first)
    return {key: getattr(before, key) for key in AGREEMENT_FIELDS}


def reason_checked(*, kind: str, code: str, text: str) -> Reason:
    """A reason from the managed list of that kind; "other"-like reasons need text."""
    reason = Reason.objects.filter(kind=kind, code=code, is_active=True).first()
    if reason is None:
        codes = ", ".join(Reason.objects.filter(kind=kind, is_active=True).values_list("code", flat=True))
        raise SalesError(f"Choose a reason from the list: {codes}.", field="reason")
    if reason.needs_text and not text.strip():
        raise SalesError(f"Say why (“{reason.label}” needs an explanation).", field="text")
    return reason
