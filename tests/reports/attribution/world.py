"""A small hand-built month (March 2026) whose ROI figures are worked out by hand in the tests."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from leads.models import Campaign, CampaignCost, Channel, Deal, DealStage, Lead, Stage, StageChange
from reports.attribution.services import rollups_update
from tests.factories import CampaignFactory, EventFactory, LeadFactory

MARCH = date(2026, 3, 1)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.get_current_timezone())


def moved(lead: Lead, stage: str, when: datetime) -> None:
    StageChange.objects.create(lead=lead, from_stage=Stage.LEAD, to_stage=stage, changed_at=when)


@dataclass
class World:
    webinar: Campaign
    search: Campaign


def build_world() -> World:
    """Two campaigns with costs, five leads, a won deal with touches and one without.

    - Webinar (channel webinar): costs 100.00 + 200.00 in March, 1,000.00 in February.
      Search (paid search): 50.00 in March, 75.00 in April.
    - Leads created in March: L1 and L2 first came through Webinar, L3 through Search, L4 through
      none; L0 (Webinar) was created in February.
    - Stage entries: L1 MQL 10 Mar, SQL 11, opportunity 12, customer 20; L3 MQL 10 Mar;
      L0 MQL 20 Feb, again 3 Mar (not a first entry), SQL 4 Mar.
    - D1 (L1), 1,000.00, created 15 Mar 12:00, won 20 Mar. L1's touches up to then: Webinar
      1 Mar 12:00 (14 days before), Search 8 Mar 12:00 (7 days), Webinar 15 Mar 12:00 (0 days);
      not touches: an event with no campaign (2 Mar) and a Search event after the deal (16 Mar).
      The MQL moment (10 Mar) makes the Search touch the W's middle key.
    - D2 (L4), 250.50, won 25 Mar, no touches: "(no campaign)".
    - Not in March's revenue: a deal lost in March, a deal won in April.

    The ROI rollups are brought up to date at the end, as beat would within seconds.
    """
    won = DealStage.objects.get(outcome=DealStage.Outcome.WON)
    lost = DealStage.objects.get(outcome=DealStage.Outcome.LOST)
    webinar = CampaignFactory(name="Spring webinar", channel=Channel.WEBINAR)
    search = CampaignFactory(name="Brand search", channel=Channel.PAID_SEARCH)
    for campaign, day, amount in [
        (webinar, date(2026, 3, 2), "100.00"),
        (webinar, date(2026, 3, 31), "200.00"),
        (webinar, date(2026, 2, 28), "1000.00"),
        (search, date(2026, 3, 1), "50.00"),
        (search, date(2026, 4, 1), "75.00"),
    ]:
        CampaignCost.objects.create(campaign=campaign, incurred_on=day, amount=Decimal(amount))
    l0 = LeadFactory(first_campaign=webinar, created_at=at(2, 10))
    l1 = LeadFactory(first_campaign=webinar, created_at=at(3, 1, 9))
    LeadFactory(first_campaign=webinar, created_at=at(3, 5))
    l3 = LeadFactory(first_campaign=search, created_at=at(3, 6))
    l4 = LeadFactory(first_campaign=None, created_at=at(3, 7))
    for lead, stage, when in [
        (l1, Stage.MQL, at(3, 10)),
        (l1, Stage.SQL, at(3, 11)),
        (l1, Stage.OPPORTUNITY, at(3, 12)),
        (l1, Stage.CUSTOMER, at(3, 20)),
        (l3, Stage.MQL, at(3, 10)),
        (l0, Stage.MQL, at(2, 20)),
        (l0, Stage.MQL, at(3, 3)),
        (l0, Stage.SQL, at(3, 4)),
    ]:
        moved(lead, stage, when)
    EventFactory(lead=l1, campaign=webinar, occurred_at=at(3, 1))
    EventFactory(lead=l1, campaign=None, occurred_at=at(3, 2))
    EventFactory(lead=l1, campaign=search, occurred_at=at(3, 8))
    EventFactory(lead=l1, campaign=webinar, occurred_at=at(3, 15))
    EventFactory(lead=l1, campaign=search, occurred_at=at(3, 16))
    EventFactory(lead=l4, campaign=None, occurred_at=at(3, 7))
    deal = {"name": "Deal", "stage": won}
    Deal.objects.create(lead=l1, amount=Decimal("1000.00"), created_at=at(3, 15), closed_at=at(3, 20), **deal)
    Deal.objects.create(lead=l4, amount=Decimal("250.50"), created_at=at(3, 8), closed_at=at(3, 25), **deal)
    Deal.objects.create(
        lead=l3, name="Lost", stage=lost, amount=Decimal("999"), created_at=at(3, 9), closed_at=at(3, 21)
    )
    Deal.objects.create(lead=l0, amount=Decimal("777"), created_at=at(3, 9), closed_at=at(4, 2), **deal)
    rollups_update()
    return World(webinar=webinar, search=search)
