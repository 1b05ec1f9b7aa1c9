"""A pack as CSV: one figure a line (section, item, figure, value), so a spreadsheet filters it by
section; written through the shared writer, which neutralises would-be formulas in names."""

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from reports.pack.models import MeetingPack

AGREEMENT_FIGURES = {
    "mql_delivered": "MQLs delivered",
    "mql_target": "MQL target",
    "mql_pct": "MQLs, % of target",
    "mql_on_pace": "MQLs on pace for",
    "handed_off": "Handed to sales",
    "won": "Won so far",
    "won_revenue": "Won revenue",
    "close_rate_pct": "Close rate %",
    "close_target_pct": "Agreed close rate %",
    "handoffs": "Handoffs",
    "decided": "Handoffs due or touched",
    "in_time": "Touched in time",
    "touched_in_time_pct": "Touched in time %",
    "first_touch_target_pct": "Agreed in-time %",
}
WEEK_FIGURES = (
    "handed_off",
    "won",
    "won_revenue",
    "close_rate_pct",
    "handoffs",
    "decided",
    "in_time",
    "touched_in_time_pct",
)
DEAL_FIGURES = ("won", "lost", "win_rate", "won_revenue")
CAMPAIGN_FIGURES = ("channel", "revenue", "won_deals", "spend", "roi_pct")
VERSION_FIGURES = ("status", "decided", "accepted", "accepted_pct", "rejected", "recycled", *DEAL_FIGURES)


def pack_csv_rows(pack: MeetingPack) -> Iterator[list[Any]]:
    f = pack.figures
    yield from (["Week", f["week"], name, f[name]] for name in ("start", "end", "as_of", "currency"))
    month = f["agreement"]
    yield ["Agreement, month to date", month["month"], "month", month["month"]]
    for name, label in AGREEMENT_FIGURES.items():
        yield ["Agreement, month to date", label, name, _value(month[name])]
    for name in WEEK_FIGURES:
        yield ["Agreement, this week", AGREEMENT_FIGURES.get(name, name), name, _value(month["week"][name])]
    yield from (["Deals closed", "Total", name, _value(f["deals"][name])] for name in DEAL_FIGURES)
    yield from (["Lost reasons", row["label"], "deals", row["count"]] for row in f["deals"]["reasons"])
    for row in f["deals"]["by_rep"]:
        yield from (["Deals per rep", row["label"], name, _value(row[name])] for name in DEAL_FIGURES)
    for row in f["rejection_reasons"]:
        yield ["Why sales said no", row["label"], row["kind"], row["count"]]
    for row in f["campaigns"]:
        yield from (
            [f"Top campaigns ({f['attribution_model']})", row["label"], name, _value(row[name])]
            for name in CAMPAIGN_FIGURES
        )
    for row in f["versions"]:
        yield from (["Definition versions", row["label"], name, _value(row[name])] for name in VERSION_FIGURES)
    yield from (["First stage entries", row["stage"], "entries", row["entries"]] for row in f["funnel"])
    for item in f["action_items"]:
        yield from (["Action items", item["text"], name, item[name]] for name in ("owner", "due", "opened_week"))


def _value(value: Any) -> Any:
    """Stored amounts and percentages are exact decimal strings: back to numbers, so a negative
    ROI reaches the sheet as a number and not as text the writer guards as a formula."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value
