"""The rules that always hold, whatever a playbook or a person asks: checked when a message is
about to be written to the outbox, so every refusal is a row with its reason."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from leads.models import Lead, Stage
from playbooks.models import OutboundEmail, Suppression, TemplateKind

MARKETING_KINDS = {TemplateKind.PROMOTIONAL, TemplateKind.CONVERSION, TemplateKind.CUSTOMER}
NEEDS_CONSENT = {TemplateKind.PROMOTIONAL, TemplateKind.CONVERSION}
BUYING_OR_BOUGHT = {Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST}
CUSTOMERS = {Stage.CUSTOMER, Stage.EVANGELIST}

REASONS = {
    "bounced": "The address bounced: it is suppressed.",
    "complained": "The lead marked our email as spam: the address is suppressed.",
    "manual": "The address was suppressed by hand.",
    "unsubscribed": "The lead unsubscribed from marketing email.",
    "no_consent": "The lead has not given consent to marketing email.",
    "frequency_cap": "The lead has had the most promotional email allowed in 7 days.",
    "stage": "This kind of email is not sent to a lead at this stage.",
    "no_address": "The lead has no email address.",
}


def refusal(lead: Lead, kind: str) -> str:
    """The reason this lead may not get a message of this kind now; "" when it may."""
    if not lead.email:
        return "no_address"
    suppressed = Suppression.objects.filter(email=lead.email).values_list("reason", flat=True).first()
    if suppressed:
        return suppressed
    if kind in MARKETING_KINDS and lead.is_unsubscribed:
        return "unsubscribed"
    if kind in NEEDS_CONSENT and settings.EMAIL_CONSENT_REQUIRED and not lead.consent:
        return "no_consent"
    if _stage_refuses(lead.stage, kind):
        return "stage"
    if kind == TemplateKind.PROMOTIONAL and promotional_this_week(lead) >= settings.EMAIL_PROMOTIONAL_PER_WEEK:
        return "frequency_cap"
    return ""


def _stage_refuses(stage: str, kind: str) -> bool:
    """Promotional email stops once a lead is buying; customer email is for customers; conversion
    content is for leads that have not bought yet."""
    if kind == TemplateKind.PROMOTIONAL:
        return stage in BUYING_OR_BOUGHT
    if kind == TemplateKind.CUSTOMER:
        return stage not in CUSTOMERS
    if kind == TemplateKind.CONVERSION:
        return stage in CUSTOMERS
    return False


def promotional_this_week(lead: Lead) -> int:
    since = timezone.now() - timedelta(days=7)
    counted = [OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING, OutboundEmail.Status.SENT]
    mine = OutboundEmail.objects.filter(lead=lead, kind=TemplateKind.PROMOTIONAL, status__in=counted)
    return mine.filter(created_at__gte=since).count()
