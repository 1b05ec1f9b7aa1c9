"""A campaign's own figures: the panel its page loads from the reports (/reports/campaigns/<pk>/roi/),
equal to the campaign's row on the ROI page under every model."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from reports.attribution import forms
from reports.attribution.credits import MODELS
from reports.attribution.selectors import roi_report
from smarketing.lib.periods import month_bounds
from tests.factories import CampaignFactory
from tests.reports.attribution.world import MARCH, World, build_world

pytestmark = pytest.mark.django_db

START, END = month_bounds(MARCH)
HTMX = {"HTTP_HX_REQUEST": "true"}
FIGURES = ("spend", "leads", "mqls", "sqls", "opportunities", "customers", "won_deals", "revenue_cents")
FIGURES += ("roi", "cost_per_lead", "cost_per_mql", "cost_per_sql", "cost_per_customer")


@pytest.fixture(autouse=True)
def _march_is_offered(monkeypatch):
    monkeypatch.setattr(forms, "month_first", lambda day=None: (day or date(2026, 4, 15)).replace(day=1))


@pytest.fixture
def world() -> World:
    return build_world()


def url(campaign) -> str:
    return reverse("reports:campaign-roi", args=[campaign.pk])


@pytest.mark.parametrize("campaign", ["webinar", "search"])
def test_the_panels_figures_are_the_campaigns_roi_rows_under_every_model(world, manager_client: Client, campaign):
    campaign = getattr(world, campaign)
    response = manager_client.get(url(campaign), {"month": "2026-03"}, **HTMX)
    assert response.status_code == 200
    shown = dict(response.context["models"])
    assert list(shown) == list(MODELS.values())
    for model, label in MODELS.items():
        row = next(row for row in roi_report(model=model, start=START, end=END).rows if row.key == campaign.pk)
        assert [getattr(shown[label], name) for name in FIGURES] == [getattr(row, name) for name in FIGURES], model


def test_the_panel_shows_the_webinars_march_worked_out_by_hand(world, marketer_client: Client):
    """Spring webinar in March: spend 300.00, 2 leads, 1 MQL, 2 SQLs, 1 opportunity, 1 customer;
    per lead 150.00; D1's credit 1,000.00 first touch (ROI 233.3%), 666.67 linear (122.2%),
    800.00 U-shaped (166.7%), 714.29 time decay (138.1%)."""
    response = marketer_client.get(url(world.webinar), {"month": "2026-03"}, **HTMX)
    html = response.content.decode()
    assert "<html" not in html  # a fragment for the campaign page
    assert "Return on investment · March 2026" in html
    for text in ("USD 300.00", "USD 150.00", "USD 1,000.00", "233.3%", "USD 666.67", "122.2%", "166.7%", "138.1%"):
        assert text in html, text
    assert response.context["row"].opportunities == 1
    assert f'href="/reports/roi/?month=2026-03&amp;by=campaign#roi-campaign-{world.webinar.pk}"' in html


def test_the_roi_page_row_carries_the_campaigns_anchor(world, marketer_client: Client):
    html = marketer_client.get(reverse("reports:roi"), {"month": "2026-03"}).content.decode()
    assert f'id="roi-campaign-{world.webinar.pk}"' in html


def test_the_campaign_page_loads_the_panel_by_its_url(world, marketer_client: Client):
    html = marketer_client.get(reverse("leads:campaign", args=[world.webinar.pk])).content.decode()
    assert f'hx-get="{url(world.webinar)}"' in html and 'hx-trigger="load"' in html
    assert f'<a href="{url(world.webinar)}">' in html  # without scripts, a link to the figures


def test_without_htmx_the_panel_is_a_page_of_its_own(world, marketer_client: Client):
    response = marketer_client.get(url(world.webinar), {"month": "2026-03"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "Spring webinar" in html and "USD 300.00" in html


def test_a_quiet_month_says_so(world, marketer_client: Client):
    html = marketer_client.get(url(world.webinar), {"month": "2026-01"}, **HTMX).content.decode()
    assert "Nothing spent, captured or won through this campaign in January 2026." in html


def test_with_no_month_it_is_this_month_and_a_bad_one_is_a_400(world, marketer_client: Client):
    assert marketer_client.get(url(world.webinar), **HTMX).context["month"] == date(2026, 4, 1)
    response = marketer_client.get(url(world.webinar), {"month": "1999-01"}, **HTMX)
    assert response.status_code == 400 and response.context["month"] == date(2026, 4, 1)
    assert "not offered" in response.content.decode()


def test_an_unknown_campaign_is_a_404(marketer_client: Client):
    assert marketer_client.get(reverse("reports:campaign-roi", args=[999_999]), **HTMX).status_code == 404


def test_reps_and_people_without_a_role_are_refused(world, rep_client: Client, nobody):
    assert rep_client.get(url(world.webinar), **HTMX).status_code == 403
    client = Client()
    client.force_login(nobody)
    assert client.get(url(world.webinar)).status_code == 403
    assert Client().get(url(world.webinar)).status_code == 302  # to the login page


def test_the_panel_takes_a_bounded_number_of_queries(world, marketer_client: Client, django_assert_max_num_queries):
    """Session, user, roles, the campaign, and its credits, spend and milestones."""
    for n in range(5):
        CampaignFactory(name=f"More {n}").costs.create(incurred_on="2026-03-03", amount=D(5))
    with django_assert_max_num_queries(7):
        marketer_client.get(url(world.webinar), {"month": "2026-03"}, **HTMX)
