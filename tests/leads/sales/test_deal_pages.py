"""Deal pages: the board and moving a card, the list (filters, sort, pages, totals per stage),
a deal's page (edit, won, lost, reopen, history) — through the pages, asserting the response
and the database."""

from decimal import Decimal

import pytest
from django.urls import reverse

from leads.models import Deal, DealChange, DealStage, Lead, Stage
from leads.sales.worklog import lead_accept
from tests.leads.sales.helpers import assigned_lead, new_rep, team_with

pytestmark = pytest.mark.django_db

BOARD = reverse("leads:deals")
LIST = reverse("leads:deal_list")
HTMX = {"HTTP_HX_REQUEST": "true"}


def open_deal(rep, **lead_fields) -> Deal:
    deal = lead_accept(lead=assigned_lead(rep, **lead_fields), by=rep)
    return Deal.objects.select_related("stage", "lead").get(pk=deal.pk)


def stage(name: str) -> DealStage:
    return DealStage.objects.get(name=name)


def url(name: str, deal: Deal) -> str:
    return reverse(f"leads:{name}", args=[deal.pk])


# --- The board --------------------------------------------------------------------------


def test_board_has_a_column_per_stage_with_cards_and_totals(rep_client, rep, settings):
    settings.CURRENCY = "EUR"
    deal = open_deal(rep, company="Acme Ltda")
    Deal.objects.filter(pk=deal.pk).update(amount=Decimal("1200.50"))
    response = rep_client.get(BOARD)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Discovery", "Demo", "Proposal", "Negotiation", "Won", "Lost"):
        assert f">{name} <span" in html
    assert "Acme Ltda" in html and "EUR 1,200.50" in html
    assert f'<label for="move-{deal.pk}" class="visually-hidden">Move Acme Ltda to</label>' in html


