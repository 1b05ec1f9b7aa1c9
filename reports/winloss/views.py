"""The win/loss page (/reports/win-loss/): a month's deals won and lost by reason per group, what
sales rejected or recycled and why, per group, per reason and per qualifying rule; each table as CSV."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from reports.winloss.forms import WinLossQueryForm
from reports.winloss.selectors import GROUPING_LABELS, DecisionRow, Row, WinLossReport, win_loss_report
from smarketing.lib.csv_export import csv_stream
from smarketing.lib.periods import month_bounds
from smarketing.roles import Role, role_required

EXPORTS = ("deals", "verdicts", "reasons", "rules")
FINDINGS_SHOWN = 5


@role_required(Role.MARKETING, Role.MANAGER)
def win_loss_page(request: HttpRequest) -> HttpResponse:
    form = WinLossQueryForm(request.GET)
    valid = form.is_valid()
    chosen = form.choices()
    start, end = month_bounds(chosen["month"])
    report = win_loss_report(start=start, end=end, by=chosen["by"])
    export = request.GET.get("export")
    if valid and export in EXPORTS:
        return _csv(report, chosen, export)
    context = {
        "form": form,
        "report": report,
        "month": chosen["month"],
        "by_label": GROUPING_LABELS[report.by],
        "findings": report.findings[:FINDINGS_SHOWN],
        "currency": settings.CURRENCY,
        "query": f"month={chosen['month']:%Y-%m}&by={report.by}",
    }
    return render(request, "reports/winloss.html", context, status=200 if valid else 400)


def _csv(report: WinLossReport, chosen: dict[str, Any], export: str) -> StreamingHttpResponse:
    """One table as CSV, through the one writer (names are users' text: formulas neutralised)."""
    group = GROUPING_LABELS[report.by]
    if export == "deals":
        header: Sequence[str] = [group, "Won", "Lost", "Win rate %", "Won revenue", "Lost reasons"]
        lines: Iterable[Sequence[Any]] = (_deal_line(row) for row in [*report.deals, report.deals_totals])
    elif export == "verdicts":
        header = [group, *DECISION_HEADER]
        lines = (_decision_line(row) for row in [*report.decisions, report.decisions_totals])
    elif export == "reasons":
        header = ["Reason", *DECISION_HEADER]
        lines = (_decision_line(row) for row in report.reasons)
    else:
        header = ["Qualifying rule", *DECISION_HEADER]
        lines = (_decision_line(row) for row in report.rules)
    name = f"win-loss-{chosen['month']:%Y-%m}-{export}" + (f"-{report.by}" if export in ("deals", "verdicts") else "")
    response = StreamingHttpResponse(csv_stream(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


DECISION_HEADER = ["Decided", "Accepted", "Rejected", "Recycled", "Reasons"]


def _reasons_text(row: Row | DecisionRow) -> str:
    return "; ".join(
        f"{reason.kind} {reason.label}: {reason.count} ({reason.share} %)"
        if isinstance(row, DecisionRow)
        # a lost deal's reason needs no "lost" before it
        else f"{reason.label}: {reason.count}"
        for reason in row.reasons
    )


def _deal_line(row: Row) -> list[Any]:
    return [row.label, row.won, row.lost, row.win_rate, row.won_revenue, _reasons_text(row)]


def _decision_line(row: DecisionRow) -> list[Any]:
    return [row.label, row.decided, row.accepted, row.rejected, row.recycled, _reasons_text(row)]
