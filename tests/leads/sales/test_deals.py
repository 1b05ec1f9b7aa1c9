from decimal import Decimal

import pytest

from leads.models import Deal, DealChange, DealStage, Lead, Stage, StageChange
from leads.sales.deals import deal_lose, deal_open, deal_reopen, deal_update, deal_win, deals_board, deals_summary
from leads.sales.selectors import deals_visible_to
from leads.sales.services import SalesError
from leads.sales.worklog import lead_accept
from tests.factories import LeadFactory
from tests.leads.sales.helpers import assigned_lead, team_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(rep) -> Deal:
    return lead_accept(lead=assigned_lead(rep, company="Nube SAS"), by=rep)


def stage(name: str) -> DealStage:
    return DealStage.objects.get(name=name)


def test_the_default_pipeline_is_seeded():
    assert list(DealStage.objects.values_list("name", "outcome")) == [
        ("Discovery", "open"),
        ("Demo", "open"),
        ("Proposal", "open"),
        ("Negotiation", "open"),
        ("Won", "won"),
        ("Lost", "lost"),
    ]


def test_every_change_to_a_deal_is_recorded(deal, rep):
    deal_update(deal=deal, by=rep, changes={"amount": Decimal("1200.50"), "stage": stage("Demo")})
    change = deal.changes.get(action="changed")
    assert change.by == rep
    assert change.changes == {"amount": [None, "1200.50"], "stage": ["Discovery", "Demo"]}
    assert list(deal.changes.values_list("action", flat=True)) == ["changed", "opened"]


def test_an_update_that_changes_nothing_records_nothing(deal, rep):
    deal_update(deal=deal, by=rep, changes={"name": "Nube SAS"})
    assert deal.changes.count() == 1


def test_won_makes_the_lead_a_customer(deal, rep):
    deal_win(deal=deal, by=rep, amount="5000")
    deal.refresh_from_db()
    assert deal.stage.outcome == "won" and deal.closed_at and deal.amount == Decimal("5000")
    lead = Lead.objects.get(pk=deal.lead_id)
    assert lead.stage == Stage.CUSTOMER
    assert StageChange.objects.get(lead=lead, to_stage=Stage.CUSTOMER).changed_by == rep


def test_lost_needs_a_reason_from_the_list_and_sends_the_lead_back_to_marketing(deal, rep):
    with pytest.raises(SalesError) as refused:
        deal_lose(deal=deal, by=rep, reason="")
    assert refused.value.field == "reason"
    deal_lose(deal=deal, by=rep, reason="competitor", note="Went with the incumbent")
    deal.refresh_from_db()
    assert deal.stage.outcome == "lost" and deal.lost_reason.code == "competitor"
    lead = Lead.objects.get(pk=deal.lead_id)
    assert lead.stage == Stage.RECYCLED
    assert StageChange.objects.get(lead=lead, to_stage=Stage.RECYCLED).reason == "Deal lost: Chose a competitor"


def test_lost_as_other_needs_a_note(deal, rep):
    with pytest.raises(SalesError) as refused:
        deal_lose(deal=deal, by=rep, reason="other")
    assert refused.value.field == "text"


@pytest.mark.parametrize("amount", [Decimal("-1"), "-0.01", "abc", "NaN"])
def test_a_negative_or_non_numeric_amount_is_refused(deal, rep, amount):
    with pytest.raises(SalesError) as refused:
        deal_update(deal=deal, by=rep, changes={"amount": amount})
    assert refused.value.field == "amount"


def test_closing_through_an_update_is_refused(deal, rep):
    with pytest.raises(SalesError) as refused:
        deal_update(deal=deal, by=rep, changes={"stage": stage("Won")})
    assert refused.value.field == "stage"


def test_a_closed_deal_does_not_change_until_reopened(deal, rep):
    deal_win(deal=deal, by=rep)
    with pytest.raises(SalesError) as refused:
        deal_update(deal=deal, by=rep, changes={"amount": 10})
    assert refused.value.status == 403
    with pytest.raises(SalesError, match="already won"):
        deal_lose(deal=deal, by=rep, reason="price")


def test_a_rep_may_not_reopen_a_won_deal(deal, rep):
    deal_win(deal=deal, by=rep)
    with pytest.raises(SalesError) as refused:
        deal_reopen(deal=deal, by=rep)
    assert refused.value.status == 403 and "manager" in refused.value.message


def test_a_manager_reopens_a_won_deal_into_its_last_stage(deal, rep, manager):
    deal_update(deal=deal, by=rep, changes={"stage": stage("Negotiation")})
    deal_win(deal=deal, by=rep)
    deal_reopen(deal=deal, by=manager, note="Signed by mistake")
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation" and deal.closed_at is None
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.OPPORTUNITY
    assert deal.changes.first().action == "reopened" and deal.changes.first().by == manager


def test_only_a_manager_hands_a_deal_to_another_rep(deal, rep, other_rep, manager):
    with pytest.raises(SalesError) as refused:
        deal_update(deal=deal, by=rep, changes={"owner": other_rep})
    assert refused.value.status == 403
    deal_update(deal=deal, by=manager, changes={"owner": other_rep})
    assert Deal.objects.get(pk=deal.pk).owner == other_rep


def test_one_open_deal_per_lead(deal, rep):
    lead = Lead.objects.get(pk=deal.lead_id)
    with pytest.raises(SalesError) as refused:
        deal_open(lead=lead, owner_id=rep.pk, by=rep)
    assert refused.value.field == "lead"
    deal_win(deal=deal, by=rep)
    lead.refresh_from_db()
    assert deal_open(lead=lead, owner_id=rep.pk, by=rep, name="Upsell").stage.name == "Discovery"


def test_a_deal_needs_an_accepted_lead(rep):
    with pytest.raises(SalesError, match="Accept the lead"):
        deal_open(lead=LeadFactory(stage=Stage.MQL), owner_id=rep.pk, by=rep)


def test_a_rep_sees_their_deals_a_manager_their_teams(rep, other_rep, manager):
    team_with("Iberia", rep, manager=manager)
    mine = lead_accept(lead=assigned_lead(rep), by=rep)
    theirs = lead_accept(lead=assigned_lead(other_rep), by=other_rep)
    assert list(deals_visible_to(rep)) == [mine]
    assert list(deals_visible_to(other_rep)) == [theirs]
    assert list(deals_visible_to(manager)) == [mine]


def test_the_board_has_a_column_per_stage_in_two_queries(rep, django_assert_num_queries):
    for amount in (100, 250):
        deal = lead_accept(lead=assigned_lead(rep), by=rep)
        deal_update(deal=deal, by=rep, changes={"amount": amount})
    won = lead_accept(lead=assigned_lead(rep), by=rep)
    deal_win(deal=won, by=rep, amount=900)
    visible = deals_visible_to(rep)
    with django_assert_num_queries(2):
        columns = deals_board(deals=visible)
        shown = {c["stage"].name: (len(c["deals"]), c["total"]) for c in columns}
    assert shown["Discovery"] == (2, Decimal(350)) and shown["Won"] == (1, Decimal(900))
    assert shown["Lost"] == (0, 0)
    assert deals_summary(deals=deals_visible_to(rep)) == {"open_count": 2, "open_value": Decimal(350)}
    assert DealChange.objects.filter(deal=won, action="won").exists()
