"""The win/loss selectors over the hand-built March (tests/reports/winloss/world.py, where each
figure is worked out): closed deals per group, and sales' verdicts per reason, group and rule."""

from decimal import Decimal

import pytest

from leads.models import StageChange
from reports.winloss.selectors import (
    deals_closed,
    deals_totals,
    decisions_totals,
    rejections,
    rule_findings,
)
from smarketing.lib.periods import month_bounds
from tests.reports.winloss.world import MARCH, PRICE_RULE, WEBINAR_RULE, build_world

pytestmark = pytest.mark.django_db

START, END = month_bounds(MARCH)


def reasons(row) -> dict[str, int]:
    return {reason.label: reason.count for reason in row.reasons}


def test_deals_closed_per_rep_count_wins_losses_reasons_revenue_and_win_rate():
    world = build_world()
    rows = deals_closed(start=START, end=END, by="rep")
    by_label = {row.label: row for row in rows}
    ann, bob = by_label["Ann Lee"], by_label["bob"]
    assert (ann.key, ann.won, ann.lost, ann.won_revenue, ann.win_rate) == (
        world.ann.pk,
        2,
        1,
        Decimal("1500.00"),
        Decimal("66.7"),
    )
    assert reasons(ann) == {"Price": 1}
    assert (bob.won, bob.lost, bob.won_revenue, bob.win_rate) == (1, 2, Decimal("250.00"), Decimal("33.3"))
    assert reasons(bob) == {"Price": 1, "Chose a competitor": 1}
    totals = deals_totals(rows)
    assert (totals.won, totals.lost, totals.won_revenue, totals.win_rate) == (3, 3, Decimal("1750.00"), Decimal("50.0"))
    assert reasons(totals) == {"Price": 2, "Chose a competitor": 1}
    assert [reason.share for reason in totals.reasons] == [Decimal("33.3"), Decimal("16.7")]


@pytest.mark.parametrize(
    ("by", "webinar", "search"),
    [
        ("source", "webinar", "search"),
        ("campaign", "Spring webinar", "(no campaign)"),
        ("persona", "Founder", "(no persona)"),
    ],
)
def test_deals_closed_per_source_campaign_and_persona(by, webinar, search):
    build_world()
    rows = {row.label: row for row in deals_closed(start=START, end=END, by=by)}
    assert set(rows) == {webinar, search}
    assert (rows[webinar].won, rows[webinar].lost, rows[webinar].won_revenue) == (2, 1, Decimal("1500.00"))
    assert (rows[search].won, rows[search].lost, rows[search].won_revenue) == (1, 2, Decimal("250.00"))
    assert reasons(rows[search]) == {"Price": 1, "Chose a competitor": 1}


def test_deals_closed_per_definition_version():
    build_world()
    [row] = deals_closed(start=START, end=END, by="version")
    assert (row.key, row.label, row.won, row.lost) == (1, "Version 1", 3, 3)


def test_verdicts_per_reason_leave_out_the_recycles_a_lost_deal_makes():
    build_world()
    rows = rejections(start=START, end=END, by="reason")
    assert [(row.label, row.rejected, row.recycled, row.accepted) for row in rows] == [
        ("No budget", 3, 0, 0),
        ("Not ready to buy yet", 0, 2, 0),
        ("Bad fit", 1, 0, 0),
        ("(accepted)", 0, 0, 8),
    ]
    totals = decisions_totals(rows)
    assert (totals.decided, totals.accepted, totals.rejected, totals.recycled) == (14, 8, 4, 2)
    assert {(r.kind, r.label): r.count for r in totals.reasons} == {
        ("rejected", "No budget"): 3,
        ("rejected", "Bad fit"): 1,
        ("recycled", "Not ready to buy yet"): 2,
    }


def test_verdicts_per_source_rep_and_version():
    world = build_world()
    source = {row.label: row for row in rejections(start=START, end=END, by="source")}
    assert (source["webinar"].decided, source["webinar"].accepted, source["webinar"].rejected) == (8, 4, 3)
    assert reasons(source["webinar"]) == {"No budget": 2, "Bad fit": 1, "Not ready to buy yet": 1}
    assert (source["search"].decided, source["search"].rejected, source["search"].recycled) == (6, 1, 1)
    rep = {row.key: row for row in rejections(start=START, end=END, by="rep")}
    assert reasons(rep[world.ann.pk]) == {"No budget": 2, "Not ready to buy yet": 1}
    assert reasons(rep[world.bob.pk]) == {"Bad fit": 1, "No budget": 1, "Not ready to buy yet": 1}
    assert rep[world.ann.pk].decided == rep[world.bob.pk].decided == 7
    version = {row.label: row for row in rejections(start=START, end=END, by="version")}
    assert (version["Version 1"].decided, version["Version 2"].decided) == (12, 2)
    assert reasons(version["Version 2"]) == {"Bad fit": 1, "Not ready to buy yet": 1}


def test_verdicts_per_qualifying_rule_with_each_reasons_share():
    build_world()
    rows = {row.label: row for row in rejections(start=START, end=END, by="rule")}
    assert set(rows) == {WEBINAR_RULE, PRICE_RULE}
    webinar, price = rows[WEBINAR_RULE], rows[PRICE_RULE]
    assert (webinar.decided, webinar.accepted, webinar.rejected, webinar.recycled) == (8, 4, 3, 1)
    assert {r.label: r.share for r in webinar.reasons} == {
        "No budget": Decimal("25.0"),
        "Bad fit": Decimal("12.5"),
        "Not ready to buy yet": Decimal("12.5"),
    }
    assert (price.decided, price.accepted, price.rejected, price.recycled) == (7, 4, 1, 2)
    assert {r.label: r.share for r in price.reasons} == {
        "Not ready to buy yet": Decimal("28.6"),
        "No budget": Decimal("14.3"),
    }
    first = rule_findings(list(rows.values()))[0]
    assert first.sentence == (
        "Leads qualified by “Downloaded the price list” were recycled as not ready to buy yet "
        "28.6 % of the time (2 of 7)"
    )
    assert rule_findings(list(rows.values()))[1].sentence == (
        "Leads qualified by “Attended the webinar” were rejected as no budget 25 % of the time (2 of 8)"
    )


def test_a_lead_handed_over_by_hand_counts_under_no_rule():
    build_world()
    StageChange.objects.filter(source="rule", matched_rules=[PRICE_RULE]).delete()
    labels = {row.label for row in rejections(start=START, end=END, by="rule")}
    assert labels == {WEBINAR_RULE, PRICE_RULE, "(no rule)"}


@pytest.mark.parametrize("by", ["rep", "source", "persona", "campaign", "version", "reason", "rule"])
def test_each_part_takes_a_fixed_number_of_queries(by, django_assert_num_queries):
    """One query per part (two per rule: the decided leads' qualification moves), however many
    decisions and deals: the world holds sixteen and seven, across two months."""
    build_world()
    with django_assert_num_queries(2 if by == "rule" else 1):
        rejections(start=START, end=END, by=by)
    if by not in ("reason", "rule"):
        with django_assert_num_queries(1):
            deals_closed(start=START, end=END, by=by)


def test_an_unknown_grouping_is_refused():
    with pytest.raises(ValueError):
        deals_closed(start=START, end=END, by="rule")
    with pytest.raises(ValueError):
        rejections(start=START, end=END, by="mood")
