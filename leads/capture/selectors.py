"""Reads on capture forms (the active form behind a public key, submissions counted per form
through their index) and on campaigns (their spend and leads, one campaign's costs and leads).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from leads.capture import sql as capture_sql
from leads.models import FORM_KEY, Campaign, CampaignCost, CaptureForm, Event, Lead
from leads.selectors import LeadPage, leads_page, leads_visible_to
from smarketing.lib import sql


def capture_form_submissions(forms: Iterable[CaptureForm]) -> dict[str, int]:
    """form_submitted events per form key, in one query."""
    keys = [form.key for form in forms]
    if not keys:
        return {}
    rows = (
        Event.objects.annotate(form_key=FORM_KEY)
        .filter(type="form_submitted", form_key__in=keys)  # as the partial index on it reads
        .values("form_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["form_key"]: row["n"] for row in rows}


def active_form(key: str) -> CaptureForm:
    """The active form with this key, or 404 (`capture_sql.ACTIVE_FORM`). A form's campaign,
    when it has one, is read only if it is used."""
    found = CaptureForm.objects.raw(*sql.bind(capture_sql.ACTIVE_FORM, key=key))
    form = next(iter(found), None)
    if form is None:
        raise Http404("No active form has this key.")
    return form


# A sum of many costs outgrows one cost's 12 digits.
SPEND = DecimalField(max_digits=20, decimal_places=2)


def campaigns_with_figures(*, search: str = "", channel: str = "") -> QuerySet[Campaign]:
    """Campaigns with `spend` (the sum of their costs) and `leads` (first touch), by name.

    Each figure is a correlated subquery, not a join: joining costs and leads at once would
    multiply one by the other, and a subquery reads only its campaign's rows (the leads
    through their first_campaign index), so a page of campaigns is one query.
    """
    costs = CampaignCost.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    leads = Lead.objects.filter(first_campaign=OuterRef("pk")).order_by().values("first_campaign")
    spend = Subquery(costs.annotate(total=Sum("amount")).values("total"), output_field=SPEND)
    count = Subquery(leads.annotate(n=Count("id")).values("n"), output_field=IntegerField())
    rows = Campaign.objects.annotate(
        spend=Coalesce(spend, Value(Decimal(0)), output_field=SPEND), leads=Coalesce(count, Value(0))
    )
    if search:
        rows = rows.filter(
            Q(name__icontains=search) | Q(utm_campaign__icontains=search) | Q(utm_source__icontains=search)
        )
    if channel:
        rows = rows.filter(channel=channel)
    return rows.order_by("name", "id")


def campaign_totals(campaigns: QuerySet[Campaign]) -> dict[str, Any]:
    """How many campaigns, their spend, budgets and leads, in one query."""
    # Named apart from the annotations they sum: an aggregate named like one replaces it.
    totals = campaigns.order_by().aggregate(
        count_total=Count("id"),
        spend_total=Coalesce(Sum("spend"), Value(Decimal(0)), output_field=SPEND),
        budget_total=Sum("budget", output_field=SPEND),
        leads_total=Coalesce(Sum("leads"), Value(0)),
    )
    return {name.removesuffix("_total"): value for name, value in totals.items()}


def campaign_with_figures(pk: int) -> Campaign:
    """One campaign with its spend and leads (and who created it), or 404."""
    return get_object_or_404(campaigns_with_figures().select_related("created_by"), pk=pk)


@dataclass
class BudgetUse:
    """Spend against a budget: how much is used, what is left or how far over it went."""

    budget: Decimal
    spend: Decimal

    @property
    def percent(self) -> int:
        return round(self.spend * 100 / self.budget) if self.budget else (100 if self.spend else 0)

    @property
    def left(self) -> Decimal:
        return max(self.budget - self.spend, Decimal(0))

    @property
    def over(self) -> Decimal:
        return max(self.spend - self.budget, Decimal(0))


def budget_use(campaign: Campaign) -> BudgetUse | None:
    """None when the campaign has no budget; its `spend` comes from campaigns_with_figures."""
    return None if campaign.budget is None else BudgetUse(budget=campaign.budget, spend=campaign.spend)


def campaign_costs(campaign: Campaign) -> QuerySet[CampaignCost]:
    """A campaign's costs, newest day first (the last entered first within a day)."""
    return campaign.costs.select_related("created_by").order_by("-incurred_on", "-id")


def campaign_leads(*, campaign: Campaign, user: Any, page: int = 1) -> LeadPage:
    """The leads whose first touch was this campaign and that `user` may open, newest first:
    one page of them and a count that stays bounded (leads.selectors.leads_page)."""
    leads = leads_visible_to(user).filter(first_campaign=campaign).order_by("-created_at", "-id")
    return leads_page(leads, number=page)
