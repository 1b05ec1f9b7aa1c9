"""Models arrive with the features that need them."""

from reports.attribution.models import DealCredit, LeadMilestone, RollupCursor, RollupState  # noqa: F401
from reports.funnel.models import StageEntry, StageMove  # noqa: F401
from reports.pack.models import ActionItem, MeetingPack

__all__ = ["ActionItem", "MeetingPack"]
