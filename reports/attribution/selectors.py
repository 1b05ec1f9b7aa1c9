"""Reads for attribution and ROI: a deal's touches, each lead's MQL moment, and the ROI rows.

Definitions (DESIGN, "Reports"), for a period [start, end) in the instance's zone:

- revenue: deals won in the period (in the won stage, closed in it), each credited to the
  campaigns of its touches under the chosen model, in whole cents (`credits.cents_split`); a deal
  without touches is credited to "(no campaign)", so the rows add up to the period's won revenue;
- won deals: the deals won in the period that credit the row anything under the model (a deal
  touched by two campaigns counts on both rows; the totals row counts each deal once);
- spend: the campaign's costs dated in the period (`CampaignCost.incurred_on`);
- leads: leads created in the period, on their first campaign's row (`Lead.first_campaign`;
  none: "(no campaign)");
- MQLs, SQLs, opportunities, customers: leads whose *first ever* entry into that stage (a
  StageChange to it) falls in the period, on their first campaign's row — a lead that comes back
  to a stage is not counted again;
- ROI = (revenue − spend) ÷ spend, and spend per lead, MQL, SQL and customer; None where the
  divisor is zero.

By channel, the same figures grouped by the campaign's channel. Every figure takes a fixed number
of set-based queries, however many deals, leads and campaigns the period holds.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, QuerySet, Sum
from django.utils import timezone

from leads.models import Campaign, CampaignCost, Channel, Deal, DealStage, Event, Lead, Stage, StageChange
from reports.attribution.credits import MODELS, Touch, cents_split, touch_shares

NO_CAMPAIGN = "(no campaign)"
BY_CAMPAIGN, BY_CHANNEL = "campaign", "channel"
GROUPINGS = (BY_CAMPAIGN, BY_CHANNEL)
FUNNEL_STAGES = {Stage.MQL: "mqls", Stage.SQL: "sqls", Stage.OPPORTUNITY: "opportunities", Stage.CUSTOMER: "customers"}
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")

Key = int | str | None  # a campaign's id, a channel's value, or None for "(no campaign)"


@dataclass
class Row:
    """One campaign's (or channel's) figures in a period; money in the instance's currency."""

    key: Key
    label: str
    channel: str = ""  # the channel's value ("" for "(no campaign)")
    channel_label: str = ""
    spend: Decimal = Decimal("0.00")
    leads: int = 0
    mqls: int = 0
    sqls: int = 0
    opportunities: int = 0
    customers: int = 0
    won_deals: int = 0
    revenue_cents: int = 0

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.revenue_cents).scaleb(-2)

    @property
    def roi(self) -> Decimal | None:
        return ((self.revenue - self.spend) / self.spend).quantize(RATIO) if self.spend else None

    @property
    def roi_pct(self) -> Decimal | None:
        return (self.roi * 100).quantize(Decimal("0.1")) if self.roi is not None else None

    def _per(self, count: int) -> Decimal | None:
        return (self.spend / count).quantize(CENT) if count else None

    @property
    def cost_per_lead(self) -> Decimal | None:
        return self._per(self.leads)

    @property
    def cost_per_mql(self) -> Decimal | None:
        return self._per(self.mqls)

    @property
    def cost_per_sql(self) -> Decimal | None:
        return self._per(self.sqls)

    @property
    def cost_per_customer(self) -> Decimal | None:
        return self._per(self.customers)


@dataclass
class ModelRow:
    """One campaign's (or channel's) attributed revenue under each of the six models."""

    key: Key
    label: str
    channel: str = ""
    channel_label: str = ""
    cents: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MODELS, 0))

    @property
    def revenue(self) -> dict[str, Decimal]:
        return {model: Decimal(cents).scaleb(-2) for model, cents in self.cents.items()}

    @property
    def amounts(self) -> list[Decimal]:
        """The revenue under each model, in MODELS' order (for a table's columns)."""
        return [Decimal(self.cents[model]).scaleb(-2) for model in MODELS]


@dataclass
class RoiReport:
    model: str
    by: str
    start: datetime
    end: datetime
    rows: list[Row]
    totals: Row
    model_rows: list[ModelRow]
    model_totals: ModelRow


@dataclass(frozen=True)
class WonDeal:
    id: int
    lead_id: int
    created_at: datetime
    amount_cents: int


# --- Touches ---------------------------------------------------------------------------------


def deal_touches(deals: QuerySet[Deal]) -> dict[int, list[Touch]]:
    """Each deal's touches: its lead's events carrying a campaign, up to the deal's creation,
    ordered by time then id (deals without any map to []). Two queries, however many deals."""
    rows = [
        WonDeal(pk, lead_id, created, 0) for pk, lead_id, created in deals.values_list("id", "lead_id", "created_at")
    ]
    return _touches_by_deal(rows, leads=deals.values("lead_id"))


