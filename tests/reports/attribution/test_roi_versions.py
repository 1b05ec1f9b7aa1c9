"""ROI per definition version ("which version's leads made the money"): the selector on the
hand-built March, any month of won deals under every model, the page, its CSV and the API."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Deal, DealStage, Lead, QualificationDefinition
from reports.attribution import forms
from reports.attribution.credits import MODELS
from reports.attribution.selectors import NO_VERSION, roi_report
from reports.attribution.services import credits_refresh, milestones_refresh
from smarketing.lib.periods import month_bounds
from tests.factories import CampaignFactory, EventFactory, LeadFactory
from tests.reports.attribution.world import MARCH, World, at, build_world

pytestmark = pytest.mark.django_db

START, END = month_bounds(MARCH)
URL = reverse("reports:roi")
API = reverse("api-reports-roi")


def qualify(lead: Lead, version: int) -> None:
    """What a qualification move leaves: the lead's version, and its milestones refreshed (the
    rollups refresh them when they read the move)."""
    Lead.objects.filter(pk=lead.pk).update(qualified_version=version)
    milestones_refresh([lead.pk])


@pytest.fixture
def world() -> World:
    """The hand-built March with versions: L1 (D1, 1,000.00) and L0 qualified under v2 "Stricter",
    L3 under v1 "Launch"; L2 and L4 (D2, 250.50) never qualified by a definition."""
    built = build_world()
    QualificationDefinition.objects.create(version=1, name="Launch")
    QualificationDefinition.objects.create(version=2, name="Stricter")
    l0, l1, _l2, l3, _l4 = Lead.objects.order_by("created_at")
    for lead, version in [(l0, 2), (l1, 2), (l3, 1)]:
        qualify(lead, version)
    return built


@pytest.fixture(autouse=True)
def _march_is_offered(monkeypatch):
    monkeypatch.setattr(forms, "month_first", lambda day=None: (day or date(2026, 4, 15)).replace(day=1))


def by_label(rows):
    return {row.label: row for row in rows}


@pytest.mark.parametrize("model", list(MODELS))
def test_each_versions_leads_and_won_revenue_worked_out_by_hand(world, model):
    """v2: leads created in March L1 = 1; MQLs L1 = 1 (L0's was in February); SQLs L1, L0 = 2;
    opportunities and customers L1 = 1; D1 won: 1,000.00 under every model (a deal's whole
    amount is its lead's version's). v1: L3 created and MQL in March, nothing won. Not
    qualified: L2 and L4 created, D2's 250.50. Totals: 4 leads, 2 deals, 1,250.50."""
    report = roi_report(model=model, start=START, end=END, by="version")
    rows = by_label(report.rows)
    assert list(rows) == ["Version 2 · Stricter", "Version 1 · Launch", NO_VERSION]
    v2, v1, none = rows.values()
    assert (v2.key, v2.leads, v2.mqls, v2.sqls, v2.opportunities, v2.customers) == (2, 1, 1, 2, 1, 1)
    assert (v2.won_deals, v2.revenue, v2.spend, v2.roi) == (1, D("1000.00"), 0, None)
    assert (v1.leads, v1.mqls, v1.sqls, v1.won_deals, v1.revenue) == (1, 1, 0, 0, 0)
    assert (none.key, none.leads, none.mqls, none.won_deals, none.revenue) == (None, 2, 0, 1, D("250.50"))
    assert (report.totals.leads, report.totals.won_deals, report.totals.revenue) == (4, 2, D("1250.50"))
    side_by_side = by_label(report.model_rows)
    assert list(side_by_side) == ["Version 2 · Stricter", NO_VERSION]  # v1 won nothing
    assert side_by_side["Version 2 · Stricter"].amounts == [D("1000.00")] * len(MODELS)
    assert report.model_totals.amounts == [D("1250.50")] * len(MODELS)


def test_the_versions_leads_add_up_to_the_campaigns(world):
    per_version = roi_report(model="linear", start=START, end=END, by="version").totals
    per_campaign = roi_report(model="linear", start=START, end=END).totals
    for name in ("leads", "mqls", "sqls", "opportunities", "customers", "won_deals", "revenue_cents"):
        assert getattr(per_version, name) == getattr(per_campaign, name), name


def test_a_version_without_a_definition_row_keeps_its_number(world):
    QualificationDefinition.objects.filter(version=1).delete()
    assert "Version 1" in by_label(roi_report(model="linear", start=START, end=END, by="version").rows)


def test_the_report_per_version_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for n in range(5):
        qualify(LeadFactory(created_at=at(3, 9)), 10 + n)
    with django_assert_max_num_queries(4):
        roi_report(model="time_decay", start=START, end=END, by="version")


# --- Any month: every model's rows add up to the won revenue to the cent ---------------------

lead_strategy = st.tuples(
    st.sampled_from([None, 1, 2, 3]),  # the version that qualified the lead
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 27)), max_size=4),  # touches: campaign, day
    st.integers(1, 10**9),  # its won deal, in cents
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leads=st.lists(lead_strategy, min_size=1, max_size=6))
def test_per_version_every_model_adds_up_to_the_months_won_revenue_to_the_cent(db, leads):
    """Any set of won deals, touched by any campaigns, their leads qualified under any version:
    under every model the version rows (and every model side by side) add up to the won
    amounts, and each version's revenue is the sum of its leads' deals."""
    with transaction.atomic():
        won = DealStage.objects.get(outcome=DealStage.Outcome.WON)
        campaigns = [CampaignFactory() for _ in range(3)]
        expected: dict[int | None, int] = {}
        deals = []
        for version, touches, cents in leads:
            lead = LeadFactory(created_at=at(3, 1), qualified_version=version)
            for campaign, day in touches:
                EventFactory(lead=lead, campaign=campaigns[campaign], occurred_at=at(3, day))
            deal = Deal.objects.create(
                lead=lead, name="Deal", stage=won, amount=D(cents) / 100, created_at=at(3, 28), closed_at=at(3, 28)
            )
            deals.append(deal.pk)
            expected[version] = expected.get(version, 0) + cents
        credits_refresh(deals)
        total = sum(expected.values())
        for model in MODELS:
            report = roi_report(model=model, start=START, end=END, by="version")
            assert {row.key: row.revenue_cents for row in report.rows} == expected
            assert sum(row.revenue_cents for row in report.rows) == total == report.totals.revenue_cents
            assert sum(row.cents[model] for row in report.model_rows) == total
            assert report.totals.won_deals == len(leads)
        transaction.set_rollback(True)


