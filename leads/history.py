"""A lead's stage history: every stage move goes through here, one lead or a set of them, and is
recorded as a StageChange row (append-only: reports and the features that react to a move
read these rows).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from leads.models import ChangeSource, Lead, StageChange


def lead_change_stage(
    *,
    lead: Lead,
    to_stage: str,
    by: AbstractBaseUser | None = None,
    source: str = ChangeSource.USER,
    reason: str = "",
    note: str = "",
) -> StageChange | None:
    """Move a lead to another stage and record it; a move to the current stage does nothing."""
    if lead.stage == to_stage:
        return None
    with transaction.atomic():
        now = timezone.now()
        change = StageChange.objects.create(
            lead=lead,
            from_stage=lead.stage,
            to_stage=to_stage,
            changed_at=now,
            changed_by=by,
            source=source,
            reason=reason,
            note=note,
        )
        lead.stage = to_stage
        lead.stage_changed_at = now
        lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    return change
