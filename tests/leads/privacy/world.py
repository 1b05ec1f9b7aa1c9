"""One lead with a bit of everything the product keeps about a person, and a neighbour."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.models import Campaign, Deal, Lead, LeadMerge, Notification, ScoringRule
from leads.sales.deals import deal_win
from leads.sales.notifications import lead_url
from leads.sales.worklog import ActivityIn, activity_log, lead_accept
from playbooks.models import LeadList, ListMembership, OutboundEmail, Suppression, TemplateKind
from tests.factories import LeadFactory
from tests.leads.sales.helpers import assigned_lead

ANA = "ana.perez@acme.io"
ANA_OLD = "ana@old-mail.example"
SECRET_WORDS = ("Pérez", "Ana", "Acme", "+34 600 111 222", "mobile", "husband", "ana.perez")


@dataclass
class World:
    lead: Lead
    other: Lead
    deal: Deal
    email: OutboundEmail


def person_world(rep: User) -> World:
    campaign = Campaign.objects.create(name="Spring webinar", channel="webinar", utm_campaign="spring")
    ScoringRule.objects.create(
        name="Webinar", event_type="webinar_attended", points=10, property_filter={"live": "yes"}
    )
    lead = assigned_lead(
        rep,
        email=ANA,
        first_name="Ana",
        last_name="Pérez",
        company="Acme",
        phone="+34 600 111 222",
        title="CTO",
        industry="Software",
        company_size=120,
        country="ES",
        website="acme.io",
        first_touch={"utm_campaign": "spring", "referrer": "https://mail.example/?to=ana.perez@acme.io"},
    )
    when = timezone.now() - timedelta(days=2)
    events_ingest(
        events=[
            EventIn(
                email=ANA,
                type="webinar_attended",
                occurred_at=when,
                idempotency_key=f"webinar-{ANA}",
                properties={"utm_campaign": "spring", "live": "yes", "comment": "Call her mobile after 6"},
            )
        ]
    )
    activity_log(lead=lead, by=rep, data=ActivityIn(kind="call", outcome="Talked to Ana", note="Her husband answered"))
    deal = lead_accept(lead=lead, by=rep, note="Ana Pérez wants 50 seats")
    deal = deal_win(deal=deal, by=rep, amount=Decimal("5000.00"))
    LeadMerge.objects.create(survivor=lead, merged_lead_id=999, merged_email=ANA_OLD, snapshot={"first_name": "Ana"})
    Notification.objects.create(user=rep, text="Ana Pérez (Acme) was handed to you", url=lead_url(lead.pk))
    newsletter = LeadList.objects.create(name="Newsletter")
    ListMembership.objects.create(list=newsletter, lead=lead)
    email = OutboundEmail.objects.create(
        lead=lead,
        kind=TemplateKind.PROMOTIONAL,
        to_email=ANA,
        subject="Hello Ana",
        html="<p>Hello Ana Pérez</p>",
        text="Hello Ana Pérez",
        status=OutboundEmail.Status.QUEUED,
    )
    Suppression.objects.create(email=ANA, reason=Suppression.Reason.MANUAL)
    other = LeadFactory(email="bea@beta.io", first_name="Bea", last_name="Other", company="Beta")
    events_ingest(events=[EventIn(email="bea@beta.io", type="page_viewed", occurred_at=when, idempotency_key="bea-1")])
    assert campaign.pk
    return World(lead=Lead.objects.get(pk=lead.pk), other=other, deal=deal, email=email)
