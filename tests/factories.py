"""factory_boy factories for the core models."""

import factory
from django.utils import timezone

from leads.models import Campaign, CampaignCost, Channel, Event, Lead, Stage


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Channel.WEBINAR
    utm_campaign = factory.Sequence(lambda n: f"campaign-{n}")


class CampaignCostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignCost

    campaign = factory.SubFactory(CampaignFactory)
    incurred_on = factory.LazyFunction(lambda: timezone.localdate())
    amount = 100


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    stage = Stage.LEAD


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    lead = factory.SubFactory(LeadFactory)
    type = "page_viewed"
    occurred_at = factory.LazyFunction(timezone.now)
    idempotency_key = factory.Sequence(lambda n: f"evt-{n}")
