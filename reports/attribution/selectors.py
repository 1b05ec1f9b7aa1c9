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

By channel, the same figures grouped by the campaign's channel. By definition version ("which
version's leads made the money"): the figures of the leads each version qualified, the version
under which a lead last qualified (`Lead.qualified_version`, as win/loss and the dashboard group
them; "(not qualified by a definition)" for the others): its leads, first stage entries and won
deals, each deal's whole amount on its lead's row under every model (so every model gives a
version the same revenue, and the rows add up to the period's won revenue); no spend, ROI or
cost per figure, which are campaigns'. The figures are read from the
rollups (reports.attribution.models: each won deal's credits per campaign and model, each lead's
milestones), which reports.attribution.services keeps current from the deals, events and stage
history; the touches and MQL moments below are what it reads them from. Every figure takes a
fixed number of set-based queries, however many deals, leads and campaigns the period holds.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.utils import timezone

from leads.models import (
    Campaign,
    CampaignCost,
    Channel,
    Deal,
    DealStage,
    Event,
    QualificationDefinition,
    Stage,
    StageChange,
)
from reports.attribution.credits import MODELS, Touch, cents_split, touch_shares
from reports.attribution.models import DealCredit, LeadMilestone, Milestone

NO_CAMPAIGN = "(no campaign)"
NO_VERSION = "(not qualified by a definition)"
BY_CAMPAIGN, BY_CHANNEL, BY_VERSION = "campaign", "channel", "version"
GROUPINGS = (BY_CAMPAIGN, BY_CHANNEL, BY_VERSION)
GROUPING_LABELS = {BY_CAMPAIGN: "Campaign", BY_CHANNEL: "Channel", BY_VERSION: "Definition version"}
FUNNEL_STAGES = {Stage.MQL: "mqls", Stage.SQL: "sqls", Stage.OPPORTUNITY: "opportunities", Stage.CUSTOMER: "customers"}
MILESTONE_FIGURES = {Milestone.CREATED: "leads", **FUNNEL_STAGES}
CENT = Decimal("0.01")
RATIO = Decimal("0.0001")

Key = int | str | None  # a campaign's id, a channel's value, a version, or None for "(no campaign)"


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
    """The ROI rows of [start, end) under `model`, per campaign, channel or version (see the module)."""
    return roi_report(model=model, start=start, end=end, by=by).rows


def roi_report(*, model: str, start: datetime, end: datetime, by: str = BY_CAMPAIGN) -> RoiReport:
    """The ROI rows and their totals under `model`, and every model's revenue side by side,
    read from the rollups (reports.attribution.services keeps them current):

    1. the period's credits per campaign, every model's cents and deals (1 query), per channel
       the deals each channel's campaigns are credited under `model` (1 more), and how many
       deals were won (1);
    2. spend per campaign (1) and its leads and first stage entries, the period's milestones (1),
       and the names and channels of the campaigns that have any figure (1);
    3. fold campaigns into rows (per campaign, or per channel) and add the totals.

    Per definition version, `_version_report`.
    """
    if model not in MODELS:
        raise ValueError(f"Unknown attribution model {model!r}.")
    if by not in GROUPINGS:
        raise ValueError(f"Unknown grouping {by!r}.")
    credits = DealCredit.objects.filter(won_at__gte=start, won_at__lt=end)
    if by == BY_VERSION:
        return _version_report(model=model, start=start, end=end, credits=credits)
    credited = _credited(credits)
    figures = _campaign_figures(start=start, end=end)
    ids = {key for key in (*credited, *figures) if key is not None}
    campaigns = {c.id: c for c in Campaign.objects.filter(id__in=ids).only("id", "name", "channel")}
    keyed = _Keys(campaigns, by)
    rows = _rows(keyed, figures, credited, model)
    if by == BY_CHANNEL:
        _channel_deals(rows, credits, model)
    rows = sorted(rows.values(), key=_order)
    model_rows = _model_rows(keyed, credited)
    deal_count = credits.values("deal_id").distinct().count()
    return RoiReport(
        model=model,
        by=by,
        start=start,
        end=end,
        rows=rows,
        totals=_totals(rows, deal_count=deal_count),
        model_rows=model_rows,
        model_totals=_model_totals(model_rows),
    )


@dataclass
class ModelRevenue:
    """Every model's revenue side by side, per campaign (or channel), and their totals."""

    rows: list[ModelRow]
    totals: ModelRow


def revenue_by_model(*, start: datetime, end: datetime, by: str = BY_CAMPAIGN) -> ModelRevenue:
    """The deals won in [start, end) credited per campaign (or channel) under each model, as
    roi_report's side-by-side table has them, without its spend and milestones: the credits
    (1 query) and the names of the campaigns credited (1)."""
    credited = _credited(DealCredit.objects.filter(won_at__gte=start, won_at__lt=end))
    ids = {key for key in credited if key is not None}
    campaigns = {c.id: c for c in Campaign.objects.filter(id__in=ids).only("id", "name", "channel")}
    rows = _model_rows(_Keys(campaigns, by), credited)
    return ModelRevenue(rows=rows, totals=_model_totals(rows))


@dataclass
class _Credited:
    """A campaign's (or version's) credits in a period: cents and deals under each model."""

    cents: dict[str, int]
    deals: dict[str, int]


def _version_report(*, model: str, start: datetime, end: datetime, credits: QuerySet[DealCredit]) -> RoiReport:
    """The rows per definition version (see the module), read from the rollups:

    1. the period's credits per version of the deal's lead, every model's cents and deals (1
       query: the credits joined to their deals and leads), and how many deals were won (1);
    2. the period's milestones per version, from the period index alone (1), and the names of
       the versions that have any figure (1);
    3. a row per version, and the totals.
    """
    credited = _version_credited(credits)
    milestones = (
        LeadMilestone.objects.filter(at__gte=start, at__lt=end)
        .values("version", "milestone")
        .annotate(n=Count("*"))
        .order_by()
    )
    figures: dict[int | None, dict[str, int]] = defaultdict(dict)
    for row in milestones:
        figures[row["version"]][MILESTONE_FIGURES[row["milestone"]]] = row["n"]
    keys = {*credited, *figures}
    names = dict(
        QualificationDefinition.objects.filter(version__in=[key for key in keys if key is not None]).values_list(
            "version", "name"
        )
    )
    rows: list[Row] = []
    model_rows: list[ModelRow] = []
    for key in keys:
        label = version_label(key, names.get(key, "") if key is not None else "")
        row = Row(key=key, label=label, **figures.get(key, {}))
        credit = credited.get(key)
        if credit is not None:
            row.revenue_cents, row.won_deals = credit.cents[model], credit.deals[model]
            model_rows.append(ModelRow(key=key, label=label, cents=dict(credit.cents)))
        rows.append(row)
    rows.sort(key=_order)
    model_rows.sort(key=_order)
    return RoiReport(
        model=model,
        by=BY_VERSION,
        start=start,
        end=end,
        rows=rows,
        totals=_totals(rows, deal_count=credits.values("deal_id").distinct().count()),
        model_rows=model_rows,
        model_totals=_model_totals(model_rows),
    )


def campaign_rows(*, campaign: Campaign, start: datetime, end: datetime) -> dict[str, Row]:
    """One campaign's ROI row under each model (its page's panel): the rows `roi_report` gives
    it per campaign, from the same reads narrowed to it (credits 1 query, spend and milestones 2)."""
    credit = _credited(DealCredit.objects.filter(won_at__gte=start, won_at__lt=end, campaign_id=campaign.id))
    figures = _campaign_figures(start=start, end=end, campaign_id=campaign.id).get(campaign.id, {})
    keys = _Keys({campaign.id: campaign}, BY_CAMPAIGN)
    empty = Row(key=campaign.id, **keys.labels(campaign.id))
    return {model: _rows(keys, {campaign.id: figures}, credit, model).get(campaign.id, empty) for model in MODELS}


def version_label(version: int | None, name: str = "") -> str:
    if version is None:
        return NO_VERSION
    return f"Version {version}" + (f" · {name}" if name else "")


def _version_credited(credits: QuerySet[DealCredit]) -> dict[int | None, _Credited]:
    """Per version of the won deal's lead (None: not qualified by a definition), every model's
    cents and the deals it credits (a deal's rows, one per campaign, all fall on one version)."""
    sums = {f"cents_{name}": Sum(name) for name in MODELS} | {
        f"deals_{name}": Count("deal_id", distinct=True, filter=Q(**{f"{name}__isnull": False})) for name in MODELS
    }
    rows = credits.values(key=F("deal__lead__qualified_version")).annotate(**sums).order_by()
    return {
        row["key"]: _Credited(
            cents={name: row[f"cents_{name}"] or 0 for name in MODELS},
            deals={name: row[f"deals_{name}"] for name in MODELS},
        )
        for row in rows
    }


def _credited(credits: QuerySet[DealCredit]) -> dict[int | None, _Credited]:
    """Per campaign id (None: deals without touches), every model's cents and the deals it
    credits the campaign in (a deal has one row per campaign, so its rows count its deals)."""
    sums = {f"cents_{name}": Sum(name) for name in MODELS} | {f"deals_{name}": Count(name) for name in MODELS}
    return {
        row["campaign_id"]: _Credited(
            cents={name: row[f"cents_{name}"] or 0 for name in MODELS},
            deals={name: row[f"deals_{name}"] for name in MODELS},
        )
        for row in credits.values("campaign_id").annotate(**sums).order_by()
    }


def _campaign_figures(
    *, start: datetime, end: datetime, campaign_id: int | None = None
) -> dict[int | None, dict[str, Any]]:
    """Spend, new leads and first stage entries per campaign id (None: leads without one), of
    every campaign or of `campaign_id` alone."""
    figures: dict[int | None, dict[str, Any]] = defaultdict(dict)
    one = {"campaign_id": campaign_id} if campaign_id is not None else {}
    costs = (
        CampaignCost.objects.filter(
            incurred_on__gte=timezone.localdate(start), incurred_on__lt=timezone.localdate(end), **one
        )
        .values("campaign_id")
        .annotate(spend=Sum("amount"))
        .order_by()
    )
    for row in costs:
        figures[row["campaign_id"]]["spend"] = row["spend"]
    milestones = (
        LeadMilestone.objects.filter(at__gte=start, at__lt=end, **one)
        .values("campaign_id", "milestone")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in milestones:
        figures[row["campaign_id"]][MILESTONE_FIGURES[row["milestone"]]] = row["n"]
    return figures


class _Keys:
    """Which row a campaign id falls on: its own, or its channel's; None stays "(no campaign)"."""

    def __init__(self, campaigns: dict[int, Campaign], by: str) -> None:
        self.campaigns, self.by = campaigns, by

    def key(self, campaign_id: int | None) -> Key:
        if campaign_id is None or campaign_id not in self.campaigns:  # none, or deleted since
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


def _rows(
    keys: _Keys, figures: dict[int | None, dict[str, Any]], credited: dict[int | None, _Credited], model: str
) -> dict[Key, Row]:
    """Rows for the campaigns with a figure or credited under `model`; per campaign, each
    deal counts on its campaign's row (per channel, `_channel_deals` counts them)."""
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
    for campaign_id, credit in credited.items():
        if credit.deals[model]:
            target = row(campaign_id)
            target.revenue_cents += credit.cents[model]
            target.won_deals += credit.deals[model]
    return rows


def _channel_deals(rows: dict[Key, Row], credits: QuerySet[DealCredit], model: str) -> None:
    """Per channel, the deals its campaigns are credited under `model`: a deal touched by two
    campaigns of one channel counts once on that channel's row."""
    per_channel = (
        credits.filter(**{f"{model}__isnull": False})
        .values("campaign__channel")
        .annotate(n=Count("deal_id", distinct=True))
        .order_by()
    )
    for row in per_channel:
        key = row["campaign__channel"]
        if key in rows:
            rows[key].won_deals = row["n"]


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


def _model_rows(keys: _Keys, credited: dict[int | None, _Credited]) -> list[ModelRow]:
    rows: dict[Key, ModelRow] = {}
    for campaign_id, credit in credited.items():
        if not any(credit.deals.values()):
            continue
        key = keys.key(campaign_id)
        if key not in rows:
            rows[key] = ModelRow(key=key, **keys.labels(key))
        for model, cents in credit.cents.items():
            rows[key].cents[model] += cents
    return sorted(rows.values(), key=_order)


def _model_totals(rows: Iterable[ModelRow]) -> ModelRow:
    totals = ModelRow(key="total", label="Total")
    for row in rows:
        for model, cents in row.cents.items():
            totals.cents[model] += cents
    return totals
