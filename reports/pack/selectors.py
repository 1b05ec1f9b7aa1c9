"""Reads for the weekly meeting pack: the ISO weeks, a week's figures, the packs built so far and
the action items a week's meeting sees.

A week is an ISO week (Monday to Sunday) in the instance's zone, named like 2026-W49. Its figures
come from the reports' own selectors over [Monday 00:00, next Monday 00:00), so the pack never
says something the agreement, win/loss, ROI or funnel pages would say differently:

- the agreement (reports.selectors): the month of the week's Sunday, as it stood when the week
  ended (or now, for a week not over yet), and the week's own handoff cohort and first touches;
- wins and losses (reports.winloss.selectors.deals_closed): the week's closed deals per rep, and
  the lost ones per reason;
- why sales said no (rejections per reason), the top MEETING_PACK_TOP;
- the top campaigns by revenue attributed under settings.MEETING_PACK_ATTRIBUTION_MODEL
  (reports.attribution.selectors.roi_report), the top MEETING_PACK_TOP;
- each definition version's leads: the week's verdicts and closed deals per version, the active
  version first;
- the week's first stage entries (reports.funnel.selectors.funnel_by_period);
- the action items open when the pack was built.

Figures are stored as JSON: money and percentages as strings of their exact decimals.
"""

from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from leads.models import QualificationDefinition
from leads.models.qualification import DefinitionStatus
from leads.sales.selectors import first_touch_figures
from reports.attribution.selectors import roi_report
from reports.funnel.selectors import funnel_by_period
from reports.pack.models import ActionItem, MeetingPack, iso_week_name
from reports.selectors import agreement_attainment, cohort_figures
from reports.winloss.selectors import BY_REASON, BY_REP, BY_VERSION, deals_closed, deals_totals, pct, rejections

AGREEMENT_KEYS = (
    "mql_delivered",
    "mql_target",
    "mql_pct",
    "mql_on_pace",
    "handed_off",
    "won",
    "won_revenue",
    "close_rate_pct",
    "close_quota",
    "close_per",
    "close_target_pct",
    "handoffs",
    "decided",
    "in_time",
    "touched_in_time_pct",
    "first_touch_target_pct",
)


