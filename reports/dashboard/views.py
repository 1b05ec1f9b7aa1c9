"""The alignment dashboard (/reports/dashboard/, a manager's landing page) and the leads behind
each of its figures (/reports/dashboard/leads/).

Thin views: the forms read the period and filters, `reports.dashboard.selectors` reads the
figures; what is here only shapes them for the page: each figure with the link to its leads,
the charts' numbers as JSON for static/js/dashboard.js, and each table as CSV (`?export=`).
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from leads.models import FUNNEL, Stage
from leads.selectors import leads_visible_to
from reports.attribution.credits import MODELS
from reports.attribution.selectors import revenue_by_model
from reports.dashboard.forms import DashboardQueryForm, FigureForm, Filters, Period
from reports.dashboard.selectors import (
    AGREEMENT_FIGURES,
    Dashboard,
    MonthAttainment,
    agreement_leads,
    dashboard,
    mqls_delivered,
    period_leads,
)
from reports.funnel.views import cohort_header, cohort_line, pct
from reports.selectors import agreement_attainment
from reports.winloss.selectors import ACCEPTED, RECYCLED, REJECTED
from smarketing.lib.csv_export import csv_stream
from smarketing.lib.periods import month_bounds, month_first
from smarketing.roles import Role, role_required

ANY_ROLE = (Role.MARKETING, Role.SALES, Role.MANAGER)
LEADS_PER_PAGE = 50


@role_required(*ANY_ROLE)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    return dashboard_response(request)


def dashboard_response(request: HttpRequest) -> HttpResponse:
    """The page for the query's period and filters (also the manager's home page)."""
    form = DashboardQueryForm(request.GET)
    valid = form.is_valid()
    period, filters = form.chosen_period(), form.chosen_filters()
    figures = dashboard(start=period.start, end=period.end, last_month=period.last_month, leads=filters.leads())
    export = request.GET.get("export")
    if valid and export in EXPORTS:
        return _csv(figures, period, export)
    links = Links(period, filters)
    context = {
        "form": form,
        "period": period,
        "filters": filters,
        "attainment": agreement_attainment(delivered=mqls_delivered(month_first())),
        "trend": [_month(row, links) for row in figures.trend],
        "stages": [Stage(stage).label for stage in FUNNEL],
        "cohorts": _cohorts(figures, links, period),
        "entries": _entries(figures, links),
        "moves": _moves(figures, links),
        "pipeline": _pipeline(figures, links),
        "pipeline_total": figures.pipeline_total,
        "pipeline_url": links.period("pipeline"),
        "deals": figures.deals,
        "won_url": links.period("won"),
        "lost_url": links.period("lost"),
        "reasons": [
            {"row": row, "url": links.period("verdict", verdict=row.verdict, reason=row.label)}
            for row in figures.reasons
        ],
        "decided": figures.decided,
        "verdicts_url": links.period("verdict"),
        "revenue": revenue_by_model(start=period.start, end=period.end),
        "models": list(MODELS.values()),
        "currency": settings.CURRENCY,
        "roi_url": f"{reverse('reports:roi')}?month={period.last_month:%Y-%m}",
        "charts": _charts(figures),
        "export_query": urlencode([(key, value) for key, value in request.GET.items() if key != "export"]),
    }
    return render(request, "reports/dashboard/dashboard.html", context, status=200 if valid else 400)


class Links:
    """Links to the leads behind a figure: the figure, its range of days and the filters."""

    def __init__(self, period: Period, filters: Filters) -> None:
        self.period_days = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
        self.filters = filters.params()

    def period(self, figure: str, *, days: dict[str, str] | None = None, **extra: Any) -> str:
        params = {"figure": figure, **(days or self.period_days), **self.filters}
        params |= {key: str(value) for key, value in extra.items() if value is not None}
        return f"{reverse('reports:dashboard-leads')}?{urlencode(params)}"

    def agreement(self, figure: str, month: date) -> str:
        # The agreement is the whole teams': its links carry no filter.
        return f"{reverse('reports:dashboard-leads')}?{urlencode({'figure': figure, 'month': f'{month:%Y-%m}'})}"


def _month(row: MonthAttainment, links: Links) -> dict[str, Any]:
    return {"row": row} | {f"{figure}_url": links.agreement(figure, row.month) for figure in AGREEMENT_FIGURES}


def _entries(figures: Dashboard, links: Links) -> list[dict[str, Any]]:
    return [
        {
            "label": Stage(row.stage).label,
            "entries": row.entries,
            "rate": pct(row.rate_to_next),
            "url": links.period("entered", stage=row.stage),
        }
        for row in figures.entries
    ]


def _moves(figures: Dashboard, links: Links) -> list[dict[str, Any]]:
    return [
        {
            "from": Stage(row.from_stage).label,
            "to": Stage(row.to_stage).label,
            "moves": row.moves,
            "median_days": row.median_days,
            "url": links.period("moved", stage=row.from_stage),
        }
        for row in figures.moves
    ]


def _pipeline(figures: Dashboard, links: Links) -> list[dict[str, Any]]:
    """The open deals now: the links carry the period's days, which the figure does not read."""
    return [
        {
            "stage": row.stage,
            "deals": row.deals,
            "amount": row.amount,
            "url": links.period("pipeline", deal_stage=row.stage_id),
        }
        for row in figures.pipeline
    ]