def _touches_by_deal(deals: list[WonDeal], *, leads: Any) -> dict[int, list[Touch]]:
    """One query for the events of every deal's lead (`leads`: a subquery of lead ids)."""
    if not deals:
        return {}
    latest = max(deal.created_at for deal in deals)
    events = (
        Event.objects.filter(campaign_id__isnull=False, lead_id__in=leads, occurred_at__lte=latest)
        .order_by("lead_id", "occurred_at", "id")
        .values_list("lead_id", "id", "campaign_id", "occurred_at")
    )
    by_lead: dict[int, list[Touch]] = defaultdict(list)
    for lead_id, event_id, campaign_id, occurred_at in events:
        by_lead[lead_id].append(Touch(event_id=event_id, campaign_id=campaign_id, occurred_at=occurred_at))
    return {
        deal.id: [touch for touch in by_lead.get(deal.lead_id, []) if touch.occurred_at <= deal.created_at]
        for deal in deals
    }


def mql_moments(leads: Any) -> dict[int, datetime]:
    """When each lead first became MQL (its first StageChange to MQL); one query.
    `leads`: lead ids, or a subquery of them."""
    firsts = (
        StageChange.objects.filter(to_stage=Stage.MQL, lead_id__in=leads)
        .values("lead_id")
        .annotate(first=Min("changed_at"))
        .order_by()
    )
    return {row["lead_id"]: row["first"] for row in firsts}


def won_deals(*, start: datetime, end: datetime) -> QuerySet[Deal]:
    """Deals in the won stage that closed in [start, end)."""
    return Deal.objects.filter(stage__outcome=DealStage.Outcome.WON, closed_at__gte=start, closed_at__lt=end)


def deal_credits(model: str, deal: WonDeal, touches: list[Touch], mql_at: datetime | None) -> dict[int | None, int]:
    """A deal's cents per campaign id under `model` (None: no touches, "(no campaign)")."""
    shares = touch_shares(model, touches, mql_at=mql_at, deal_created=deal.created_at)
    if not shares:
        return {None: deal.amount_cents}
    credits: dict[int | None, int] = defaultdict(int)
    for touch, share, cents in zip(touches, shares, cents_split(deal.amount_cents, shares), strict=True):
        if share:
            credits[touch.campaign_id] += cents
    return credits


# --- The report ------------------------------------------------------------------------------


def roi_rows(*, model: str, start: datetime, end: datetime, by: str = BY_CAMPAIGN) -> list[Row]:
    """The ROI rows of [start, end) under `model`, per campaign or per channel (see the module)."""
    return roi_report(model=model, start=start, end=end, by=by).rows


def roi_report(*, model: str, start: datetime, end: datetime, by: str = BY_CAMPAIGN) -> RoiReport:
    """The ROI rows and their totals under `model`, and every model's revenue side by side.

    1. read the period's won deals, their touches and their leads' MQL moments (3 queries);
    2. credit each deal's cents to its campaigns under every model (no query);
    3. read spend, new leads and first stage entries per campaign (3 queries), and the names
       and channels of the campaigns that have any figure (1 query);
    4. fold campaigns into rows (per campaign, or per channel) and add the totals.
    """
    if model not in MODELS:
        raise ValueError(f"Unknown attribution model {model!r}.")
    if by not in GROUPINGS:
        raise ValueError(f"Unknown grouping {by!r}.")
    won = won_deals(start=start, end=end)
    deals = [
        WonDeal(pk, lead_id, created, _cents(amount))
        for pk, lead_id, created, amount in won.values_list("id", "lead_id", "created_at", "amount")
    ]
    touches = _touches_by_deal(deals, leads=won.values("lead_id"))
    mqls = mql_moments(won.values("lead_id")) if deals else {}
    credits = {
        name: [deal_credits(name, deal, touches[deal.id], mqls.get(deal.lead_id)) for deal in deals] for name in MODELS
    }
    figures = _campaign_figures(start=start, end=end)
    ids = {key for per_deal in credits.values() for deal in per_deal for key in deal} | set(figures)
    campaigns = {c.id: c for c in Campaign.objects.filter(id__in=ids - {None}).only("id", "name", "channel")}
    keyed = _Keys(campaigns, by)
    rows = _rows(keyed, figures, credits[model])
    model_rows = _model_rows(keyed, credits)
    return RoiReport(
        model=model,
        by=by,
        start=start,
        end=end,
        rows=rows,
        totals=_totals(rows, deal_count=len(deals)),
        model_rows=model_rows,
        model_totals=_model_totals(model_rows),
    )