# --- Weeks ---------------------------------------------------------------------------------


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    """The week as [Monday 00:00, next Monday 00:00), aware, in the instance's zone."""
    start = timezone.make_aware(datetime.combine(monday, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(monday + timedelta(days=7), datetime.min.time()))
    return start, end


def last_week(now: datetime | None = None) -> date:
    """Monday of the last whole week: the one a Monday-morning meeting looks back on."""
    return week_monday(timezone.localdate(now or timezone.now())) - timedelta(days=7)


def pack_due_at(now: datetime) -> datetime:
    """When this week's build of last week's pack is due: MEETING_PACK_DAY at MEETING_PACK_HOUR
    of the week `now` is in, in the instance's zone."""
    monday = week_monday(timezone.localdate(now))
    day = monday + timedelta(days=settings.DAY_NAMES.index(settings.MEETING_PACK_DAY))
    return timezone.make_aware(datetime.combine(day, time(settings.MEETING_PACK_HOUR)))


def week_parse(name: str) -> date:
    """The Monday of an ISO week named like 2026-W49; ValueError with a message otherwise."""
    year, sep, week = name.strip().upper().partition("-W")
    if not (sep and year.isdigit() and len(year) == 4 and week.isdigit() and len(week) <= 2):
        raise ValueError("Name a week as YYYY-Www, for example 2026-W49.")
    try:
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError as error:
        raise ValueError(f"{year} has no week {int(week)}.") from error


# --- A week's figures ------------------------------------------------------------------------


def pack_figures(*, monday: date, now: datetime | None = None, top: int | None = None) -> dict[str, Any]:
    """Everything the pack shows for the week starting `monday`, as JSON-ready values."""
    now = now or timezone.now()
    top = top or settings.MEETING_PACK_TOP
    start, end = week_bounds(monday)
    as_of = min(now, end)
    deals = deals_closed(start=start, end=end, by=BY_REP)
    totals = deals_totals(deals)
    reasons = rejections(start=start, end=end, by=BY_REASON)
    model = settings.MEETING_PACK_ATTRIBUTION_MODEL
    roi = roi_report(model=model, start=start, end=end)
    figures = {
        "week": iso_week_name(monday),
        "start": monday,
        "end": monday + timedelta(days=6),
        "as_of": as_of,
        "currency": settings.CURRENCY,
        "attribution_model": model,
        "agreement": _agreement(start=start, end=end, as_of=as_of),
        "deals": {**_deal_row(totals), "reasons": _lost_reasons(totals), "by_rep": [_deal_row(row) for row in deals]},
        "rejection_reasons": [_decision_row(row) for row in reasons if row.key != "accepted"][:top],
        "campaigns": _top_campaigns(roi.rows, top),
        "campaign_revenue_total": roi.totals.revenue,
        "versions": _versions(start=start, end=end),
        "funnel": [{"stage": row.stage, "entries": row.entries} for row in funnel_by_period(start=start, end=end)],
        "action_items": [_action_item(item) for item in action_items_open(monday=monday, at=as_of)],
    }
    return _plain(figures)


def _agreement(*, start: datetime, end: datetime, as_of: datetime) -> dict[str, Any]:
    """The month to date as the week closed, and the week's own handoffs and first touches."""
    month = agreement_attainment(month=timezone.localdate(end - timedelta(seconds=1)), now=as_of)
    return {
        "month": month["month"],
        **{key: month[key] for key in AGREEMENT_KEYS},
        "week": {**cohort_figures(start=start, end=end), **first_touch_figures(start=start, end=end, now=as_of)},
    }


def _deal_row(row: Any) -> dict[str, Any]:
    return {
        "label": row.label,
        "won": row.won,
        "lost": row.lost,
        "win_rate": row.win_rate,
        "won_revenue": row.won_revenue,
    }


def _lost_reasons(row: Any) -> list[dict[str, Any]]:
    return [{"label": reason.label, "count": reason.count, "share": reason.share} for reason in row.reasons]


def _decision_row(row: Any) -> dict[str, Any]:
    """A rejection-reasons row: one reason's rejections or recycles (the key says which)."""
    kind = str(row.key).partition(":")[0]
    return {"label": row.label, "kind": kind, "count": row.rejected + row.recycled}


def _top_campaigns(rows: list[Any], top: int) -> list[dict[str, Any]]:
    earning = sorted((row for row in rows if row.revenue_cents), key=lambda row: (-row.revenue_cents, row.label))
    return [
        {
            "label": row.label,
            "channel": row.channel_label,
            "revenue": row.revenue,
            "won_deals": row.won_deals,
            "spend": row.spend,
            "roi_pct": row.roi_pct,
        }
        for row in earning[:top]
    ]


def _versions(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per definition version whose leads were decided on or closed in the week (and the active
    one, even when quiet): the verdicts and closed deals; the active version first."""
    decided = {row.key: row for row in rejections(start=start, end=end, by=BY_VERSION)}
    closed = {row.key: row for row in deals_closed(start=start, end=end, by=BY_VERSION)}
    statuses = dict(QualificationDefinition.objects.values_list("version", "status"))
    active = next((version for version, status in statuses.items() if status == DefinitionStatus.ACTIVE), None)
    keys = set(decided) | set(closed) | ({active} if active is not None else set())
    rows = []
    for key in sorted(keys, key=lambda k: (k != active, k is None, -(k or 0))):
        verdicts, deals = decided.get(key), closed.get(key)
        named = verdicts or deals
        row = {
            "version": key,
            "label": named.label if named else f"v{key}",
            "status": statuses.get(key, ""),
            "decided": verdicts.decided if verdicts else 0,
            "accepted": verdicts.accepted if verdicts else 0,
            "accepted_pct": pct(verdicts.accepted, verdicts.decided) if verdicts else None,
            "rejected": verdicts.rejected if verdicts else 0,
            "recycled": verdicts.recycled if verdicts else 0,
        }
        deal_figures = _deal_row(deals) if deals else _no_deals()
        rows.append(row | {name: value for name, value in deal_figures.items() if name != "label"})
    return rows


def _no_deals() -> dict[str, Any]:
    return {"won": 0, "lost": 0, "win_rate": None, "won_revenue": Decimal("0.00")}


def _action_item(item: ActionItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "text": item.text,
        "owner": person_name(item.owner),
        "due": item.due,
        "opened_week": iso_week_name(item.opened_week),
        "closed_at": item.closed_at,
    }


def person_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _plain(value: Any) -> Any:
    """JSON-ready: decimals as exact strings, dates and times in ISO form, dataclasses as dicts."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- Packs and action items ------------------------------------------------------------------


def packs_list() -> QuerySet[MeetingPack]:
    return MeetingPack.objects.order_by("-week_start")


def pack_for_week(monday: date) -> MeetingPack:
    pack = MeetingPack.objects.filter(week_start=monday).first()
    if pack is None:
        raise Http404(f"No meeting pack has been built for {iso_week_name(monday)}.")
    return pack


def action_items_open(*, monday: date, at: datetime) -> QuerySet[ActionItem]:
    """The items opened in or before the week and not closed by `at`: what the week carries."""
    opened = ActionItem.objects.filter(opened_week__lte=monday)
    return opened.filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at)).select_related("owner").order_by("id")


def action_items_for_week(monday: date) -> QuerySet[ActionItem]:
    """The items a week's page lists: opened in or before the week, and still open or closed
    no earlier than the week began (closed ones show as done that week, then drop off)."""
    start, _ = week_bounds(monday)
    opened = ActionItem.objects.filter(opened_week__lte=monday)
    return (
        opened.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=start))
        .select_related("owner", "closed_by", "created_by")
        .order_by(F("closed_at").asc(nulls_first=True), "opened_week", "id")
    )