def _cohorts(figures: Dashboard, links: Links, period: Period) -> list[dict[str, Any]]:
    """Each cohort month's cells with their links (a month's part of the period only)."""
    rows = []
    for row in figures.cohorts:
        first = max(row.month, period.first_day)
        last = min(_month_last_day(row.month), period.last_day)
        days = {"from": first.isoformat(), "to": last.isoformat()}
        rows.append(
            {
                "month": row.month,
                "leads": row.leads,
                "leads_url": links.period("created", days=days),
                "cells": [
                    (count, pct(rate), links.period("cohort", days=days, stage=stage))
                    for stage, count, rate in row.cells
                ],
            }
        )
    return rows


def _month_last_day(first: date) -> date:
    return month_bounds(first)[1].date() - timedelta(days=1)


def _number(value: Decimal | float | int | None) -> float | None:
    """JSON for Chart.js: plain numbers (a Decimal would be a string), None for no value."""
    return None if value is None else float(value)


def _charts(figures: Dashboard) -> dict[str, Any]:
    """The charts' numbers; each table beside a chart shows the same numbers."""
    months = [f"{row.month:%b %Y}" for row in figures.trend]
    totals = [sum(row.counts[stage] for row in figures.cohorts) for stage in FUNNEL]
    return {
        "marketing": {
            "integer": True,
            "labels": months,
            "datasets": [
                {"label": "MQLs delivered", "data": [row.mql_delivered for row in figures.trend]},
                {"label": "MQL target", "type": "line", "data": [row.mql_target for row in figures.trend]},
                {"label": "Handoffs accepted", "data": [row.accepted for row in figures.trend]},
            ],
        },
        "sales": {
            "unit": "%",
            "labels": months,
            "datasets": [
                {"label": "Touched in time", "data": [_number(row.touched_in_time_pct) for row in figures.trend]},
                {
                    "label": "Touch target",
                    "dashed": True,
                    "data": [row.first_touch_target_pct for row in figures.trend],
                },
                {"label": "Close rate", "data": [_number(row.close_rate_pct) for row in figures.trend]},
                {"label": "Agreed close rate", "dashed": True, "data": [r.close_target_pct for r in figures.trend]},
            ],
            "type": "line",
        },
        "funnel": {
            "integer": True,
            "labels": [Stage(stage).label for stage in FUNNEL],
            "datasets": [
                {"label": "Reached (cohorts)", "data": totals},
                {"label": "First entries (period)", "data": [row.entries for row in figures.entries]},
            ],
        },
        "velocity": {
            "unit": " days",
            "horizontal": True,
            "labels": [f"{Stage(row.from_stage).label} → {Stage(row.to_stage).label}" for row in figures.moves],
            "datasets": [{"label": "Median days", "data": [_number(row.median_days) for row in figures.moves]}],
        },
        "pipeline": {
            "labels": [row.stage for row in figures.pipeline],
            "datasets": [{"label": "Open deals' amount", "data": [_number(row.amount) for row in figures.pipeline]}],
        },
        "reasons": {
            "integer": True,
            "horizontal": True,
            "labels": [row.label for row in figures.reasons],
            "datasets": [{"label": "Leads", "data": [row.leads for row in figures.reasons]}],
        },
    }


