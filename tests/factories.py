"""factory_boy factories for the core models."""

from typing import Any

import factory
from django.utils import timezone

from leads.models import Campaign, Channel, Event, Lead, LeadScore, Stage


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = Channel.WEBINAR
    utm_campaign = factory.Sequence(lambda n: f"campaign-{n}")


# Scores live in LeadScore; LeadFactory takes them too, so a test can say LeadFactory(score=70).
SCORE_FIELDS = {"score": "score", "fit_score": "fit", "engagement_score": "engagement"}
SCORE_FIELDS |= {"persona": "persona", "score_breakdown": "breakdown"}


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    stage = Stage.LEAD

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Lead:
        scores = {column: kwargs.pop(name) for name, column in SCORE_FIELDS.items() if name in kwargs}
        lead = super()._create(model_class, *args, **kwargs)
        if scores:
            LeadScore.objects.update_or_create(lead=lead, defaults=scores)
        return lead


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    lead = factory.SubFactory(LeadFactory)
    type = "page_viewed"
    occurred_at = factory.LazyFunction(timezone.now)
    idempotency_key = factory.Sequence(lambda n: f"evt-{n}")
