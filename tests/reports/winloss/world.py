"""A hand-built March 2026 of sales' verdicts and closed deals, written through the product's
services (the worklog's accept, reject and recycle; the deals' win and lose) with the clock set
to each moment, so the rows are the ones the product writes."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from conftest import make_user
from leads.history import leads_move_stage
from leads.models import Campaign, ChangeSource, Deal, Handoff, HandoffStatus, Lead, Persona, Stage
from leads.sales.deals import deal_lose, deal_win
from leads.sales.worklog import lead_accept, lead_recycle, lead_reject
from smarketing.roles import Role
from tests.factories import CampaignFactory, LeadFactory

MARCH = date(2026, 3, 1)
WEBINAR_RULE = "Attended the webinar"
PRICE_RULE = "Downloaded the price list"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.get_current_timezone())


@dataclass
class World:
    ann: User
    bob: User
    founder: Persona
    spring: Campaign


class Builder:
    def __init__(self) -> None:
        self.ann = make_user("ann", Role.SALES, first_name="Ann", last_name="Lee")
        self.bob = make_user("bob", Role.SALES)
        self.founder = Persona.objects.create(name="Founder")
        self.spring = CampaignFactory(name="Spring webinar")

    def lead(self, source: str, rules: list[str], when: datetime, rep: User, version: int = 1) -> Lead:
        """A lead qualified by `rules` under `version` and handed to `rep` an hour later."""
        webinar = source == "webinar"
        lead = LeadFactory(
            source=source,
            first_campaign=self.spring if webinar else None,
            persona=self.founder if webinar else None,
            created_at=when - timedelta(days=1),
        )
        leads_move_stage(
            lead_ids=[lead.pk],
            from_stage=Stage.LEAD,
            to_stage=Stage.MQL,
            source=ChangeSource.RULE,
            at=when - timedelta(hours=2),
            definition_version=version,
            matched_rules={lead.pk: rules},
        )
        Handoff.objects.create(
            lead=lead,
            stage=Stage.MQL,
            status=HandoffStatus.ASSIGNED,
            assigned_to=rep,
            handed_off_at=when - timedelta(hours=1),
            deadline=when + timedelta(days=1),
            due_at=when + timedelta(days=1),
            reassign_at=when + timedelta(days=2),
        )
        return Lead.objects.get(pk=lead.pk)

    def accepted(self, lead: Lead, rep: User, when: datetime) -> Deal:
        with time_machine.travel(when, tick=False):
            return lead_accept(lead=lead, by=rep)

    def won(self, deal: Deal, amount: str, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            deal_win(deal=deal, by=deal.owner, amount=Decimal(amount))

    def lost(self, deal: Deal, reason: str, when: datetime) -> None:
        with time_machine.travel(when, tick=False):
            deal_lose(deal=deal, by=deal.owner, reason=reason, note="Told us why" if reason == "other" else "")

    def deal(self, source: str, rep: User, accepted: datetime) -> Deal:
        rules = [WEBINAR_RULE] if source == "webinar" else [PRICE_RULE]
        return self.accepted(self.lead(source, rules, accepted, rep), rep, accepted)

    def rejected(self, source: str, rules: list[str], rep: User, reason: str, when: datetime, version: int = 1) -> None:
        lead = self.lead(source, rules, when, rep, version)
        with time_machine.travel(when, tick=False):
            lead_reject(lead=lead, by=rep, reason=reason)

    def recycled(self, source: str, rules: list[str], rep: User, reason: str, when: datetime, version: int = 1) -> None:
        lead = self.lead(source, rules, when, rep, version)
        with time_machine.travel(when, tick=False):
            lead_recycle(lead=lead, by=rep, reason=reason, revisit_on=date(2026, 6, 1))


def build_world() -> World:
    """Two reps (Ann Lee, bob), two sources (webinar: first campaign Spring webinar and persona
    Founder; search: neither), two qualifying rules (W = "Attended the webinar", P = "Downloaded
    the price list"). Figures for March 2026, worked out by hand:

    Deals (each lead qualified by W if from the webinar, by P if from search, and accepted in March
    unless said otherwise):
      D1 Ann, webinar, won 1,000.00 on 10 Mar      D4 bob, search, won 250.00 on 15 Mar
      D2 Ann, webinar, won 500.00 on 12 Mar        D5 bob, search, lost "Chose a competitor" 16 Mar
      D3 Ann, search, lost "Price" on 14 Mar       D6 bob, webinar, lost "Price" on 18 Mar
      not in March: D7 bob, webinar, accepted and lost (price) in February; D8 Ann, webinar,
      accepted 20 Mar, won 2 Apr; D9 bob, search, accepted 21 Mar and still open.
    - per rep: Ann Lee won 2, lost 1 (Price 1), 1,500.00, win rate 66.7 %;
      bob won 1, lost 2 (Price 1, Chose a competitor 1), 250.00, 33.3 %;
      in all won 3, lost 3 (Price 2, Chose a competitor 1), 1,750.00, 50.0 %.
    - per source: webinar (D1, D2, D6) 2 won, 1 lost, 1,500.00, 66.7 %; search (D3, D4, D5) 1 won,
      2 lost, 250.00, 33.3 %. Per campaign and per persona the same split ("Spring webinar" and
      "(no campaign)"; "Founder" and "(no persona)").

    Verdicts in March: the eight accepted leads D1–D6, D8 and D9 (W: D1, D2, D6, D8; P: D3, D4,
    D5, D9), and
      X1 webinar, W, Ann rejects "No budget"          X4 search, P, bob rejects "No budget"
      X2 webinar, W, Ann rejects "No budget"          Y1 webinar, W and P, Ann recycles "Not ready
      X3 webinar, W, bob rejects "Bad fit" (v2)          to buy yet" (v2)
                                                      Y2 search, P, bob recycles "Not ready to buy yet"
      not counted: X5 (webinar, W) rejected in February; the recycles D3, D5 and D6's losses make
      (from opportunity, a loss not a verdict).
    - 14 decisions: 8 accepted, 4 rejected (No budget 3, Bad fit 1), 2 recycled (Not ready 2).
    - per rule (Y1 counts on both): W decided 8 (D1, D2, D6, D8, X1, X2, X3, Y1): accepted 4,
      rejected 3 (No budget 2 of 8 = 25.0 %, Bad fit 1 of 8 = 12.5 %), recycled 1 (12.5 %);
      P decided 7 (D3, D4, D5, D9, X4, Y1, Y2): accepted 4, rejected 1 (No budget, 1 of 7 =
      14.3 %), recycled 2 (Not ready, 2 of 7 = 28.6 %).
    - per source: webinar decided 8 (accepted 4; No budget 2, Bad fit 1, Not ready 1);
      search decided 6 (accepted 4; No budget 1, Not ready 1).
    - per rep (who decided): Ann 7 (accepted D1, D2, D3, D8; X1, X2 No budget; Y1 Not ready);
      bob 7 (accepted D4, D5, D6, D9; X3 Bad fit, X4 No budget, Y2 Not ready).
    - per version: v1 12 (accepted 8; No budget 3, Not ready 1), v2 2 (Bad fit 1, Not ready 1).
    """
    b = Builder()
    ann, bob = b.ann, b.bob
    d7 = b.deal("webinar", bob, at(2, 10))
    b.lost(d7, "price", at(2, 20))
    b.rejected("webinar", [WEBINAR_RULE], ann, "bad_fit", at(2, 25))  # X5
    d1 = b.deal("webinar", ann, at(3, 2))
    d2 = b.deal("webinar", ann, at(3, 3))
    d3 = b.deal("search", ann, at(3, 4))
    d4 = b.deal("search", bob, at(3, 5))
    d5 = b.deal("search", bob, at(3, 6))
    d6 = b.deal("webinar", bob, at(3, 7))
    b.won(d1, "1000.00", at(3, 10))
    b.won(d2, "500.00", at(3, 12))
    b.lost(d3, "price", at(3, 14))
    b.won(d4, "250.00", at(3, 15))
    b.lost(d5, "competitor", at(3, 16))
    b.lost(d6, "price", at(3, 18))
    d8 = b.deal("webinar", ann, at(3, 20))
    b.won(d8, "900.00", at(4, 2))
    b.deal("search", bob, at(3, 21))  # D9, open
    b.rejected("webinar", [WEBINAR_RULE], ann, "no_budget", at(3, 8))  # X1
    b.rejected("webinar", [WEBINAR_RULE], ann, "no_budget", at(3, 9))  # X2
    b.rejected("webinar", [WEBINAR_RULE], bob, "bad_fit", at(3, 11), version=2)  # X3
    b.rejected("search", [PRICE_RULE], bob, "no_budget", at(3, 13))  # X4
    b.recycled("webinar", [WEBINAR_RULE, PRICE_RULE], ann, "not_ready", at(3, 17), version=2)  # Y1
    b.recycled("search", [PRICE_RULE], bob, "not_ready", at(3, 19))  # Y2
    return World(ann=ann, bob=bob, founder=b.founder, spring=b.spring)