# --- Each table as CSV -------------------------------------------------------------------------

EXPORTS = ("marketing", "sales", "entries", "cohorts", "velocity", "pipeline", "reasons")


def _csv(figures: Dashboard, period: Period, export: str) -> StreamingHttpResponse:
    """One of the page's tables as CSV, its figures as the page shows them (percentages as
    numbers), through the one writer: stage and reason names are users' text, made safe."""
    header, lines = _table(figures, export)
    name = f"dashboard-{export}-{period.first_day:%Y-%m-%d}-to-{period.last_day:%Y-%m-%d}.csv"
    response = StreamingHttpResponse(csv_stream(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _table(figures: Dashboard, export: str) -> tuple[Sequence[str], Iterable[Sequence[Any]]]:
    if export == "marketing":
        header = ["Month", "MQLs delivered", "MQL target", "MQLs of target (%)", "Handed off", "Accepted"]
        return header + ["Accepted (%)"], (
            [f"{r.month:%Y-%m}", r.mql_delivered, r.mql_target, _whole(r.mql_pct), r.handed_off, r.accepted]
            + [_whole(r.accepted_pct)]
            for r in figures.trend
        )
    if export == "sales":
        header = ["Month", "Handoffs decided", "Touched in time", "Late", "Touched in time (%)", "Target (%)"]
        header += ["Handed off", "Won", "Close rate (%)", "Agreed close rate (%)", "Won revenue"]
        return header, (_sales_line(r) for r in figures.trend)
    if export == "entries":
        return ["Stage", "First entries", "Rate to the next stage (%)"], (
            [Stage(r.stage).label, r.entries, pct(r.rate_to_next)] for r in figures.entries
        )
    if export == "cohorts":
        return cohort_header(), (cohort_line(row) for row in figures.cohorts)
    if export == "velocity":
        return ["From", "To", "Moves", "Median days"], (
            [Stage(r.from_stage).label, Stage(r.to_stage).label, r.moves, r.median_days] for r in figures.moves
        )
    if export == "pipeline":
        total = figures.pipeline_total
        lines = [[r.stage, r.deals, _cents(r.amount)] for r in figures.pipeline]
        lines.append(["Total", total.deals, _cents(total.amount)])
        return ["Deal stage", "Open deals", "Amount"], lines
    return ["Reason", "Verdict", "Leads", "Share of verdicts (%)"], (
        [r.label, r.verdict, r.leads, r.share] for r in figures.reasons
    )


def _cents(amount: Decimal) -> Decimal:
    """An amount to the cent (SQLite's sums lose the column's places)."""
    return Decimal(amount).quantize(Decimal("0.01"))


def _whole(percent: float | None) -> int | None:
    """A percentage rounded to no places (as the page shows it) without a trailing ".0"."""
    return None if percent is None else int(percent)


def _sales_line(r: MonthAttainment) -> list[Any]:
    return [
        f"{r.month:%Y-%m}",
        r.decided,
        r.in_time,
        r.late,
        _whole(r.touched_in_time_pct),
        r.first_touch_target_pct,
        r.handed_off,
        r.won,
        r.close_rate_pct,
        r.close_target_pct,
        _cents(r.won_revenue),
    ]


# --- The leads behind a figure ----------------------------------------------------------------


FIGURE_TITLES = {
    "created": "Leads created {days}",
    "cohort": "Leads created {days} that reached {stage}",
    "entered": "Leads that first entered {stage} {days}",
    "moved": "Leads that moved on from {stage} {days}",
    "won": "Leads whose deals were won {days}",
    "lost": "Leads whose deals were lost {days}",
    "pipeline": "Leads with an open deal{deal_stage} now",
    "verdict": "Leads {verdict}{reason} {days}",
    "mql_delivered": "Leads that became MQL in {month}",
    "handed_off": "Leads handed to sales in {month}",
    "accepted": "Leads handed to sales in {month} that sales accepted",
    "in_time": "Leads handed to sales in {month} first touched in time",
    "late": "Leads handed to sales in {month} not touched in time",
    "won_handoff": "Leads handed to sales in {month} that sales has won",
}


VERDICT_WORDS = {ACCEPTED: "sales accepted", REJECTED: "sales rejected", RECYCLED: "sales recycled"}


@role_required(*ANY_ROLE)
def dashboard_leads(request: HttpRequest) -> HttpResponse:
    """The leads behind one figure, as its read counts them; a rep sees their own among them."""
    query = DashboardQueryForm(request.GET)
    figure_form = FigureForm(request.GET)
    valid = query.is_valid() & figure_form.is_valid()  # both run, so every message shows
    context: dict[str, Any] = {"query": query, "figure_form": figure_form}
    if not valid:
        return render(request, "reports/dashboard/leads.html", context, status=400)
    data, filters = figure_form.cleaned_data, query.chosen_filters()
    behind = _behind(data, filters)
    visible = behind.filter(pk__in=leads_visible_to(request.user).values("pk"))
    page = Paginator(visible.select_related("owner").order_by("-created_at", "-id"), LEADS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context |= {
        "title": _title(data),
        "filters": filters,
        "total": behind.count(),
        "page": page,
        "back": f"{reverse('reports:dashboard')}?{_back_query(data, filters)}",
    }
    return render(request, "reports/dashboard/leads.html", context)


def _behind(data: dict[str, Any], filters: Filters) -> Any:
    figure = data["figure"]
    if figure in AGREEMENT_FIGURES:
        return agreement_leads(figure=figure, month=data["month"])
    start = datetime.combine(data["start"], datetime.min.time())
    end = datetime.combine(data["end"] + timedelta(days=1), datetime.min.time())
    return period_leads(
        figure=figure,
        start=timezone.make_aware(start),
        end=timezone.make_aware(end),
        leads=filters.leads(),
        stage=data.get("stage") or None,
        deal_stage=data.get("deal_stage"),
        verdict=data.get("verdict") or None,
        reason=data.get("reason") or None,
    )


def _title(data: dict[str, Any]) -> str:
    days = ""
    if data.get("start"):
        start, end = data["start"], data["end"]
        days = (
            f"on {start.day} {start:%b %Y}"
            if start == end
            else f"from {start.day} {start:%b %Y} to {end.day} {end:%b %Y}"
        )
    stage = data.get("stage")
    deal_stage = data.get("deal_stage")
    verdict = data.get("verdict")
    return FIGURE_TITLES[data["figure"]].format(
        days=days,
        stage=Stage(stage).label if stage else "",
        deal_stage=f" in {deal_stage.name}" if deal_stage else "",
        verdict=VERDICT_WORDS.get(verdict or "", "sales accepted, rejected or recycled"),
        reason=f" as “{data['reason']}”" if data.get("reason") else "",
        month=f"{data['month']:%B %Y}" if data.get("month") else "",
    )


def _back_query(data: dict[str, Any], filters: Filters) -> str:
    """The dashboard for the figure's days (a custom period) and the same filters."""
    if data.get("start"):
        days = {"period": "custom", "start": data["start"].isoformat(), "end": data["end"].isoformat()}
    else:
        days = {"period": "month", "month": f"{data['month']:%Y-%m}"}
    return urlencode(days | filters.params())
