"""The rules that always hold, whatever a playbook or a person asks: checked when a message is
about to be written to the outbox, so every refusal is a row with its reason."""

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from leads.models import ErasedAddress, Lead, Stage
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
    "erased": "The lead's data was erased at its owner's request: the address is never emailed.",
}


def refusal(lead: Lead, kind: str) -> str:
    """The reason this lead may not get a message of this kind now; "" when it may."""
    return refusals([lead], kind)[lead.pk]


def refusals(leads: Sequence[Lead], kind: str) -> dict[int, str]:
    """refusal() for many leads at once (a playbook step's batch): three queries, however many."""
    addresses = {lead.email for lead in leads if lead.email}
    suppressed = dict(Suppression.objects.filter(email__in=addresses).values_list("email", "reason"))
    suppressed |= dict.fromkeys(ErasedAddress.objects.among(addresses), "erased")
    sent = promotional_this_week(leads) if kind == TemplateKind.PROMOTIONAL else {}
    return {lead.pk: _refusal(lead, kind, suppressed.get(lead.email, ""), sent.get(lead.pk, 0)) for lead in leads}


def _refusal(lead: Lead, kind: str, suppressed: str, promotional_sent: int) -> str:
    if not lead.email:
        return "no_address"
    if suppressed:
        return suppressed
    if kind in MARKETING_KINDS and lead.is_unsubscribed:
        return "unsubscribed"
    if kind in NEEDS_CONSENT and settings.EMAIL_CONSENT_REQUIRED and not lead.consent:
        return "no_consent"
    if _stage_refuses(lead.stage, kind):
        return "stage"
    if kind == TemplateKind.PROMOTIONAL and promotional_sent >= settings.EMAIL_PROMOTIONAL_PER_WEEK:
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


def promotional_this_week(leads: Sequence[Lead]) -> dict[int, int]:
    """Per lead, the promotional messages written for it in the last 7 days (refused ones aside)."""
    since = timezone.now() - timedelta(days=7)
    counted = [OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING, OutboundEmail.Status.SENT]
    mine = OutboundEmail.objects.filter(
        lead__in=[lead.pk for lead in leads], kind=TemplateKind.PROMOTIONAL, status__in=counted, created_at__gte=since
    )
    return dict(mine.values("lead_id").annotate(sent=Count("id")).values_list("lead_id", "sent"))