def _cents(amount: Decimal | None) -> int:
    return int((amount or Decimal(0)) * 100)


def _campaign_figures(*, start: datetime, end: datetime) -> dict[int | None, dict[str, Any]]:
    """Spend, new leads and first stage entries per campaign id (None: leads without one)."""
    figures: dict[int | None, dict[str, Any]] = defaultdict(dict)
    costs = (
        CampaignCost.objects.filter(incurred_on__gte=timezone.localdate(start), incurred_on__lt=timezone.localdate(end))
        .values("campaign_id")
        .annotate(spend=Sum("amount"))
        .order_by()
    )
    for row in costs:
        figures[row["campaign_id"]]["spend"] = row["spend"]
    leads = (
        Lead.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("first_campaign_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in leads:
        figures[row["first_campaign_id"]]["leads"] = row["n"]
    for row in _first_entries(start=start, end=end):
        figures[row["lead__first_campaign_id"]][FUNNEL_STAGES[row["to_stage"]]] = row["n"]
    return figures


def _first_entries(*, start: datetime, end: datetime) -> QuerySet:
    """Per first campaign and stage, the leads whose first entry into the stage is in the period."""
    earlier = StageChange.objects.filter(
        lead_id=OuterRef("lead_id"), to_stage=OuterRef("to_stage"), changed_at__lt=start
    )
    return (
        StageChange.objects.filter(to_stage__in=list(FUNNEL_STAGES), changed_at__gte=start, changed_at__lt=end)
        .filter(~Exists(earlier))
        .values("lead__first_campaign_id", "to_stage")
        .annotate(n=Count("lead_id", distinct=True))
        .order_by()
    )


class _Keys:
    """Which row a campaign id falls on: its own, or its channel's; None stays "(no campaign)"."""

    def __init__(self, campaigns: dict[int, Campaign], by: str) -> None:
        self.campaigns, self.by = campaigns, by

    def key(self, campaign_id: int | None) -> Key:
        if campaign_id is None:
            return None
        return campaign_id if self.by == BY_CAMPAIGN else self.campaigns[campaign_id].channel

    def labels(self, key: Key) -> dict[str, str]:
        if key is None:
            return {"label": NO_CAMPAIGN}
        if self.by == BY_CHANNEL:
            label = Channel(key).label if key in Channel.values else str(key)
            return {"label": label, "channel": str(key), "channel_label": label}
        campaign = self.campaigns[key]
        return {"label": campaign.name, "channel": campaign.channel, "channel_label": campaign.get_channel_display()}


def _rows(keys: _Keys, figures: dict[int | None, dict[str, Any]], credits: list[dict[int | None, int]]) -> list[Row]:
    rows: dict[Key, Row] = {}

    def row(campaign_id: int | None) -> Row:
        key = keys.key(campaign_id)
        if key not in rows:
            rows[key] = Row(key=key, **keys.labels(key))
        return rows[key]

    for campaign_id, values in figures.items():
        target = row(campaign_id)
        target.spend += values.get("spend", Decimal(0))
        for name in ("leads", *FUNNEL_STAGES.values()):
            setattr(target, name, getattr(target, name) + values.get(name, 0))
    for deal in credits:
        for campaign_id, cents in deal.items():
            row(campaign_id).revenue_cents += cents
        for key in {keys.key(campaign_id) for campaign_id in deal}:
            rows[key].won_deals += 1
    return sorted(rows.values(), key=_order)


def _order(row: Row | ModelRow) -> tuple[bool, int, str]:
    revenue = row.revenue_cents if isinstance(row, Row) else max(row.cents.values())
    return (row.key is None, -revenue, row.label.casefold())


def _totals(rows: list[Row], *, deal_count: int) -> Row:
    totals = Row(key="total", label="Total", won_deals=deal_count)
    for row in rows:
        totals.spend += row.spend
        totals.revenue_cents += row.revenue_cents
        for name in ("leads", *FUNNEL_STAGES.values()):
            setattr(totals, name, getattr(totals, name) + getattr(row, name))
    return totals


def _model_rows(keys: _Keys, credits: dict[str, list[dict[int | None, int]]]) -> list[ModelRow]:
    rows: dict[Key, ModelRow] = {}
    for model, per_deal in credits.items():
        for deal in per_deal:
            for campaign_id, cents in deal.items():
                key = keys.key(campaign_id)
                if key not in rows:
                    rows[key] = ModelRow(key=key, **keys.labels(key))
                rows[key].cents[model] += cents
    return sorted(rows.values(), key=_order)


def _model_totals(rows: Iterable[ModelRow]) -> ModelRow:
    totals = ModelRow(key="total", label="Total")
    for row in rows:
        for model, cents in row.cents.items():
            totals.cents[model] += cents
    return totals
