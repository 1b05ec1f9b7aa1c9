from playbooks.models.email import EmailTemplate, OutboundEmail, Suppression, TemplateKind
from playbooks.models.lists import LeadList, ListMembership
from playbooks.models.playbook import Enrollment, Playbook, StepRun, TriggerCursor
from playbooks.models.referrals import Referral, Referrer
from playbooks.models.webhooks import WebhookDelivery

__all__ = [
    "EmailTemplate",
    "Enrollment",
    "LeadList",
    "ListMembership",
    "OutboundEmail",
    "Playbook",
    "Referral",
    "Referrer",
    "StepRun",
    "Suppression",
    "TemplateKind",
    "TriggerCursor",
    "WebhookDelivery",
]
