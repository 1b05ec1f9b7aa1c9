"""The demo: users, campaigns with their costs, and leads with their journeys, written in batches
for `manage.py seed_demo`.
"""

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from leads.demo.plans import BATCH, CAMPAIGNS, DEMO_DAYS, USER_NAMES, Plan, _rng, demo_plans
from leads.models import (
    Campaign,
    CampaignCost,
    Event,
    Lead,
    LeadScore,
    StageChange,
)


def demo_users_ensure(*, users: Sequence[tuple[str, str]], password: str) -> dict[str, User]:
    """The demo logins, each in its role's group; existing users keep their password."""
    result = {}
    for username, role in users:
        first, last = USER_NAMES.get(username, ("", ""))
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@smarketing.example"},
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        result[username] = user
    return result


def demo_campaigns_ensure(*, seed: int, today: date) -> tuple[list[Campaign], int]:
    """The demo campaigns with six months of costs; returns (campaigns, cost rows created).

    Costs are written only for a campaign that has none, so a second run adds nothing.
    """
    rng = _rng(seed)
    campaigns, costs = [], []
    start = today - timedelta(days=DEMO_DAYS)
    for spec in CAMPAIGNS:
        source, medium, utm_campaign = spec["utm"]
        campaign, _ = Campaign.objects.get_or_create(
            name=spec["name"],
            defaults={
                "channel": spec["channel"],
                "utm_source": source,
                "utm_medium": medium,
                "utm_campaign": utm_campaign,
                "starts_on": start,
            },
        )
        campaigns.append(campaign)
        rows = _campaign_costs(rng=rng, campaign=campaign, pattern=spec["cost"], start=start, today=today)
        if not campaign.costs.exists():
            costs.extend(rows)
    CampaignCost.objects.bulk_create(costs)
    return campaigns, len(costs)


def _campaign_costs(
    *, rng: random.Random, campaign: Campaign, pattern: tuple[str, int, int], start: date, today: date
) -> list[CampaignCost]:
    every, low, high = pattern
    step = {"weekly": 7, "monthly": 30, "once": None}[every]
    days = [rng.randrange(20, DEMO_DAYS - 20)] if step is None else range(rng.randrange(0, step), DEMO_DAYS, step)
    note = {"weekly": "Ad spend", "monthly": "Monthly invoice", "once": "Production and sponsorship"}[every]
    return [
        CampaignCost(
            campaign=campaign,
            incurred_on=start + timedelta(days=day),
            amount=Decimal(rng.randrange(low * 100, high * 100)) / 100,
            note=note,
        )
        for day in days
        if start + timedelta(days=day) <= today
    ]


def demo_leads_create(*, plans: list[Plan]) -> dict[str, int]:
    """Create the planned leads whose email is not taken yet, with their events and history."""
    emails = [plan.fields["email"] for plan in plans]
    taken = set()
    for start in range(0, len(emails), BATCH):
        taken.update(Lead.objects.filter(email__in=emails[start : start + BATCH]).values_list("email", flat=True))
    todo = [plan for plan in plans if plan.fields["email"] not in taken]
    counts = {"leads": 0, "events": 0, "stage_changes": 0}
    with transaction.atomic():
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            leads = Lead.objects.bulk_create([Lead(**plan.fields) for plan in batch])
            LeadScore.objects.bulk_create(
                [LeadScore(lead=lead, created_at=lead.created_at, last_touch_at=lead.last_touch_at) for lead in leads]
            )
            events = [
                Event(
                    lead=lead,
                    type=kind,
                    occurred_at=at,
                    received_at=at,
                    campaign=campaign,
                    properties=props,
                    idempotency_key=f"demo-{plan.number}-{n}",
                )
                for plan, lead in zip(batch, leads, strict=True)
                for n, (kind, at, campaign, props) in enumerate(plan.events, start=1)
            ]
            changes = [
                StageChange(lead=lead, **change)
                for plan, lead in zip(batch, leads, strict=True)
                for change in plan.changes
            ]
            Event.objects.bulk_create(events, batch_size=BATCH)
            StageChange.objects.bulk_create(changes, batch_size=BATCH)
            counts["leads"] += len(leads)
            counts["events"] += len(events)
            counts["stage_changes"] += len(changes)
    return counts


def demo_seed(*, marketer: User, reps: list[User], count: int, seed: int) -> dict[str, int]:
    """Campaigns, costs, leads, events and stage history for the demo; safe to run again."""
    now = timezone.now()
    campaigns, costs = demo_campaigns_ensure(seed=seed, today=timezone.localdate(now))
    plans = demo_plans(count=count, seed=seed, now=now, campaigns=campaigns, reps=reps, marketer=marketer)
    created = demo_leads_create(plans=plans)
    return {"campaigns": len(campaigns), "costs": costs, **created}
