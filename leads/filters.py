"""The lead filters: one FilterSet shared by the API (`GET /api/v1/leads/`) and the HTML lead list.

Every value is validated: a bad stage, a score that is not a number or an ordering outside
the whitelist makes the form invalid, which the API answers with 400 and a message per
parameter (the page shows the form's errors). Nothing is silently ignored.
"""

from datetime import date, datetime, time, timedelta
from typing import Any

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from leads.models import Campaign, Lead, Persona, Stage

SEARCH_MAX_LENGTH = 200
SCORE_BOUND = 1_000_000
# Outside these years a timestamp cannot be shifted between time zones without overflowing.
YEAR_MIN, YEAR_MAX = 1900, 9000
# Parameters whose column lives elsewhere: scores are in LeadScore, and so is the copy of the
# last touch time that the list sorts by (the lead row keeps its touch columns unindexed).
ORDERING_COLUMNS = {"score": "scoring__score", "last_touch_at": "scoring__last_touch_at"}
ORDERING_FIELDS = ("created_at", "score", "last_name", "company", "email", "stage", "last_touch_at", "updated_at")


class DateOrDateTimeField(forms.Field):
    """Accepts a date (`2026-03-01`, as a date input sends) or an ISO date-time with zone."""

    default_error_messages = {
        "invalid": "Enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM:SS+00:00).",
        "range": f"Enter a date between {YEAR_MIN} and {YEAR_MAX}.",
    }

    def to_python(self, value: Any) -> date | datetime | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            parsed: date | datetime | None = parse_date(text) or parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if not YEAR_MIN <= parsed.year <= YEAR_MAX:
            raise ValidationError(self.error_messages["range"], code="range")
        if isinstance(parsed, datetime) and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed


class CreatedFilter(filters.Filter):
    """created_at from (inclusive) or until: a bare date means the whole day, in the instance's zone."""

    field_class = DateOrDateTimeField

    def __init__(self, *args: Any, until: bool = False, **kwargs: Any) -> None:
        self.until = until
        super().__init__(*args, field_name="created_at", **kwargs)

    def filter(self, qs: QuerySet, value: date | datetime | None) -> QuerySet:
        if value is None:
            return qs
        if isinstance(value, datetime):
            return qs.filter(created_at__lte=value) if self.until else qs.filter(created_at__gte=value)
        # A plain range on the column (not __date) so the created_at index serves it.
        start = timezone.make_aware(datetime.combine(value, time.min))
        if self.until:
            return qs.filter(created_at__lt=start + timedelta(days=1))
        return qs.filter(created_at__gte=start)


class StableOrderingFilter(filters.OrderingFilter):
    """The whitelisted ordering, with the id as tie-breaker so pages never repeat or skip rows."""

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        descending = ordering[-1].startswith("-")
        if any(field.lstrip("-").startswith("scoring__") for field in ordering):
            # Every lead has its score row: an inner join, with the tie broken on the score
            # table's own key, lets PostgreSQL walk the (score, lead) index instead of sorting.
            return qs.filter(scoring__isnull=False).order_by(
                *ordering, "-scoring__lead_id" if descending else "scoring__lead_id"
            )
        return qs.order_by(*ordering, "-id" if descending else "id")


def _owners(request: HttpRequest | None) -> QuerySet:
    return get_user_model().objects.order_by("username")


class IntegerFilter(filters.NumberFilter):
    # IntegerField, not the default DecimalField: "1e400" or "1.5" is refused with a message.
    field_class = forms.IntegerField


class LeadFilter(filters.FilterSet):
    """Filters for lead lists. Use `LeadFilter(request.GET, queryset=leads_visible_to(user))`."""

    q = filters.CharFilter(
        method="search",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        help_text="Name, email or company; every word must match.",
    )
    # One stage column: a lead matches at most one choice, so no DISTINCT (which costs a sort).
    stage = filters.MultipleChoiceFilter(choices=Stage.choices, label="Stage", distinct=False)
    owner = filters.ModelChoiceFilter(queryset=_owners, null_label="Unassigned", label="Owner")
    score_min = IntegerFilter(
        field_name="scoring__score",
        lookup_expr="gte",
        label="Score from",
        min_value=-SCORE_BOUND,
        max_value=SCORE_BOUND,
    )
    score_max = IntegerFilter(
        field_name="scoring__score",
        lookup_expr="lte",
        label="Score to",
        min_value=-SCORE_BOUND,
        max_value=SCORE_BOUND,
    )
    persona = filters.ModelChoiceFilter(field_name="scoring__persona", queryset=Persona.objects.all(), label="Persona")
    source = filters.CharFilter(field_name="source", max_length=100, label="Source")
    campaign = filters.ModelChoiceFilter(
        field_name="first_campaign", queryset=Campaign.objects.all(), label="Campaign (first touch)"
    )
    created_after = CreatedFilter(label="Created from")
    created_before = CreatedFilter(until=True, label="Created until")
    ordering = StableOrderingFilter(
        fields=[(ORDERING_COLUMNS.get(name, name), name) for name in ORDERING_FIELDS],
        label="Order by",
        help_text="created_at, score, last_name, company or updated_at; prefix - for descending.",
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        leads = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        ordering = data.get("ordering") or ["-created_at"]
        by_score = any(data.get(name) is not None for name in ("persona", "score_min", "score_max"))
        if by_score and ordering in (["created_at"], ["-created_at"]):
            # The same order read from the score row's copy of created_at: PostgreSQL walks an
            # index of the score table instead of probing it for every newest lead.
            sign = "-" if ordering == ["-created_at"] else ""
            leads = leads.order_by(f"{sign}scoring__created_at", f"{sign}scoring__lead_id")
        return leads

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        for word in value.split()[:5]:
            qs = qs.filter(
                Q(email__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company__icontains=word)
            )
        return qs


# Query parameters the API accepts besides the filters themselves.
LEAD_FILTER_PARAMS = frozenset(LeadFilter.base_filters)
