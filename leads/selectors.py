"""Reads on leads reused by pages, the API and reports."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leads import sql as leads_sql
from leads.filters import LeadFilter
from leads.models import FUNNEL, CaptureForm, Event, Lead, SavedView, Stage
from smarketing.lib import sql
from smarketing.lib.periods import month_start
from smarketing.roles import Role, has_role

LEADS_PER_PAGE = 50
EXACT_COUNT_LIMIT = 10_000  # above this the list says "about N"


# The list's filters are the API's (leads.filters.LeadFilter): one source of truth.
FILTER_KEYS = tuple(LeadFilter.base_filters)


DEFAULT_ORDERING = "-created_at"


def lead_filter(params: QueryDict, leads: QuerySet[Lead]) -> LeadFilter:
    return LeadFilter(params, queryset=leads)


def leads_filtered(filterset: LeadFilter) -> QuerySet[Lead]:
    """A valid filterset's leads, without the DISTINCT django-filter adds for several stages.

    No lead filter joins a to-many table, so rows never repeat, and DISTINCT over a million
    leads turns a 1 ms index scan into a sort of every matching row.
    """
    leads = filterset.qs.all()
    leads.query.distinct = False
    return leads


@dataclass
class LeadCount:
    value: int
    exact: bool


def leads_count(leads: QuerySet[Lead], *, limit: int = EXACT_COUNT_LIMIT) -> LeadCount:
    """How many leads match: exact up to `limit`, above it the planner's estimate.

    1. Count at most limit + 1 rows (a bounded scan, however big the table).
    2. Past the limit on PostgreSQL: the table's row estimate (pg_class.reltuples) when
       nothing is filtered, else EXPLAIN's row estimate for the query. SQLite has
       neither, so it counts exactly.
    """
    leads = leads.order_by()
    bounded = leads[: limit + 1].count()
    if bounded <= limit or connection.vendor != "postgresql":
        return LeadCount(bounded if bounded <= limit else leads.count(), exact=True)
    estimate = _table_estimate() if not leads.query.where else None
    if estimate is None:
        estimate = _plan_estimate(leads)
    return LeadCount(max(estimate, limit + 1), exact=False)


def _table_estimate() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(leads_sql.TABLE_ESTIMATE, table=Lead._meta.db_table))
        row = cursor.fetchone()
    # -1 means the table was never analysed: ask the planner instead.
    return int(row[0]) if row and row[0] >= 0 else None


def _plan_estimate(leads: QuerySet[Lead]) -> int:
    statement, params = leads.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(leads_sql.plan(statement), params)
        plan = cursor.fetchone()[0]
    return int(plan[0]["Plan"]["Plan Rows"])


def list_query(params: QueryDict) -> str:
    """The filters of a query string in one canonical spelling (no page), for saved views."""
    pairs = [(key, value) for key in FILTER_KEYS for value in params.getlist(key) if value.strip()]
    return urlencode(pairs)


def default_views() -> list[dict[str, str]]:
    """The tabs everyone gets, before their own saved views."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return [
        {"name": "New this week", "query": urlencode({"created_after": monday.isoformat()})},
        {"name": "MQLs not yet accepted", "query": urlencode({"stage": Stage.MQL})},
        {"name": "Recycled to nurture", "query": urlencode({"stage": Stage.RECYCLED})},
    ]


def saved_views_for(user: Any) -> QuerySet[SavedView]:
    return SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "pk")


