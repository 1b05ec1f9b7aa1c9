"""The lead pages' forms (saved views, bulk owner, edit, merge, import) and the reads behind them.

The list's filters come from the query string through leads.filters.LeadFilter, the same
FilterSet the API uses: a hostile value becomes a message per field, never a 500.
leads_count counts the result without scanning millions of rows; lead_timeline merges a
lead's events and stage changes for its page.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from leads.filters import LeadFilter
from leads.models import LEAD_PROFILE_FIELDS, CaptureForm, Event, Lead, SavedView, Stage
from smarketing.roles import Role, has_role

LEADS_PER_PAGE = 50
MAX_PAGE = 100_000
ID_LIMIT = 2**63 - 1
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


class ListPageForm(forms.Form):
    """The list's page number (the filters themselves are LeadFilter's)."""

    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, label="Page")


# --- Selectors --------------------------------------------------------------------------


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
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Lead._meta.db_table])
        row = cursor.fetchone()
    # -1 means the table was never analysed: ask the planner instead.
    return int(row[0]) if row and row[0] >= 0 else None


def _plan_estimate(leads: QuerySet[Lead]) -> int:
    statement, params = leads.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, params)
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


# --- Saved views ------------------------------------------------------------------------


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100, label="View name")
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
    shared = forms.BooleanField(required=False, label="Share with everyone")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if SavedView.objects.filter(owner=self.user, name=name).exists():
            raise ValidationError(f"You already have a view called “{name}”; pick another name.")
        return name

    def clean_query(self) -> str:
        params = QueryDict(self.cleaned_data["query"])
        if not lead_filter(params, Lead.objects.none()).is_valid():
            raise ValidationError("The view's filters are not valid; fix them on the list first.")
        return list_query(params)

    def clean_shared(self) -> bool:
        shared = self.cleaned_data["shared"]
        if shared and not has_role(self.user, Role.MARKETING, Role.MANAGER):
            raise ValidationError("Only Marketing and managers share views with everyone.")
        return shared


def saved_view_create(*, owner: Any, name: str, query: str, shared: bool) -> SavedView:
    return SavedView.objects.create(owner=owner, name=name, query=query, shared=shared)


def saved_view_delete(*, view: SavedView) -> None:
    view.delete()


# --- Editing and merging ----------------------------------------------------------------

EDITABLE_FIELDS = list(LEAD_PROFILE_FIELDS)
COMPANY_SIZE_LIMIT = 10_000_000


class LeadEditForm(forms.ModelForm):
    class Meta:
        model = Lead
        # Not the email: it is the lead's identity; two addresses of one person are merged.
        fields = EDITABLE_FIELDS
        help_texts = {"country": "Two letters, ISO 3166 (ES, MX, US).", "company_size": "Employees."}

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise ValidationError("Give the two-letter country code, e.g. ES or US.")
        return country

    def clean_company_size(self) -> int | None:
        size = self.cleaned_data["company_size"]
        if size is not None and size > COMPANY_SIZE_LIMIT:
            raise ValidationError(f"Give a number of employees up to {COMPANY_SIZE_LIMIT:,}.")
        return size


class MergeSearchForm(forms.Form):
    email = forms.CharField(max_length=254, label="Email of the lead to merge in", strip=True)


# --- Imports ----------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 text, first row the column names, up to 200 MB.")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise ValidationError(f"The file is {upload.size // 2**20} MB; the limit is {self.max_bytes // 2**20} MB.")
        if not upload.size:
            raise ValidationError("The file is empty.")
        return upload


class ImportMappingForm(forms.Form):
    """One choice per CSV column: the lead field it fills, or nothing."""

    def __init__(
        self, *args: Any, headers: list[str], fields: dict[str, str], guesses: dict[int, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— skip this column —"), *fields.items()]
        self.field_labels = fields
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label=header or f"Column {index + 1}", initial=guesses.get(index, "")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        seen: dict[str, str] = {}
        for name, target in list(data.items()):  # add_error removes from cleaned_data
            if not target:
                continue
            if target in seen:
                self.add_error(name, f"{self.field_labels[target]} is already filled from “{seen[target]}”.")
            seen[target] = self.fields[name].label
        if "email" not in seen:
            raise ValidationError("Choose the column that holds the email address: it is required.")
        return data

    def mapping(self) -> dict[str, int]:
        """{lead field: column index} for the chosen columns."""
        return {target: int(name.removeprefix("col_")) for name, target in self.cleaned_data.items() if target}


# --- The list's page and bulk actions ---------------------------------------------------


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


BULK_LIMIT = 1_000


class BulkOwnerForm(forms.Form):
    """A selection of leads and the owner they get ("null": nobody)."""

    lead = forms.CharField(required=False)  # one value per checkbox, read with getlist
    owner = forms.CharField(max_length=20, error_messages={"required": "Choose the new owner."})

    def __init__(self, data: QueryDict, *, owners: QuerySet) -> None:
        super().__init__(data)
        self.owners = owners
        self.lead_values = data.getlist("lead")

    def clean_lead(self) -> list[int]:
        if not self.lead_values:
            raise ValidationError("Select at least one lead.")
        if len(self.lead_values) > BULK_LIMIT:
            raise ValidationError(f"Select at most {BULK_LIMIT:,} leads at a time.")
        if not all(value.isdigit() and int(value) <= ID_LIMIT for value in self.lead_values):
            raise ValidationError("The selection holds something that is not a lead; reload the page and select again.")
        return sorted({int(value) for value in self.lead_values})

    def clean_owner(self) -> int | None:
        owner = self.cleaned_data["owner"]
        if owner == "null":
            return None
        if owner.isdigit() and int(owner) <= ID_LIMIT and self.owners.filter(pk=int(owner)).exists():
            return int(owner)
        raise ValidationError("Choose an owner from the list of sales reps.")


# --- The lead page ----------------------------------------------------------------------

TIMELINE_KINDS = {"all": "Everything", "events": "Touchpoints", "stages": "Stage changes"}
TIMELINE_PAGE = 50
TIMELINE_MAX_PAGE = 20


class TimelineForm(forms.Form):
    kind = forms.ChoiceField(
        required=False,
        choices=list(TIMELINE_KINDS.items()),
        error_messages={"invalid_choice": "Show one of: " + ", ".join(TIMELINE_KINDS) + "."},
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=TIMELINE_MAX_PAGE)


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
