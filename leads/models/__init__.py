"""The leads app's models, one module per area; import them from here."""

from leads.models.capture import CaptureForm, LeadMerge, SavedView
from leads.models.core import (
    FUNNEL,
    LEAD_ATTRIBUTE_FIELDS,
    Campaign,
    CampaignCost,
    ChangeSource,
    Channel,
    Event,
    Job,
    Lead,
    Stage,
    StageChange,
    normalize_email,
)
from leads.models.qualification import DefinitionStatus, QualificationDefinition
from leads.models.scoring import EngagementRollup, Persona, ScoringRule, ScoringState

__all__ = [
    "FUNNEL",
    "LEAD_ATTRIBUTE_FIELDS",
    "Campaign",
    "CampaignCost",
    "CaptureForm",
    "ChangeSource",
    "Channel",
    "DefinitionStatus",
    "EngagementRollup",
    "Event",
    "Job",
    "Lead",
    "LeadMerge",
    "Persona",
    "QualificationDefinition",
    "SavedView",
    "ScoringRule",
    "ScoringState",
    "Stage",
    "StageChange",
    "normalize_email",
]
