"""Template filters of the email pages."""

from django import template

from playbooks.email.rules import REASONS
from playbooks.models import OutboundEmail

register = template.Library()


@register.filter
def email_outcome(email: OutboundEmail) -> str:
    """Why a message was not sent, in a sentence: the rule that refused a suppressed one, what
    went wrong with a failed or interrupted one; "" for the others."""
    if email.status == OutboundEmail.Status.SUPPRESSED:
        return REASONS.get(email.reason, email.reason)
    if email.status in (OutboundEmail.Status.FAILED, OutboundEmail.Status.UNKNOWN):
        return email.detail or email.reason
    return ""
