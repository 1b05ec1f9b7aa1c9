"""Models arrive with the features that need them."""

from reports.pack.models import ActionItem, MeetingPack

__all__ = ["ActionItem", "MeetingPack"]
