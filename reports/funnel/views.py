"""The funnel page (/reports/funnel/): for a range of months, the cohort table, the period's
stage entries and the velocity of its moves; each table as CSV."""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from leads.models import FUNNEL, Stage
from reports.funnel.forms import FunnelQueryForm
from reports.funnel.selectors import CohortRow, StageRow, VelocityRow, funnel_by_cohort, funnel_by_period, velocity
from smarketing.lib.csv_export import csv_stream
from smarketing.lib.periods import month_bounds
from smarketing.roles import Role, role_required

EXPORTS = ("cohorts", "entries", "velocity")
PCT = Decimal("0.1")


def pct(rate: Decimal | None) -> Decimal | None:
    """A rate as a percentage to one place; None stays None."""
    return None if rate is None else (rate * 100).quantize(PCT)


@role_required(Role.MARKETING, Role.MANAGER)
def funnel_page(request: HttpRequest) -> HttpResponse:
    form = FunnelQueryForm(request.GET)
    valid = form.is_valid()
    chosen = form.choices()
    start, end = month_bounds(chosen["start"])[0], month_bounds(chosen["end"])[1]
    export = request.GET.get("export")
    if valid and export in EXPORTS:
        return _csv(export, chosen, start=start, end=end)
    context = {
        "form": form,
        "first": chosen["start"],
        "last": chosen["end"],
        "stages": [Stage(stage).label for stage in FUNNEL],
        "cohorts": [_cohort(row) for row in funnel_by_cohort(start=start, end=end)],
        "entries": [
            (Stage(row.stage).label, row.entries, pct(row.rate_to_next))
            for row in funnel_by_period(start=start, end=end)
        ],
        "moves": [_move(row) for row in velocity(start=start, end=end)],
        "query": f"start={chosen['start']:%Y-%m}&end={chosen['end']:%Y-%m}",
    }
    return render(request, "reports/funnel.html", context, status=200 if valid else 400)


def _cohort(row: CohortRow) -> dict[str, Any]:
    return {"month": row.month, "leads": row.leads, "cells": [(count, pct(rate)) for _, count, rate in row.cells]}


def _move(row: VelocityRow) -> tuple[str, str, int, Decimal | None]:
    return (Stage(row.from_stage).label, Stage(row.to_stage).label, row.moves, row.median_days)


def _csv(export: str, chosen: dict[str, date], *, start: Any, end: Any) -> StreamingHttpResponse:
    """One table as CSV, through the shared writer (rates as percentages)."""
    header: Sequence[str]
    lines: Iterable[Sequence[Any]]
    if export == "cohorts":
        header = cohort_header()
        lines = (cohort_line(row) for row in funnel_by_cohort(start=start, end=end))
    elif export == "entries":
        header = ["Stage", "First entries", "Rate to the next stage (%)"]
        lines = (_entries_line(row) for row in funnel_by_period(start=start, end=end))
    else:
        header = ["From", "To", "Moves", "Median days"]
        lines = (_move(row) for row in velocity(start=start, end=end))
    name = f"funnel-{export}-{chosen['start']:%Y-%m}-to-{chosen['end']:%Y-%m}.csv"
    response = StreamingHttpResponse(csv_stream(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def cohort_header() -> list[str]:
    """The cohort table's CSV header (the dashboard's too): each stage, and its rate to the next."""
    labels = [Stage(stage).label for stage in FUNNEL]
    header = ["Cohort month", "Leads"]
    for label, following in zip(labels, [*labels[1:], None], strict=True):
        header += [label, f"{label} → {following} (%)"] if following else [label]
    return header


def cohort_line(row: CohortRow) -> list[Any]:
    line: list[Any] = [f"{row.month:%Y-%m}", row.leads]
    for stage, count, rate in row.cells:
        line += [count] if stage == FUNNEL[-1] else [count, pct(rate)]
    return line


def _entries_line(row: StageRow) -> list[Any]:
    return [Stage(row.stage).label, row.entries, pct(row.rate_to_next)]
