"""Five leads through January and February 2026 whose dashboard figures are worked out by hand
in the tests. Rows are written as the product writes them (stage history, handoffs, deals), at
12:00 in the instance's zone unless said, so durations are whole days.

Agreement from January: 4 MQLs a month, close 1 of every 2 (50 %), first touch within 24 h,
80 % of handoffs touched in time. Campaigns: Webinar (channel webinar), Ads (paid search).

- A, created 5 Jan, Webinar, persona Ops, version 1: mql 10 Jan, handed off 10 Jan, touched
  10 Jan 18:00 (in time), accepted 12 Jan (→ opportunity), deal won 3 Feb for 1,000 (→ customer).
- B, created 8 Jan, Ads: mql 15 Jan, handed off 15 Jan, touched 17 Jan (late), rejected 17 Jan
  as "No budget" (→ disqualified).
- C, created 20 Jan, Webinar: mql 22 Jan, handed off 22 Jan, touched 22 Jan 13:00 (in time),
  recycled 23 Jan as "Not now".
- D, created 2 Feb, Ads, persona Ops, version 2: mql 4 Feb, handed off 4 Feb, touched 4 Feb
  14:00, accepted 6 Feb, deal open at 500.
- E, created 3 Feb, no campaign: no move.

By hand, January (no filter): trend MQLs 3 / 4, handed off 3, accepted 1, touched in time 2 of
3 (67 %, B late), won 1 of 3 (33.3 %) for 1,000. Cohort: 3 leads; subscriber, lead and mql 3,
sql, opportunity and customer 1 (A). First entries: mql 3, opportunity 1. Velocity lead → mql:
5, 7 and 2 days, median 5.00. Verdicts 3: No budget (rejected) 1, Not now (recycled) 1.
Webinar only: cohort 2 leads, mql entries 2, lead → mql median 3.50, verdicts 2 (Not now 1).
February: trend MQLs 1 / 4, handed off 1, accepted 1, in time 1 of 1; deals won 1 for 1,000
(A); first entries mql 1, opportunity 1, customer 1; velocity lead → mql 2.00 (D),
opportunity → customer 22.00 (A). Pipeline now: 1 open deal, 500.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from leads.models import (
    Agreement,
    ChangeSource,
    Channel,
    Deal,
    DealStage,
    Handoff,
    HandoffStatus,
    Lead,
    Persona,
    QualificationDefinition,
    Stage,
    StageChange,
)
from reports.attribution.services import rollups_rebuild
from tests.factories import CampaignFactory, LeadFactory

JANUARY, FEBRUARY = date(2026, 1, 1), date(2026, 2, 1)
NOW = datetime(2026, 3, 15, 12, tzinfo=timezone.get_current_timezone())


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.get_current_timezone())


def change(lead: Lead, to: str, when: datetime, *, by: User | None = None, reason: str = "") -> None:
    StageChange.objects.create(
        lead=lead,
        from_stage=lead.stage,
        to_stage=to,
        changed_at=when,
        source=ChangeSource.USER if by else ChangeSource.RULE,
        changed_by=by,
        reason=reason,
    )
    lead.stage = to
    lead.save(update_fields=["stage"])


def hand_off(lead: Lead, rep: User, when: datetime, touched: datetime | None, status: str) -> None:
    deadline = when + timedelta(hours=24)
    Handoff.objects.create(
        lead=lead,
        stage=Stage.MQL,
        status=status,
        assigned_to=rep,
        handed_off_at=when,
        deadline=deadline,
        due_at=deadline,
        reassign_at=deadline + timedelta(hours=24),
        first_touch_at=touched,
    )


def build_world(rep: User) -> dict[str, Lead]:
    Agreement.objects.create(
        month=JANUARY, mql_target=4, close_quota=1, close_per=2, speed_to_lead_hours=24, first_touch_target_pct=80
    )
    webinar = CampaignFactory(name="Webinar", channel=Channel.WEBINAR)
    ads = CampaignFactory(name="Ads", channel=Channel.PAID_SEARCH)
    ops = Persona.objects.create(name="Ops")
    for version in (1, 2):
        QualificationDefinition.objects.create(version=version)
    leads = {
        "A": LeadFactory(
            first_name="Ana",
            last_name="A",
            created_at=at(1, 5),
            first_campaign=webinar,
            persona=ops,
            qualified_version=1,
        ),
        "B": LeadFactory(first_name="Bruno", last_name="B", created_at=at(1, 8), first_campaign=ads),
        "C": LeadFactory(first_name="Carla", last_name="C", created_at=at(1, 20), first_campaign=webinar),
        "D": LeadFactory(
            first_name="Dani", last_name="D", created_at=at(2, 2), first_campaign=ads, persona=ops, qualified_version=2
        ),
        "E": LeadFactory(first_name="Eva", last_name="E", created_at=at(2, 3)),
    }
    a, b, c, d = leads["A"], leads["B"], leads["C"], leads["D"]
    won, first_open = DealStage.objects.get(outcome=DealStage.Outcome.WON), _first_open_stage()

    change(a, Stage.MQL, at(1, 10))
    hand_off(a, rep, at(1, 10), at(1, 10, 18), HandoffStatus.ACCEPTED)
    change(a, Stage.OPPORTUNITY, at(1, 12), by=rep, reason="Accepted by sales")
    Deal.objects.create(lead=a, name="Ana's deal", owner=rep, stage=won, amount=Decimal("1000"), closed_at=at(2, 3))
    change(a, Stage.CUSTOMER, at(2, 3), by=rep)

    change(b, Stage.MQL, at(1, 15))
    hand_off(b, rep, at(1, 15), at(1, 17), HandoffStatus.REJECTED)
    change(b, Stage.DISQUALIFIED, at(1, 17), by=rep, reason="No budget")

    change(c, Stage.MQL, at(1, 22))
    hand_off(c, rep, at(1, 22), at(1, 22, 13), HandoffStatus.RECYCLED)
    change(c, Stage.RECYCLED, at(1, 23), by=rep, reason="Not now")

    change(d, Stage.MQL, at(2, 4))
    hand_off(d, rep, at(2, 4), at(2, 4, 14), HandoffStatus.ACCEPTED)
    change(d, Stage.OPPORTUNITY, at(2, 6), by=rep, reason="Accepted by sales")
    Deal.objects.create(lead=d, name="Dani's deal", owner=rep, stage=first_open, amount=Decimal("500"))
    rollups_rebuild()  # the reports read the rollups (beat keeps them current; a rebuild, as it makes them)
    return leads


def _first_open_stage() -> DealStage:
    return DealStage.objects.filter(outcome=DealStage.Outcome.OPEN).order_by("position", "id").first()


def ids(leads: list[Lead] | object) -> set[str]:
    """The world's letters of the leads (their last names)."""
    return {lead.last_name for lead in leads}
