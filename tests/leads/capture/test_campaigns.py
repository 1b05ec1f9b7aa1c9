"""Campaigns and their costs: the services' rules, the pages and the API, by role."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.capture.campaigns import campaign_cost_add, campaign_cost_remove, campaign_create, campaign_update
from leads.capture.ingest import EventIn, events_ingest
from leads.capture.selectors import campaign_totals, campaigns_with_figures
from leads.models import Campaign, CampaignCost
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def errors_of(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    return caught.value.message_dict


# --- Services: what a campaign may hold --------------------------------------------------


def test_a_campaign_is_created_with_its_values_trimmed(marketer):
    campaign = campaign_create(
        by=marketer,
        name="  Spring webinar ",
        channel="webinar",
        utm_source=" linkedin ",
        utm_medium="paid-social",
        utm_campaign=" spring-24 ",
        utm_term="crm",
        utm_content="banner-a",
        budget=Decimal("5000"),
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 3, 31),
    )
    campaign.refresh_from_db()
    assert campaign.name == "Spring webinar"
    assert (campaign.utm_source, campaign.utm_campaign, campaign.utm_term) == ("linkedin", "spring-24", "crm")
    assert campaign.budget == Decimal("5000.00")
    assert campaign.created_by == marketer


def test_a_name_is_required_and_unique_ignoring_case(marketer):
    CampaignFactory(name="Spring webinar")
    assert errors_of(campaign_create, by=marketer, name="  ", channel="seo") == {"name": ["Give the campaign a name."]}
    errors = errors_of(campaign_create, by=marketer, name="SPRING Webinar", channel="seo")
    assert "already exists" in errors["name"][0]
    assert Campaign.objects.count() == 1


def test_every_bad_field_is_named_at_once(marketer):
    errors = errors_of(
        campaign_create,
        by=marketer,
        name="x" * 201,
        channel="tv",
        utm_source="s" * 101,
        budget=Decimal("-1"),
        starts_on=date(1999, 12, 31),
    )
    assert set(errors) == {"name", "channel", "utm_source", "budget", "starts_on"}
    assert "200 characters" in errors["name"][0]
    assert "Paid search" in errors["channel"][0]
    assert errors["budget"] == ["Enter 0 or more."]


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (Decimal("10.005"), "Use at most 2 decimals (cents)."),
        (Decimal("10000000000"), "Enter at most 9,999,999,999.99."),
        ("abc", "Enter an amount, like 1200.50."),
        (Decimal("NaN"), "Enter an amount, like 1200.50."),
        (True, "Enter an amount, like 1200.50."),
    ],
)
def test_a_budget_is_money_within_the_column(marketer, budget, message):
    assert errors_of(campaign_create, by=marketer, name="A", channel="seo", budget=budget) == {"budget": [message]}


def test_a_campaign_cannot_end_before_it_starts(marketer):
    errors = errors_of(
        campaign_create, by=marketer, name="A", channel="seo", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 1)
    )
    assert list(errors) == ["ends_on"]


def test_a_utm_campaign_belongs_to_one_campaign_as_events_match_it(marketer):
    """Matching reads utm_campaign alone, so another source or medium does not make it distinct."""
    CampaignFactory(name="LinkedIn spring", utm_source="linkedin", utm_campaign="spring")
    errors = errors_of(
        campaign_create, by=marketer, name="Google spring", channel="paid_search", utm_source="google",
        utm_campaign=" spring ",
    )  # fmt: skip
    assert "LinkedIn spring" in errors["utm_campaign"][0]
    # Matching is exact: another spelling is another value, and several campaigns may have none.
    campaign_create(by=marketer, name="Google Spring", channel="paid_search", utm_campaign="Spring")
    campaign_create(by=marketer, name="Offline 1", channel="event")
    campaign_create(by=marketer, name="Offline 2", channel="event")


def test_a_created_campaign_is_credited_with_the_events_carrying_its_utm_campaign(marketer):
    campaign = campaign_create(by=marketer, name="Spring", channel="webinar", utm_campaign=" spring-24")
    event = EventIn(
        email="ana@example.com",
        type="page_viewed",
        occurred_at=timezone.now(),
        idempotency_key="e-1",
        properties={"utm_campaign": "spring-24"},
    )
    events_ingest(events=[event])
    assert campaign.first_touch_leads.get().email == "ana@example.com"
    assert campaign.events.count() == 1


def test_an_update_changes_and_checks_only_the_given_fields(marketer):
    campaign = CampaignFactory(name="Spring", utm_campaign="spring", starts_on=date(1990, 1, 1))  # from the admin
    CampaignFactory(name="Autumn", utm_campaign="autumn")
    campaign_update(campaign=campaign, by=marketer, budget="1200.50", utm_medium=" email ")
    campaign.refresh_from_db()
    assert (campaign.budget, campaign.utm_medium, campaign.starts_on) == (Decimal("1200.50"), "email", date(1990, 1, 1))
    errors = errors_of(campaign_update, campaign=campaign, by=marketer, name="autumn", utm_campaign="autumn")
    assert set(errors) == {"name", "utm_campaign"}
    errors = errors_of(campaign_update, campaign=campaign, by=marketer, ends_on=date(1989, 12, 31))
    assert "between 2000" in errors["ends_on"][0]
    campaign_update(campaign=campaign, by=marketer, name="SPRING")  # its own name in another case
    assert Campaign.objects.get(pk=campaign.pk).name == "SPRING"


def test_an_update_refuses_fields_it_does_not_change(marketer):
    with pytest.raises(TypeError):
        campaign_update(campaign=CampaignFactory(), by=marketer, created_by=None)


def test_a_cost_is_added_and_removed(marketer):
    campaign = CampaignFactory()
    cost = campaign_cost_add(
        campaign=campaign, by=marketer, incurred_on=date(2026, 1, 5), amount=Decimal("99.9"), note=" Invoice 7 "
    )
    cost.refresh_from_db()
    assert (cost.amount, cost.note, cost.created_by) == (Decimal("99.90"), "Invoice 7", marketer)
    campaign_cost_remove(cost=cost, by=marketer)
    assert not CampaignCost.objects.exists()


def test_a_cost_is_dated_at_most_a_day_ahead(marketer):
    campaign, today = CampaignFactory(), timezone.localdate()
    campaign_cost_add(campaign=campaign, by=marketer, incurred_on=today + timedelta(days=1), amount=Decimal(1))
    errors = errors_of(
        campaign_cost_add, campaign=campaign, by=marketer, incurred_on=today + timedelta(days=2), amount=Decimal(1)
    )
    assert "costs are entered once incurred" in errors["incurred_on"][0]
    errors = errors_of(campaign_cost_add, campaign=campaign, by=marketer, incurred_on=None, amount=None, note="n" * 201)
    assert set(errors) == {"incurred_on", "amount", "note"}


# --- Selectors ------------------------------------------------------------------------------


def test_figures_count_spend_and_first_touch_leads_without_multiplying(django_assert_num_queries):
    spring, autumn = CampaignFactory(name="Spring", budget=Decimal(100)), CampaignFactory(name="Autumn")
    for amount in (10, 20, 30):
        CampaignCost.objects.create(campaign=spring, incurred_on=date(2026, 1, amount // 10), amount=Decimal(amount))
    LeadFactory.create_batch(2, first_campaign=spring)
    LeadFactory(last_campaign=spring)  # last touch only: not its lead
    with django_assert_num_queries(1):
        rows = {c.name: (c.spend, c.leads) for c in campaigns_with_figures()}
    assert rows == {"Spring": (Decimal(60), 2), "Autumn": (Decimal(0), 0)}
    with django_assert_num_queries(1):
        totals = campaign_totals(campaigns_with_figures())
    assert totals == {"count": 2, "spend": Decimal(60), "budget": Decimal(100), "leads": 2}
    assert [c.name for c in campaigns_with_figures(search="spr")] == ["Spring"]
    assert [c.name for c in campaigns_with_figures(channel="seo")] == []
