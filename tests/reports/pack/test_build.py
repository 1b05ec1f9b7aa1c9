"""Building a week's pack: its figures are the reports' own for that week, building again updates
the one row, and managers get it once, through the outbox."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from conftest import make_user
from playbooks.models import OutboundEmail, TemplateKind
from reports.attribution.selectors import roi_report
from reports.pack.models import MeetingPack
from reports.pack.selectors import last_week, pack_figures, week_bounds, week_parse
from reports.pack.services import meeting_pack_build
from reports.selectors import agreement_attainment, cohort_figures
from reports.winloss.selectors import BY_REASON, BY_REP, deals_closed, deals_totals, rejections
from smarketing.roles import Role
from tests.reports.attribution.world import build_world as attribution_world
from tests.reports.pack.conftest import BUILT, W11

pytestmark = pytest.mark.django_db


def test_the_weeks_wins_losses_and_reasons_are_the_ones_worked_out_by_hand(pack):
    """9–15 March: D1 (Ann, 1,000.00, 10 Mar), D2 (Ann, 500.00, 12 Mar) and D4 (bob, 250.00,
    15 Mar) won, D3 (Ann, Price, 14 Mar) lost; X2 (9 Mar) and X4 (13 Mar) rejected as No budget,
    X3 (11 Mar, v2) as Bad fit. X1 (Sunday 8 Mar) and D5 (16 Mar) fall outside."""
    deals = pack.figures["deals"]
    assert (deals["won"], deals["lost"], deals["won_revenue"], deals["win_rate"]) == (3, 1, "1750.00", "75.0")
    assert deals["reasons"] == [{"label": "Price", "count": 1, "share": "25.0"}]
    assert [(r["label"], r["won"], r["lost"], r["won_revenue"]) for r in deals["by_rep"]] == [
        ("Ann Lee", 2, 1, "1500.00"),
        ("bob", 1, 0, "250.00"),
    ]
    assert pack.figures["rejection_reasons"] == [
        {"label": "No budget", "kind": "rejected", "count": 2},
        {"label": "Bad fit", "kind": "rejected", "count": 1},
    ]
    versions = {row["version"]: row for row in pack.figures["versions"]}
    assert (versions[1]["rejected"], versions[1]["won"], versions[1]["lost"]) == (2, 3, 1)
    assert (versions[2]["rejected"], versions[2]["won"]) == (1, 0)
    assert pack.week == "2026-W11" and pack.figures["start"] == "2026-03-09" and pack.figures["end"] == "2026-03-15"


def test_the_figures_equal_the_reports_own_selectors_for_that_week(pack):
    start, end = week_bounds(W11)
    totals = deals_totals(deals_closed(start=start, end=end, by=BY_REP))
    assert pack.figures["deals"]["won"] == totals.won and pack.figures["deals"]["lost"] == totals.lost
    assert Decimal(pack.figures["deals"]["won_revenue"]) == totals.won_revenue
    said_no = [row for row in rejections(start=start, end=end, by=BY_REASON) if row.key != "accepted"]
    assert [(r["label"], r["count"]) for r in pack.figures["rejection_reasons"]] == [
        (row.label, row.rejected + row.recycled) for row in said_no
    ]
    month = agreement_attainment(month=date(2026, 3, 1), now=end)
    agreement = pack.figures["agreement"]
    for key in ("mql_delivered", "mql_target", "handed_off", "won", "touched_in_time_pct", "first_touch_target_pct"):
        assert agreement[key] == month[key], key
    week = cohort_figures(start=start, end=end)
    assert agreement["week"]["handed_off"] == week["handed_off"] == 3  # X2, X3, X4's handoffs
    assert agreement["mql_delivered"] == 14  # March's fourteen decided leads all became MQL in March


def test_building_a_week_again_updates_its_one_row_and_mails_nobody_twice(pack, world, manager):
    built_at = pack.built_at
    again = meeting_pack_build(monday=W11, now=BUILT + timedelta(hours=1))
    assert again.pk == pack.pk and MeetingPack.objects.count() == 1
    assert again.built_at > built_at
    assert OutboundEmail.objects.count() == 1


def test_the_pack_goes_to_each_manager_with_an_address_as_html_through_the_outbox(world, manager):
    make_user("boss", Role.MANAGER, email="boss@example.com")
    make_user("noaddress", Role.MANAGER)
    make_user("mara", Role.MARKETING, email="mara@example.com")
    pack = meeting_pack_build(monday=W11, now=BUILT)
    emails = OutboundEmail.objects.order_by("to_email")
    assert [e.to_email for e in emails] == ["boss@example.com", "mona@example.com"]
    email = emails[0]
    assert email.lead_id is None and email.kind == TemplateKind.TRANSACTIONAL
    assert email.status == OutboundEmail.Status.QUEUED  # the worker sends it once this commits
    assert email.subject == "Meeting pack 2026-W11: 3 won, 1 lost; MQLs 14 of 20 this month"
    assert "<h1" in email.html and "/reports/meeting-packs/2026-W11/csv/" in email.html
    assert "No budget (rejected): 2" in email.text and "/reports/meeting-packs/2026-W11/" in email.text
    assert pack.emailed_at is not None


def test_a_pack_built_without_email_is_mailed_by_the_next_build_that_asks(world, manager):
    meeting_pack_build(monday=W11, now=BUILT, email=False)
    assert not OutboundEmail.objects.exists()
    meeting_pack_build(monday=W11, now=BUILT)
    assert OutboundEmail.objects.count() == 1


def test_a_week_not_over_yet_is_figured_as_of_now(world):
    now = BUILT - timedelta(days=4)  # Thursday 12 March, 08:00
    figures = pack_figures(monday=W11, now=now)
    assert figures["as_of"] == "2026-03-12T08:00:00+00:00"  # first-touch deadlines are judged then


def test_weeks_are_named_and_parsed_the_iso_way():
    assert week_parse("2026-W11") == W11 and week_parse("2026-w1") == date(2025, 12, 29)
    assert last_week(BUILT) == W11
    with pytest.raises(ValueError, match="YYYY-Www"):
        week_parse("March")
    with pytest.raises(ValueError, match="2026 has no week 54"):
        week_parse("2026-W54")


def test_the_command_builds_a_given_week_and_says_so(world, manager):
    out = StringIO()
    call_command("meeting_pack_build", "2026-W11", "--no-email", stdout=out)
    assert "Meeting pack 2026-W11 built (09 Mar – 15 Mar 2026); not mailed." in out.getvalue()
    assert MeetingPack.objects.get().week_start == W11 and not OutboundEmail.objects.exists()
    call_command("meeting_pack_build", "2026-W11", stdout=out)
    assert "mailed to managers" in out.getvalue() and OutboundEmail.objects.count() == 1
    with pytest.raises(CommandError, match="Name a week as YYYY-Www"):
        call_command("meeting_pack_build", "last week")


def test_the_command_builds_last_week_by_default(db):
    with time_machine.travel(BUILT, tick=False):
        call_command("meeting_pack_build", "--no-email", stdout=StringIO())
    assert MeetingPack.objects.get().week == "2026-W11"


def test_the_top_campaigns_are_the_roi_reports_rows_for_the_week():
    """ROI's hand-built March: D1 (1,000.00, won 20 March, in W12) touched by Spring webinar on
    1 and 15 March and Brand search on 8 March; linear credit: 666.67 and 333.33."""
    attribution_world()
    w12 = W11 + timedelta(weeks=1)
    figures = meeting_pack_build(monday=w12, now=BUILT + timedelta(weeks=1), email=False).figures
    assert [(row["label"], row["revenue"], row["won_deals"]) for row in figures["campaigns"]] == [
        ("Spring webinar", "666.67", 1),
        ("Brand search", "333.33", 1),
    ]
    start, end = week_bounds(w12)
    rows = roi_report(model="linear", start=start, end=end).rows
    assert [(row["label"], Decimal(row["revenue"])) for row in figures["campaigns"]] == [
        (row.label, row.revenue) for row in sorted(rows, key=lambda row: -row.revenue_cents) if row.revenue_cents
    ]
    assert figures["campaign_revenue_total"] == figures["deals"]["won_revenue"] == "1000.00"
