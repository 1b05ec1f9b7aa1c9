"""The article's example definition, used by the demo and as the starting draft."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from leads.models import DefinitionStatus, Persona, QualificationDefinition, ScoringRule
from leads.qualification import services as qualification
from leads.scoring import services as scoring

# MQL: registered for the webinar and then attended it.
ARTICLE_MQL: dict[str, Any] = {
    "op": "all",
    "children": [
        {"op": "has_event", "event": "webinar_registered"},
        {"op": "event_after", "event": "webinar_attended", "after": "webinar_registered"},
    ],
}


# SQL: an MQL that, after the webinar, downloaded the price list and started a trial.
ARTICLE_SQL: dict[str, Any] = {
    "op": "all",
    "children": [
        {"op": "event_after", "event": "pricing_downloaded", "after": "webinar_attended"},
        {"op": "event_after", "event": "trial_started", "after": "webinar_attended"},
    ],
}


PERSONAS: list[dict[str, Any]] = [
    {
        "name": "Ops lead at a mid-size SaaS",
        "description": "Runs operations at a software company of 50–1,000 people; buys to scale the team.",
        "conditions": [
            {"field": "industry", "op": "in", "value": ["Software", "SaaS", "Fintech"], "weight": 3},
            {"field": "company_size", "op": "gte", "value": 50, "weight": 2},
            {"field": "company_size", "op": "lte", "value": 1000, "weight": 1},
            {"field": "title", "op": "contains", "value": "operations", "weight": 2},
        ],
    },
    {
        "name": "Marketing head",
        "description": "Leads marketing; cares about pipeline and attribution.",
        "conditions": [
            {"field": "title", "op": "contains", "value": "marketing", "weight": 3},
            {"field": "company_size", "op": "gte", "value": 20, "weight": 1},
        ],
    },
]


ENGAGEMENT_RULES: list[dict[str, Any]] = [
    {"name": "Form submitted", "event_type": "form_submitted", "points": 5, "cap": 15},
    {"name": "Page viewed", "event_type": "page_viewed", "points": 1, "cap": 10, "half_life_days": 30},
    {"name": "Email opened", "event_type": "email_opened", "points": 1, "cap": 5, "half_life_days": 30},
    {"name": "Email clicked", "event_type": "email_clicked", "points": 3, "cap": 9, "half_life_days": 30},
    {"name": "Webinar attended", "event_type": "webinar_attended", "points": 15, "cap": 30, "half_life_days": 90},
    {"name": "Price list downloaded", "event_type": "pricing_downloaded", "points": 10, "cap": 10},
    {"name": "Trial started", "event_type": "trial_started", "points": 25, "cap": 25},
]


NEGATIVE_RULES: list[dict[str, Any]] = [
    {
        "name": "Free-mail address",
        "kind": ScoringRule.Kind.FREE_MAIL,
        "points": 10,
        "values": ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com"],
    },
    {"name": "Unsubscribed", "kind": ScoringRule.Kind.UNSUBSCRIBED, "points": 20, "values": []},
]


def demo_scoring_setup(
    *, marketer: AbstractBaseUser, signer_for_sales: AbstractBaseUser, score_now: bool = True
) -> dict[str, int]:
    """Create what is missing (nothing twice), then (unless told not to) score and qualify every lead."""
    with transaction.atomic():
        for persona in PERSONAS:
            Persona.objects.get_or_create(name=persona["name"], defaults=persona)
        for rule in [*ENGAGEMENT_RULES, *NEGATIVE_RULES]:
            ScoringRule.objects.get_or_create(name=rule["name"], defaults=rule)
        if not QualificationDefinition.objects.exists():
            _article_definition(marketer=marketer, signer_for_sales=signer_for_sales)
    if not score_now:
        return {}
    scoring.rollups_rebuild_many(rules=ScoringRule.objects.filter(kind=ScoringRule.Kind.ENGAGEMENT))
    scoring.rollups_analyze()
    changed = scoring.leads_rescore_all()
    promoted = qualification.leads_qualify()
    return {"rescored": changed, **promoted}


def _article_definition(*, marketer: AbstractBaseUser, signer_for_sales: AbstractBaseUser) -> None:
    definition = qualification.definition_create(
        by=marketer,
        mql_rule=ARTICLE_MQL,
        sql_rule=ARTICLE_SQL,
        name="Webinar → price list → trial",
        notes="MQL: registered for the webinar and attended it. SQL: then downloaded the price list and "
        "started a trial.",
    )
    qualification.definition_propose(definition=definition, by=marketer)
    qualification.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification.definition_sign(definition=definition, by=signer_for_sales, side="sales")
    # Activated directly: the demo's leads are scored and qualified right after, in the command.
    QualificationDefinition.objects.filter(pk=definition.pk).update(
        status=DefinitionStatus.ACTIVE, activated_at=timezone.now()
    )