@dataclass
class LeadPage:
    """One page of the list. Its count may be an estimate, so "next" is known by fetching one row more."""

    number: int
    object_list: list[Lead]
    has_next: bool
    count: LeadCount

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def num_pages(self) -> int:
        return max(-(-self.count.value // LEADS_PER_PAGE), self.number, 1)

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def leads_page(leads: QuerySet[Lead], *, number: int) -> LeadPage:
    start = (number - 1) * LEADS_PER_PAGE
    rows = list(leads.select_related("owner", "scoring__persona", "first_campaign")[start : start + LEADS_PER_PAGE + 1])
    return LeadPage(
        number=number, object_list=rows[:LEADS_PER_PAGE], has_next=len(rows) > LEADS_PER_PAGE, count=leads_count(leads)
    )


TIMELINE_PAGE = 50


TIMELINE_MAX_PAGE = 20


@dataclass
class TimelineItem:
    kind: str  # "event" or "stage"
    at: datetime
    row: Any


def _name_forms(events: list[Event]) -> None:
    """Form submissions carry the form's key; show its name (one query for the page)."""
    keys = {
        str(e.properties.get("form")) for e in events if isinstance(e.properties, dict) and e.properties.get("form")
    }
    names = dict(CaptureForm.objects.filter(key__in=keys).values_list("key", "name")) if keys else {}
    for event in events:
        form_key = event.properties.get("form") if isinstance(event.properties, dict) else None
        event.form_name = names.get(str(form_key), "") if form_key else ""


def lead_timeline(lead: Lead, *, kind: str = "all", page: int = 1) -> tuple[list[TimelineItem], bool]:
    """Events and stage changes in one list, newest first; returns (items, has_more).

    Each source is read newest first up to the end of the page (two queries, bounded by the
    page number), then the two are merged by time.
    """
    wanted = page * TIMELINE_PAGE + 1
    items: list[TimelineItem] = []
    if kind in ("all", "events"):
        events = list(lead.events.select_related("campaign").order_by("-occurred_at", "-id")[:wanted])
        _name_forms(events)
        items += [TimelineItem("event", event.occurred_at, event) for event in events]
    if kind in ("all", "stages"):
        changes = lead.stage_changes.select_related("changed_by").order_by("-changed_at", "-id")[:wanted]
        items += [TimelineItem("stage", change.changed_at, change) for change in changes]
    items.sort(key=lambda item: item.at, reverse=True)
    start = (page - 1) * TIMELINE_PAGE
    return items[start : start + TIMELINE_PAGE], len(items) > page * TIMELINE_PAGE


def leads_visible_to(user: Any, *, work: bool = False) -> QuerySet[Lead]:
    """The leads this user may open (`work=False`) or work as sales (`work=True`): the one rule
    for leads, which every page and API view asks.

    Open: marketing and managers every lead; a rep the leads they own.
    Work (log an activity, accept, reject, recycle, open a deal): a rep the leads they own; a
    manager their teams' leads (held by one of their reps, or waiting in one of their teams'
    pools); a superuser every lead. Marketers work none.
    """
    if work:
        return _leads_worked_by(user)
    if has_role(user, Role.MANAGER, Role.MARKETING):
        return Lead.objects.all()
    if has_role(user, Role.SALES):
        return Lead.objects.filter(owner=user)
    return Lead.objects.none()


def _leads_worked_by(user: Any) -> QuerySet[Lead]:
    if getattr(user, "is_superuser", False):
        return Lead.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.MANAGER):
        scope |= Q(owner__rep_profile__team__manager=user) | Q(handoff__team__manager=user)
    if has_role(user, Role.SALES):
        scope |= Q(owner=user)
    # One-to-one joins (owner → profile, lead → handoff): no duplicate rows, no DISTINCT needed.
    return Lead.objects.filter(scope)


def lead_for_user(user: Any, pk: int, *, work: bool = False) -> Lead:
    """The lead if this user may open (or work) it, else 404: another rep's lead does not exist
    for you, and a 403 would confirm that it does."""
    # The erasure too (a left join): pages say whether the lead was erased without a query more.
    leads = leads_visible_to(user, work=work).select_related(
        "scoring__persona", "owner", "first_campaign", "erasure__erased_by"
    )
    return get_object_or_404(leads, pk=pk)


def lead_may_work(user: Any, lead: Lead) -> bool:
    return leads_visible_to(user, work=True).filter(pk=lead.pk).exists()


def stage_counts(leads: QuerySet[Lead]) -> list[dict[str, Any]]:
    """Leads per stage, every stage listed (zeros included), in funnel order."""
    counts = dict(leads.order_by().values_list("stage").annotate(n=Count("id")))
    order = [*FUNNEL, Stage.RECYCLED, Stage.DISQUALIFIED]
    return [{"stage": stage, "label": Stage(stage).label, "count": counts.get(stage, 0)} for stage in order]


def leads_new_this_month(leads: QuerySet[Lead]) -> int:
    return leads.filter(created_at__gte=month_start()).count()


def leads_recent(leads: QuerySet[Lead], limit: int = 10) -> QuerySet[Lead]:
    return leads.select_related("owner", "first_campaign", "scoring").order_by("-created_at", "-id")[:limit]