def test_moving_a_card_updates_the_board_in_place_and_records_the_change(rep_client, rep):
    deal = open_deal(rep, company="Acme Ltda")
    response = rep_client.post(url("deal_move", deal), {"stage": stage("Demo").pk, "where": "board"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="deal-board"' in html and "<html" not in html and "Moved “Acme Ltda” to Demo." in html
    deal.refresh_from_db()
    assert deal.stage.name == "Demo"
    assert DealChange.objects.get(deal=deal, action="changed").changes == {"stage": ["Discovery", "Demo"]}


def test_moving_to_won_makes_the_lead_a_customer(rep_client, rep):
    deal = open_deal(rep, company="Acme Ltda")
    response = rep_client.post(url("deal_move", deal), {"stage": stage("Won").pk}, **HTMX)
    assert response.status_code == 200 and "is now a customer" in response.content.decode()
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.CUSTOMER
    assert Deal.objects.get(pk=deal.pk).closed_at is not None


def test_moving_to_lost_without_a_reason_is_400_and_asks_for_one(rep_client, rep):
    deal = open_deal(rep)
    response = rep_client.post(url("deal_move", deal), {"stage": stage("Lost").pk}, **HTMX)
    assert response.status_code == 400 and response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert "Say why the deal was lost" in html and 'name="reason"' in html and "Chose a competitor" in html
    assert Deal.objects.get(pk=deal.pk).closed_at is None


def test_moving_to_lost_with_a_reason_sends_the_lead_back_to_marketing(rep_client, rep):
    deal = open_deal(rep)
    data = {"stage": stage("Lost").pk, "reason": "competitor", "note": "Incumbent"}
    response = rep_client.post(url("deal_move", deal), data, **HTMX)
    assert response.status_code == 200 and "is lost (Chose a competitor)" in response.content.decode()
    deal.refresh_from_db()
    assert deal.lost_reason.code == "competitor" and deal.lost_note == "Incumbent"
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.RECYCLED


def test_a_closed_deal_does_not_move(rep_client, rep):
    deal = open_deal(rep)
    rep_client.post(url("deal_move", deal), {"stage": stage("Won").pk})
    response = rep_client.post(url("deal_move", deal), {"stage": stage("Demo").pk}, **HTMX)
    assert response.status_code == 403 and "manager must reopen" in response.content.decode()


def test_moving_to_a_stage_that_does_not_exist_is_400(rep_client, rep):
    deal = open_deal(rep)
    response = rep_client.post(url("deal_move", deal), {"stage": "999999"}, **HTMX)
    assert response.status_code == 400 and "Choose a stage of the pipeline." in response.content.decode()


def test_move_without_htmx_redirects_to_the_board(rep_client, rep):
    deal = open_deal(rep, company="Acme Ltda")
    response = rep_client.post(url("deal_move", deal), {"stage": stage("Demo").pk}, follow=True)
    assert response.redirect_chain[-1][0] == BOARD and "Moved “Acme Ltda” to Demo." in response.content.decode()


def test_another_reps_deal_answers_404_everywhere(rep_client, other_rep):
    deal = open_deal(other_rep, company="Theirs Inc")
    assert "Theirs Inc" not in rep_client.get(BOARD).content.decode()
    assert "Theirs Inc" not in rep_client.get(LIST).content.decode()
    assert rep_client.get(url("deal", deal)).status_code == 404
    for name in ("deal_move", "deal_edit", "deal_won", "deal_lost", "deal_reopen"):
        assert rep_client.post(url(name, deal), {"stage": stage("Won").pk, "name": "x"}).status_code == 404, name
    assert Deal.objects.get(pk=deal.pk).closed_at is None


def test_marketers_have_no_deal_pages(marketer_client, rep):
    deal = open_deal(rep)
    assert marketer_client.get(BOARD).status_code == 403
    assert marketer_client.get(LIST).status_code == 403
    assert marketer_client.get(url("deal", deal)).status_code == 403
    assert marketer_client.post(url("deal_move", deal), {"stage": stage("Won").pk}).status_code == 403


def test_manager_sees_and_moves_their_teams_deals_only(manager_client, manager, rep, other_rep):
    team_with("Iberia", rep, manager=manager)
    mine, theirs = open_deal(rep, company="Team Deal"), open_deal(other_rep, company="Other Team")
    html = manager_client.get(BOARD).content.decode()
    assert "Team Deal" in html and "Other Team" not in html
    assert manager_client.post(url("deal_move", mine), {"stage": stage("Demo").pk}).status_code == 302
    assert manager_client.post(url("deal_move", theirs), {"stage": stage("Demo").pk}).status_code == 404


def test_board_query_count_does_not_grow_with_deals(rep_client, rep, django_assert_max_num_queries):
    open_deal(rep)
    with django_assert_max_num_queries(8) as few:
        rep_client.get(BOARD)
    for _ in range(10):
        open_deal(rep)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = rep_client.get(BOARD)
    assert sum(len(column["deals"]) for column in response.context["columns"]) == 11


def test_empty_board_says_how_deals_start(rep_client):
    assert "Accepting a lead from" in rep_client.get(BOARD).content.decode()


# --- The list ---------------------------------------------------------------------------


def test_list_filters_by_stage_and_sorts_by_amount(rep_client, rep):
    small, big, none = open_deal(rep, company="Small"), open_deal(rep, company="Big"), open_deal(rep, company="None")
    Deal.objects.filter(pk=small.pk).update(amount=10)
    Deal.objects.filter(pk=big.pk).update(amount=900, stage=stage("Demo"))
    listed = rep_client.get(f"{LIST}?ordering=-amount").context["page"].object_list
    assert [deal.pk for deal in listed] == [big.pk, small.pk, none.pk]
    listed = rep_client.get(f"{LIST}?ordering=amount").context["page"].object_list
    assert [deal.pk for deal in listed] == [small.pk, big.pk, none.pk]  # no amount sorts last either way
    demo = rep_client.get(f"{LIST}?stage={stage('Demo').pk}")
    assert [deal.pk for deal in demo.context["page"].object_list] == [big.pk]


def test_list_shows_totals_per_stage_in_the_instance_currency(rep_client, rep, settings):
    settings.CURRENCY = "COP"
    for amount in (100, 250):
        deal = open_deal(rep)
        Deal.objects.filter(pk=deal.pk).update(amount=amount)
    response = rep_client.get(LIST)
    totals = {row["stage"].name: (row["count"], row["value"]) for row in response.context["totals"]}
    assert totals["Discovery"] == (2, Decimal("350")) and totals["Won"] == (0, 0)
    assert "COP 350.00" in response.content.decode()


def test_list_is_paginated(rep_client, rep, monkeypatch):
    monkeypatch.setattr("leads.sales.views.deals.DEALS_PER_PAGE", 2)
    for _ in range(3):
        open_deal(rep)
    first = rep_client.get(LIST)
    assert len(first.context["page"].object_list) == 2 and first.context["page"].has_next()
    assert len(rep_client.get(f"{LIST}?page=2").context["page"].object_list) == 1


def test_manager_filters_the_list_by_owner(manager_client, manager, rep):
    other = new_rep("r2")
    team_with("Iberia", rep, other, manager=manager)
    mine = open_deal(rep)
    open_deal(other)
    response = manager_client.get(f"{LIST}?owner={rep.pk}")
    assert [deal.pk for deal in response.context["page"].object_list] == [mine.pk]


@pytest.mark.parametrize("query", ["stage=abc", "owner=999999", "ordering=password", "page=0", "page=x"])
def test_bad_list_filters_are_400_with_a_message(rep_client, query):
    response = rep_client.get(f"{LIST}?{query}")
    assert response.status_code == 400 and 'class="lead-errors"' in response.content.decode()


def test_sortable_headers_say_how_the_list_is_sorted(rep_client, rep):
    open_deal(rep)
    html = rep_client.get(f"{LIST}?ordering=-amount").content.decode()
    assert 'aria-sort="descending"' in html and "ordering=amount" in html


def test_list_query_count_does_not_grow_with_deals(manager_client, manager, rep, django_assert_max_num_queries):
    team_with("Iberia", rep, manager=manager)
    open_deal(rep)
    with django_assert_max_num_queries(10) as few:
        manager_client.get(LIST)
    for _ in range(10):
        open_deal(rep)
    with django_assert_max_num_queries(len(few.captured_queries)):
        manager_client.get(LIST)


# --- One deal ---------------------------------------------------------------------------


def test_deal_page_shows_its_history(rep_client, rep):
    deal = open_deal(rep, company="Acme Ltda")
    rep_client.post(url("deal_move", deal), {"stage": stage("Demo").pk})
    html = rep_client.get(url("deal", deal)).content.decode()
    assert "History" in html and "Opened" in html and "Changed" in html
    assert "Stage: Discovery → Demo" in html


def test_editing_a_deal_saves_amount_and_close_date(rep_client, rep, settings):
    settings.CURRENCY = "USD"
    deal = open_deal(rep, company="Acme Ltda")
    data = {"name": "Acme — 50 seats", "amount": "5000", "expected_close_on": "2031-03-01"}
    response = rep_client.post(url("deal_edit", deal), data, **HTMX)
    assert response.status_code == 200
    assert "Saved “Acme — 50 seats”: USD 5,000.00, expected close 1 Mar 2031." in response.content.decode()
    deal.refresh_from_db()
    assert deal.amount == Decimal("5000") and deal.name == "Acme — 50 seats"
    unchanged = rep_client.post(url("deal_edit", deal), data, **HTMX)
    assert "Nothing changed." in unchanged.content.decode()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "cannot be negative"),
        ("lots", "Give the amount as a number"),
        ("1e400", "too large"),
        ("1.234", "at most two decimals"),
    ],
)
def test_a_bad_amount_is_400_with_a_message(rep_client, rep, amount, message):
    deal = open_deal(rep)
    response = rep_client.post(url("deal_edit", deal), {"name": "x", "amount": amount}, **HTMX)
    assert response.status_code == 400 and message in response.content.decode()
    won = rep_client.post(url("deal_won", deal), {"amount": amount}, **HTMX)
    assert won.status_code == 400 and Deal.objects.get(pk=deal.pk).amount is None