# --- The page, its CSV and the API -----------------------------------------------------------


def test_the_page_shows_rows_per_version_without_spend(world, manager_client: Client):
    response = manager_client.get(URL, {"month": "2026-03", "by": "version"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="version" selected>Definition version</option>' in html
    assert "Version 2 · Stricter" in html and NO_VERSION in html and "1,250.50" in html
    assert "Cost per lead" not in html and "Per definition version" in html


def test_the_versions_csv_has_its_header_rows_and_totals(world, marketer_client: Client):
    response = marketer_client.get(URL, {"month": "2026-03", "by": "version", "model": "w_shaped", "export": "rows"})
    assert response["Content-Type"].startswith("text/csv")
    assert "roi-2026-03-version-w_shaped.csv" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == [
        "Definition version",
        "Leads",
        "MQLs",
        "SQLs",
        "Opportunities",
        "Customers",
        "Won deals",
        "Attributed revenue",
    ]
    assert lines[1:] == [
        ["Version 2 · Stricter", "1", "1", "2", "1", "1", "1", "1000.00"],
        ["Version 1 · Launch", "1", "1", "0", "0", "0", "0", "0.00"],
        [NO_VERSION, "2", "0", "0", "0", "0", "1", "250.50"],
        ["Total", "4", "2", "2", "1", "1", "2", "1250.50"],
    ]


def test_the_versions_models_csv(world, marketer_client: Client):
    response = marketer_client.get(URL, {"month": "2026-03", "by": "version", "export": "models"})
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == ["Definition version", *MODELS.values()]
    assert lines[-1] == ["Total", *["1250.50"] * len(MODELS)]


def test_the_api_gives_rows_per_version(world, manager_client: Client):
    body = manager_client.get(API, {"period": "2026-03", "by": "version", "model": "u_shaped"}).json()
    assert body["by"] == "version"
    rows = {row["label"]: row for row in body["rows"]}
    assert (rows["Version 2 · Stricter"]["version"], rows["Version 2 · Stricter"]["campaign_id"]) == (2, None)
    assert rows["Version 2 · Stricter"]["revenue"] == "1000.00" and rows[NO_VERSION]["version"] is None
    assert sum(D(row["revenue"]) for row in body["rows"]) == D(body["totals"]["revenue"]) == D("1250.50")


def test_the_api_documents_rows_per_version(manager_client: Client):
    schema = manager_client.get("/api/schema/", {"format": "json"}).json()
    by = next(p for p in schema["paths"]["/api/v1/reports/roi/"]["get"]["parameters"] if p["name"] == "by")
    assert "version" in by["schema"]["enum"] and "definition version" in by["description"]


def test_a_rep_may_not_read_rows_per_version(rep_client: Client):
    assert rep_client.get(URL, {"by": "version"}).status_code == 403
    assert rep_client.get(API, {"by": "version"}).status_code == 403


def test_the_page_per_version_takes_a_bounded_number_of_queries(
    world, marketer_client: Client, django_assert_max_num_queries
):
    """Session, user, roles, and the report's four, however many versions have figures."""
    for n in range(5):
        qualify(LeadFactory(created_at=at(3, 9)), 10 + n)
    with django_assert_max_num_queries(7):
        marketer_client.get(URL, {"month": "2026-03", "by": "version"})
