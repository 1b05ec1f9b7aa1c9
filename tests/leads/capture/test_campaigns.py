"""Campaigns and their costs: the services' rules, the pages and the API, by role."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.capture.campaigns import campaign_cost_add, campaign_cost_remove, campaign_create, campaign_update
from leads.capture.ingest import EventIn, events_ingest
from leads.capture.selectors import campaign_totals, campaigns_with_figures
from leads.models import Campaign, CampaignCost
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

LIST = reverse("leads:campaigns")
NEW = reverse("leads:campaign_new")
API = reverse("api-campaigns")


def page_of(campaign: Campaign) -> str:
    return reverse("leads:campaign", args=[campaign.pk])


def cost(campaign: Campaign, amount: str = "100", day: date = date(2026, 1, 5), note: str = "") -> CampaignCost:
    return CampaignCost.objects.create(campaign=campaign, incurred_on=day, amount=Decimal(amount), note=note)


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
    spring = CampaignFactory(name="Spring", budget=Decimal(100))
    CampaignFactory(name="Autumn")
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


# --- Pages: who may see them ------------------------------------------------------------------


def every_page(campaign: Campaign, spent: CampaignCost) -> list[str]:
    return [
        LIST,
        NEW,
        page_of(campaign),
        reverse("leads:campaign_edit", args=[campaign.pk]),
        reverse("leads:campaign_cost_remove", args=[campaign.pk, spent.pk]),
    ]


def test_a_rep_is_refused_every_campaign_page_and_action(rep_client):
    campaign = CampaignFactory(name="Spring")
    spent = cost(campaign)
    for url in every_page(campaign, spent):
        assert rep_client.get(url).status_code == 403, url
    assert rep_client.post(NEW, {"name": "Mine", "channel": "seo"}).status_code == 403
    edit = reverse("leads:campaign_edit", args=[campaign.pk])
    assert rep_client.post(edit, {"name": "Hijacked", "channel": "seo"}).status_code == 403
    add = reverse("leads:campaign_cost_add", args=[campaign.pk])
    assert rep_client.post(add, {"cost-incurred_on": "2026-01-01", "cost-amount": "5"}).status_code == 403
    assert rep_client.post(every_page(campaign, spent)[-1]).status_code == 403
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Spring"]
    assert list(CampaignCost.objects.all()) == [spent]


def test_anonymous_visitors_are_sent_to_log_in(client):
    campaign = CampaignFactory()
    for url in every_page(campaign, cost(campaign)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_a_campaign_or_cost_out_of_reach_is_404(marketer_client):
    spring, autumn = CampaignFactory(), CampaignFactory()
    spent = cost(autumn)
    assert marketer_client.get(reverse("leads:campaign", args=[9999])).status_code == 404
    assert marketer_client.get(reverse("leads:campaign_edit", args=[9999])).status_code == 404
    # A cost is reached only through its own campaign.
    elsewhere = reverse("leads:campaign_cost_remove", args=[spring.pk, spent.pk])
    assert marketer_client.post(elsewhere).status_code == 404
    assert CampaignCost.objects.filter(pk=spent.pk).exists()


# --- Pages: the list ------------------------------------------------------------------------


def test_the_empty_list_links_to_creating_the_first_campaign(marketer_client):
    body = marketer_client.get(LIST).content.decode()
    assert "No campaigns yet" in body
    assert f'href="{NEW}">Create the first one' in body


def test_the_list_searches_filters_and_totals(manager_client):
    spring = CampaignFactory(name="Spring webinar", channel="webinar", budget=Decimal(1000))
    CampaignFactory(name="Google brand", channel="paid_search", utm_campaign="brand-spring")
    CampaignFactory(name="Newsletter", channel="email")
    cost(spring, "250.50")
    LeadFactory(first_campaign=spring)
    body = manager_client.get(LIST).content.decode()
    assert "USD 250.50" in body and "USD 1,000.00" in body
    assert f'href="{page_of(spring)}"' in body
    found = manager_client.get(LIST, {"q": "spring"}).context["page"].object_list
    assert [c.name for c in found] == ["Google brand", "Spring webinar"]  # by name; utm_campaign matches too
    response = manager_client.get(LIST, {"q": "spring", "channel": "webinar"})
    assert [c.name for c in response.context["page"].object_list] == ["Spring webinar"]
    assert response.context["totals"] == {"count": 1, "spend": Decimal("250.50"), "budget": Decimal(1000), "leads": 1}
    body = manager_client.get(LIST, {"channel": "event"}).content.decode()
    assert "No campaign matches these filters" in body


def test_a_bad_filter_is_a_400_that_says_why(marketer_client):
    response = marketer_client.get(LIST, {"channel": "tv"})
    assert response.status_code == 400
    assert "Channel: Select a valid choice." in response.content.decode()


def test_the_list_pages_and_its_queries_do_not_grow_with_campaigns(marketer_client, django_assert_num_queries):
    for n in range(30):
        campaign = CampaignFactory(name=f"Campaign {n:02}")
        cost(campaign)
        LeadFactory(first_campaign=campaign)
    # session, user, roles; count, page, totals
    with django_assert_num_queries(6):
        response = marketer_client.get(LIST, {"page": 2})
    assert [c.name for c in response.context["page"].object_list] == [
        "Campaign 25",
        *[f"Campaign {n}" for n in range(26, 30)],
    ]
    assert 'rel="prev"' in response.content.decode()


# --- Pages: create and edit -----------------------------------------------------------------


def campaign_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Spring webinar",
        "channel": "webinar",
        "utm_source": "linkedin",
        "utm_medium": "paid-social",
        "utm_campaign": "spring-24",
        "utm_term": "",
        "utm_content": "",
        "budget": "5000",
        "starts_on": "2026-03-01",
        "ends_on": "2026-03-31",
        **overrides,
    }


def test_a_marketer_creates_a_campaign_and_lands_on_its_page(marketer_client, marketer):
    response = marketer_client.post(NEW, campaign_data(utm_campaign="  spring-24 "), follow=True)
    campaign = Campaign.objects.get()
    assert response.redirect_chain == [(page_of(campaign), 302)]
    assert (campaign.utm_campaign, campaign.budget, campaign.created_by) == ("spring-24", Decimal(5000), marketer)
    assert (campaign.starts_on, campaign.ends_on) == (date(2026, 3, 1), date(2026, 3, 31))
    assert "Campaign “Spring webinar” created." in response.content.decode()


def test_the_create_form_shows_every_problem_on_its_field(marketer_client):
    CampaignFactory(name="Spring webinar", utm_campaign="spring-24")
    data = campaign_data(name="SPRING WEBINAR", channel="tv", budget="10.001", utm_source="s" * 101)
    response = marketer_client.post(NEW, data | {"ends_on": "2026-02-01"})
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "channel", "budget", "utm_source", "utm_campaign", "ends_on"}
    assert "compared ignoring case" in form.errors["name"][0]
    assert form.errors["budget"] == ["Use at most 2 decimals (cents)."]
    body = response.content.decode()
    # Each message is tied to its input, and the summary links to it.
    assert 'aria-invalid="true" aria-describedby="id_budget_helptext id_budget_error"' in body
    assert '<ul class="errorlist" id="id_budget_error">' in body
    assert '<a href="#id_ends_on">Ends on</a>' in body
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_a_form_sent_without_its_fields_is_a_400_naming_each_required_one(marketer_client, editing):
    """Not the blank form again as if nothing had been sent (200): each missing field says so."""
    campaign = CampaignFactory(name="Spring", channel="webinar") if editing else None
    path = reverse("leads:campaign_edit", args=[campaign.pk]) if editing else NEW
    response = marketer_client.post(path, {})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert (errors["name"], errors["channel"]) == (["Give the campaign a name."], ["Choose a channel."])
    body = response.content.decode()
    assert '<a href="#id_name">Name</a>: Give the campaign a name.' in body
    assert '<ul class="errorlist" id="id_channel_error">' in body
    assert list(Campaign.objects.values_list("name", "channel")) == ([("Spring", "webinar")] if editing else [])


def test_a_manager_edits_a_campaign(manager_client):
    campaign = CampaignFactory(name="Spring", utm_campaign="spring", budget=Decimal(10))
    edit = reverse("leads:campaign_edit", args=[campaign.pk])
    assert 'value="spring"' in manager_client.get(edit).content.decode()
    data = campaign_data(name="Spring (EMEA)", utm_campaign="spring", budget="", channel="event")
    response = manager_client.post(edit, data)
    assert response.status_code == 302 and response.url == page_of(campaign)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.channel, campaign.budget, campaign.utm_campaign) == (
        "Spring (EMEA)",
        "event",
        None,
        "spring",
    )


def test_an_edit_cannot_take_another_campaigns_utm_campaign(marketer_client):
    CampaignFactory(name="Autumn", utm_campaign="autumn")
    campaign = CampaignFactory(name="Spring", utm_campaign="spring")
    response = marketer_client.post(reverse("leads:campaign_edit", args=[campaign.pk]), campaign_data(
        name="Spring", utm_campaign="autumn"
    ))  # fmt: skip
    assert response.status_code == 400
    assert "Campaign “Autumn” already uses it" in response.context["form"].errors["utm_campaign"][0]
    assert Campaign.objects.get(pk=campaign.pk).utm_campaign == "spring"


# --- Pages: a campaign's page ---------------------------------------------------------------


def test_the_campaign_page_shows_spend_against_budget_its_costs_and_its_leads(marketer_client):
    campaign = CampaignFactory(name="Spring", budget=Decimal(1000))
    cost(campaign, "700", date(2026, 1, 5), note="Invoice 12")
    cost(campaign, "400", date(2026, 2, 5))
    ana = LeadFactory(first_campaign=campaign, first_name="Ana", last_name="Pérez")
    LeadFactory(last_campaign=campaign)  # its last touch, not its first: not listed
    body = marketer_client.get(page_of(campaign)).content.decode()
    assert "USD 1,100.00" in body and "of USD 1,000.00 budget · 110%" in body
    assert "Over budget by USD 100.00." in body
    assert "Invoice 12" in body
    assert f'href="{reverse("leads:detail", args=[ana.pk])}">Ana Pérez</a>' in body
    assert f'href="{reverse("leads:list")}?campaign={campaign.pk}"' in body
    assert 'Leads (first touch) <span class="muted">· 1</span>' in body


def test_the_campaign_page_takes_the_same_queries_whatever_its_costs_and_leads(
    marketer_client, marketer, django_assert_num_queries
):
    campaign = CampaignFactory(budget=Decimal(1000), created_by=marketer)
    for day in range(1, 26):
        cost(campaign, "10", date(2026, 1, day))
        LeadFactory(first_campaign=campaign, owner=User.objects.create(username=f"owner{day}"))
    # session, user, roles; campaign with its figures; costs count and page; leads page and count
    with django_assert_num_queries(8):
        response = marketer_client.get(page_of(campaign), {"costs": 2})
    assert len(response.context["costs"].object_list) == 5
    assert len(response.context["leads"].object_list) == 25


# --- Pages: costs, added and removed in place -----------------------------------------------


def add_url(campaign: Campaign) -> str:
    return reverse("leads:campaign_cost_add", args=[campaign.pk])


def test_a_cost_added_with_htmx_comes_back_as_the_costs_section(marketer_client, marketer):
    campaign = CampaignFactory(budget=Decimal(100))
    data = {"cost-incurred_on": "2026-01-05", "cost-amount": "60.5", "cost-note": "Ads"}
    response = marketer_client.post(add_url(campaign), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card campaign-costs" id="campaign-costs"')
    assert "Added USD 60.50 on 5 Jan 2026." in body and "USD 39.50 left." in body
    added = CampaignCost.objects.get()
    assert (added.amount, added.note, added.created_by) == (Decimal("60.50"), "Ads", marketer)


def test_a_cost_added_without_scripts_goes_back_to_the_page(marketer_client):
    campaign = CampaignFactory()
    response = marketer_client.post(add_url(campaign), {"cost-incurred_on": "2026-01-05", "cost-amount": "1"})
    assert response.status_code == 302 and response.url == page_of(campaign)
    assert CampaignCost.objects.get().amount == Decimal(1)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"cost-amount": "5"}, "incurred_on", "Enter the day the cost was incurred."),
        ({"cost-incurred_on": "5 Jan", "cost-amount": "5"}, "incurred_on", "Enter a valid date."),
        ({"cost-incurred_on": "2026-01-05"}, "amount", "Enter an amount."),
        ({"cost-incurred_on": "2026-01-05", "cost-amount": "-3"}, "amount", "Enter 0 or more."),
        ({"cost-incurred_on": "2026-01-05", "cost-amount": "1e20"}, "amount", "Enter at most 9,999,999,999.99."),
        ({"cost-incurred_on": "2026-01-05", "cost-amount": "ten"}, "amount", "Enter an amount, like 1200.50."),
        ({"cost-incurred_on": "2026-01-05", "cost-amount": "1", "cost-note": "n" * 201}, "note", "200 characters"),
    ],
)
def test_a_bad_cost_comes_back_with_its_message_on_its_field(marketer_client, data, field, message):
    campaign = CampaignFactory()
    response = marketer_client.post(add_url(campaign), data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response["HX-Reswap"] == "outerHTML"  # static/js/app.js swaps it in place
    errors = response.context["cost_form"].errors
    assert list(errors) == [field] and message in errors[field][0]
    assert f'id="id_cost-{field}_error"' in response.content.decode()
    assert not CampaignCost.objects.exists()


def test_a_cost_dated_in_the_future_is_refused(marketer_client):
    campaign, later = CampaignFactory(), timezone.localdate() + timedelta(days=2)
    response = marketer_client.post(add_url(campaign), {"cost-incurred_on": later.isoformat(), "cost-amount": "5"})
    assert response.status_code == 400
    assert "costs are entered once incurred" in response.content.decode()


def test_a_cost_is_removed_after_confirming(marketer_client):
    campaign = CampaignFactory()
    spent, kept = cost(campaign, "70", note="Wrong invoice"), cost(campaign, "30")
    url = reverse("leads:campaign_cost_remove", args=[campaign.pk, spent.pk])
    confirm = marketer_client.get(url).content.decode()
    assert "Remove the cost of USD 70.00 on 5 Jan 2026?" in confirm and "Wrong invoice" in confirm
    assert CampaignCost.objects.count() == 2  # asking removes nothing
    response = marketer_client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Removed USD 70.00 on 5 Jan 2026." in response.content.decode()
    assert list(CampaignCost.objects.all()) == [kept]


# --- The admin ------------------------------------------------------------------------------


def test_the_admin_still_lists_adds_and_changes_campaigns():
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    campaign = CampaignFactory(name="Spring")
    cost(campaign)
    assert client.get(reverse("admin:leads_campaign_changelist")).status_code == 200
    assert client.get(reverse("admin:leads_campaign_change", args=[campaign.pk])).status_code == 200
    data = {
        "name": "Autumn",
        "channel": "seo",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "costs-TOTAL_FORMS": "0",
        "costs-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:leads_campaign_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # The same rule as the pages: a name differing only in case is refused.
    response = client.post(reverse("admin:leads_campaign_add"), data | {"name": "spring"})
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)


# --- API --------------------------------------------------------------------------------------


def api(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, method: str, url: str, body: object) -> object:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def test_a_rep_is_refused_every_campaign_endpoint(rep):
    campaign = CampaignFactory()
    spent = cost(campaign)
    client = api(rep)
    detail = reverse("api-campaign-detail", args=[campaign.pk])
    costs = reverse("api-campaign-costs", args=[campaign.pk])
    one_cost = reverse("api-campaign-cost-detail", args=[campaign.pk, spent.pk])
    for url in (API, detail, costs):
        assert client.get(url).status_code == 403
    assert send(client, "post", API, {"name": "Mine", "channel": "seo"}).status_code == 403
    assert send(client, "patch", detail, {"name": "Mine"}).status_code == 403
    assert send(client, "post", costs, {"incurred_on": "2026-01-01", "amount": "1"}).status_code == 403
    assert client.delete(one_cost).status_code == 403
    assert Campaign.objects.get().name == campaign.name and CampaignCost.objects.count() == 1


def test_anonymous_callers_are_refused(client):
    assert client.get(API).status_code in (401, 403)


def test_the_api_lists_campaigns_with_their_figures_by_page_and_channel(marketer):
    spring = CampaignFactory(name="Spring", channel="webinar", budget=Decimal("500"))
    CampaignFactory(name="Brand", channel="paid_search")
    cost(spring, "120.25")
    LeadFactory.create_batch(2, first_campaign=spring)
    body = api(marketer).get(API, {"channel": "webinar"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["name"], row["spend"], row["leads"], row["budget"]) == ("Spring", "120.25", 2, "500.00")
    assert api(marketer).get(API, {"page_size": 1, "page": 2}).json()["results"][0]["name"] == "Spring"
    assert api(marketer).get(API, {"search": "bra"}).json()["count"] == 1
    response = api(marketer).get(API, {"channel": "tv"})
    assert response.status_code == 400 and "channel" in response.json()


def test_the_api_creates_a_campaign(manager):
    response = send(api(manager), "post", API, {"name": " Spring ", "channel": "webinar", "utm_campaign": " s-24 "})
    assert response.status_code == 201, response.json()
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.utm_campaign, campaign.created_by) == ("Spring", "s-24", manager)
    assert response.json() | {"created_at": None} == {
        "id": campaign.pk,
        "name": "Spring",
        "channel": "webinar",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "s-24",
        "utm_term": "",
        "utm_content": "",
        "budget": None,
        "starts_on": None,
        "ends_on": None,
        "spend": "0.00",
        "leads": 0,
        "created_by": "manager",
        "created_at": None,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "seo"}, "name"),
        ({"name": "  ", "channel": "seo"}, "name"),
        ({"name": "spring", "channel": "seo"}, "name"),  # "Spring" exists: ignoring case
        ({"name": "A"}, "channel"),
        ({"name": "A", "channel": "tv"}, "channel"),
        ({"name": "A", "channel": "seo", "utm_campaign": "spring"}, "utm_campaign"),  # Spring's
        ({"name": "A", "channel": "seo", "utm_source": "x" * 101}, "utm_source"),
        ({"name": "A", "channel": "seo", "budget": "-1"}, "budget"),
        ({"name": "A", "channel": "seo", "budget": "1.005"}, "budget"),
        ({"name": "A", "channel": "seo", "budget": "1e400"}, "budget"),
        ({"name": "A", "channel": "seo", "budget": "NaN"}, "budget"),
        ({"name": "A", "channel": "seo", "budget": [1]}, "budget"),
        ({"name": "A", "channel": "seo", "starts_on": "2026-13-01"}, "starts_on"),
        ({"name": "A", "channel": "seo", "starts_on": "1999-01-01"}, "starts_on"),
        ({"name": "A", "channel": "seo", "starts_on": "2026-02-01", "ends_on": "2026-01-01"}, "ends_on"),
    ],
)
def test_bad_campaign_input_is_a_400_with_a_message_for_its_field(marketer, body, field):
    CampaignFactory(name="Spring", utm_campaign="spring")
    response = send(api(marketer), "post", API, body)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field] and errors[field][0], errors
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize("body", [[], "text", None, 12])
def test_a_body_that_is_not_an_object_is_a_400(marketer, body):
    assert send(api(marketer), "post", API, body).status_code == 400


def test_the_api_reads_and_changes_one_campaign(marketer):
    campaign = CampaignFactory(name="Spring", budget=Decimal(100), utm_campaign="spring")
    url = reverse("api-campaign-detail", args=[campaign.pk])
    assert api(marketer).get(url).json()["budget"] == "100.00"
    response = send(api(marketer), "patch", url, {"budget": None, "utm_medium": " email "})
    assert response.status_code == 200, response.json()
    campaign.refresh_from_db()
    assert (campaign.budget, campaign.utm_medium, campaign.name, campaign.utm_campaign) == (
        None,
        "email",
        "Spring",
        "spring",
    )
    response = send(api(marketer), "patch", url, {"ends_on": "2026-01-01", "starts_on": "2026-02-01"})
    assert response.status_code == 400 and list(response.json()) == ["ends_on"]
    assert send(api(marketer), "patch", url, {"channel": "tv"}).status_code == 400
    assert api(marketer).get(reverse("api-campaign-detail", args=[9999])).status_code == 404
    assert send(api(marketer), "patch", reverse("api-campaign-detail", args=[9999]), {}).status_code == 404


def test_the_api_lists_adds_and_removes_costs(marketer):
    campaign, other = CampaignFactory(), CampaignFactory()
    cost(campaign, "10", date(2026, 1, 1))
    url = reverse("api-campaign-costs", args=[campaign.pk])
    response = send(api(marketer), "post", url, {"incurred_on": "2026-02-01", "amount": "99.5", "note": "Ads"})
    assert response.status_code == 201, response.json()
    added = CampaignCost.objects.get(pk=response.json()["id"])
    assert (added.campaign, added.amount, added.created_by) == (campaign, Decimal("99.50"), marketer)
    listed = api(marketer).get(url).json()
    assert [row["amount"] for row in listed["results"]] == ["99.50", "10.00"]  # newest day first
    assert api(marketer).get(reverse("api-campaign-detail", args=[campaign.pk])).json()["spend"] == "109.50"
    # A cost is reached only through its own campaign.
    assert api(marketer).delete(reverse("api-campaign-cost-detail", args=[other.pk, added.pk])).status_code == 404
    assert api(marketer).delete(reverse("api-campaign-cost-detail", args=[campaign.pk, added.pk])).status_code == 204
    assert not CampaignCost.objects.filter(pk=added.pk).exists()
    assert api(marketer).get(reverse("api-campaign-costs", args=[9999])).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "5"}, "incurred_on"),
        ({"incurred_on": "yesterday", "amount": "5"}, "incurred_on"),
        ({"incurred_on": "2999-01-01", "amount": "5"}, "incurred_on"),
        ({"incurred_on": "2026-01-01"}, "amount"),
        ({"incurred_on": "2026-01-01", "amount": "-5"}, "amount"),
        ({"incurred_on": "2026-01-01", "amount": "12345678901"}, "amount"),
        ({"incurred_on": "2026-01-01", "amount": "5", "note": "n" * 201}, "note"),
    ],
)
def test_a_bad_cost_is_a_400_with_a_message_for_its_field(marketer, body, field):
    url = reverse("api-campaign-costs", args=[CampaignFactory().pk])
    response = send(api(marketer), "post", url, body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not CampaignCost.objects.exists()


def test_a_cost_dated_a_day_ahead_is_taken_and_two_days_is_not(marketer):
    url = reverse("api-campaign-costs", args=[CampaignFactory().pk])
    today = timezone.localdate()
    tomorrow, later = (today + timedelta(days=1)).isoformat(), (today + timedelta(days=2)).isoformat()
    assert send(api(marketer), "post", url, {"incurred_on": tomorrow, "amount": "1"}).status_code == 201
    response = send(api(marketer), "post", url, {"incurred_on": later, "amount": "1"})
    assert response.status_code == 400 and "once incurred" in response.json()["incurred_on"][0]
