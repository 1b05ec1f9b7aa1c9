"""The ROI page (/reports/roi/): a month's ROI per campaign, channel or definition version under
a chosen model, every model's attributed revenue side by side, and each table as CSV; and a
campaign's own figures (/reports/campaigns/<pk>/roi/), the panel its page loads (leads never
imports reports: the page names this URL only)."""

import csv
from collections.abc import Iterable
from decimal import Decimal
from io import StringIO
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from leads.capture.exports import csv_safe
from leads.models import Campaign
from reports.attribution.credits import LINEAR, MODELS
from reports.attribution.forms import CampaignRoiForm, RoiQueryForm
from reports.attribution.selectors import (
    BY_VERSION,
    GROUPING_LABELS,
    ModelRow,
    RoiReport,
    Row,
    campaign_rows,
    roi_report,
)
from smarketing.lib.periods import month_bounds
from smarketing.roles import Role, role_required

EXPORTS = ("rows", "models")
ROW_COLUMNS = [
    ("Spend", "spend"),
    ("Leads", "leads"),
    ("MQLs", "mqls"),
    ("SQLs", "sqls"),
    ("Opportunities", "opportunities"),
    ("Customers", "customers"),
    ("Won deals", "won_deals"),
    ("Attributed revenue", "revenue"),
    ("ROI", "roi"),
    ("Cost per lead", "cost_per_lead"),
    ("Cost per MQL", "cost_per_mql"),
    ("Cost per SQL", "cost_per_sql"),
    ("Cost per customer", "cost_per_customer"),
]
# Spend is a campaign's: a version's row has none, so no ROI or cost per figure either.
SPENT = {"spend", "roi", "cost_per_lead", "cost_per_mql", "cost_per_sql", "cost_per_customer"}
VERSION_COLUMNS = [(label, name) for label, name in ROW_COLUMNS if name not in SPENT]


def columns_for(by: str) -> list[tuple[str, str]]:
    return VERSION_COLUMNS if by == BY_VERSION else ROW_COLUMNS


@role_required(Role.MARKETING, Role.MANAGER)
def roi_page(request: HttpRequest) -> HttpResponse:
    form = RoiQueryForm(request.GET)
    valid = form.is_valid()
    chosen = form.choices()
    start, end = month_bounds(chosen["month"])
    report = roi_report(model=chosen["model"], start=start, end=end, by=chosen["by"])
    export = request.GET.get("export")
    if valid and export in EXPORTS:
        return _csv(report, chosen, export)
    context = {
        "form": form,
        "report": report,
        "month": chosen["month"],
        "model_label": MODELS[report.model],
        "models": MODELS,
        "columns": columns_for(report.by),
        "by_label": GROUPING_LABELS[report.by],
        "per_version": report.by == BY_VERSION,
        "currency": settings.CURRENCY,
        "query": f"month={chosen['month']:%Y-%m}&model={report.model}&by={report.by}",
    }
    return render(request, "reports/roi.html", context, status=200 if valid else 400)


@role_required(Role.MARKETING, Role.MANAGER)
def campaign_roi(request: HttpRequest, pk: int) -> HttpResponse:
    """A campaign's figures for a month, under every model: the panel on its page (htmx), or a
    page of its own when opened without scripts."""
    campaign = get_object_or_404(Campaign.objects.only("id", "name", "channel"), pk=pk)
    form = CampaignRoiForm(request.GET, auto_id="campaign-roi-%s")
    month = form.chosen_month()
    start, end = month_bounds(month)
    rows = campaign_rows(campaign=campaign, start=start, end=end)
    row = rows[LINEAR]  # the figures every model shares: spend, leads and stage entries
    context = {
        "campaign": campaign,
        "form": form,
        "month": month,
        "row": row,
        "models": [(label, rows[model]) for model, label in MODELS.items()],
        "quiet": not any((row.spend, row.leads, row.mqls, row.sqls, row.opportunities, row.customers, row.won_deals)),
        "roi_url": f"{reverse('reports:roi')}?month={month:%Y-%m}&by=campaign#roi-campaign-{campaign.pk}",
    }
    template = "reports/campaign_roi.html" if request.htmx else "reports/campaign_roi_page.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


def _csv(report: RoiReport, chosen: dict[str, Any], export: str) -> HttpResponse:
    """One table as CSV; names are the users' own text, so a would-be formula is neutralised."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    # Per version there is no channel: the second column is the campaigns' and channels' only.
    first = [GROUPING_LABELS[report.by]] + ([] if report.by == BY_VERSION else ["Channel"])
    columns = columns_for(report.by)
    if export == "rows":
        writer.writerow([*first, *(label for label, _ in columns)])
        lines: Iterable[list[Any]] = (_row_line(row, report.by) for row in [*report.rows, report.totals])
    else:
        writer.writerow([*first, *MODELS.values()])
        lines = (_model_line(row, report.by) for row in [*report.model_rows, report.model_totals])
    writer.writerows(lines)
    name = f"roi-{chosen['month']:%Y-%m}-{report.by}-{report.model if export == 'rows' else 'models'}.csv"
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return csv_safe(value) if isinstance(value, str) else value


def _names(row: Row | ModelRow, by: str) -> list[Any]:
    return [_cell(row.label)] + ([] if by == BY_VERSION else [_cell(row.channel_label)])


def _row_line(row: Row, by: str) -> list[Any]:
    return [*_names(row, by), *(_cell(getattr(row, name)) for _, name in columns_for(by))]


def _model_line(row: ModelRow, by: str) -> list[Any]:
    revenue: dict[str, Decimal] = row.revenue
    return [*_names(row, by), *(revenue[model] for model in MODELS)]