def test_won_from_the_deal_page_with_its_final_amount(rep_client, rep):
    deal = open_deal(rep)
    response = rep_client.post(url("deal_won", deal), {"amount": "7500"}, **HTMX)
    assert response.status_code == 200 and "is now a customer" in response.content.decode()
    deal.refresh_from_db()
    assert deal.amount == Decimal("7500") and deal.stage.outcome == "won"
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.CUSTOMER


def test_lost_from_the_deal_page_needs_a_reason(rep_client, rep):
    deal = open_deal(rep)
    response = rep_client.post(url("deal_lost", deal), {"reason": ""}, **HTMX)
    assert response.status_code == 400 and "Choose a reason from the list." in response.content.decode()
    other = rep_client.post(url("deal_lost", deal), {"reason": "other"}, **HTMX)
    assert other.status_code == 400 and "needs an explanation" in other.content.decode()
    assert Deal.objects.get(pk=deal.pk).closed_at is None


def test_only_a_manager_reopens_a_closed_deal(rep_client, manager_client, manager, rep):
    team_with("Iberia", rep, manager=manager)
    deal = open_deal(rep)
    rep_client.post(url("deal_won", deal))
    refused = rep_client.post(url("deal_reopen", deal), **HTMX)
    assert refused.status_code == 403 and "Only a manager may reopen" in refused.content.decode()
    assert "Reopen deal" in manager_client.get(url("deal", deal)).content.decode()
    response = manager_client.post(url("deal_reopen", deal), **HTMX)
    assert response.status_code == 200 and "Reopened in Discovery" in response.content.decode()
    assert Lead.objects.get(pk=deal.lead_id).stage == Stage.OPPORTUNITY


def test_deal_names_are_escaped(rep_client, rep):
    deal = open_deal(rep, company="<script>x</script>")
    for page in (BOARD, LIST, url("deal", deal)):
        html = rep_client.get(page).content.decode()
        assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html, page
