"""The dashboard's period picker and filters, read from the query string.

A period is a month, a quarter or a custom range of days; the filters narrow the leads the
funnel, velocity, pipeline, won revenue and reasons count. The form is always bound, with
defaults for what the query leaves out, so the pickers show what the page shows; a bad value
is a message on its own field (and the page answers 400, showing the defaults for that field).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from leads.models import FUNNEL, Campaign, Channel, DealStage, Lead, Persona, QualificationDefinition
from reports.attribution.forms import recent_months
from smarketing.lib.forms import DateInput
from smarketing.lib.periods import month_first, next_month

MONTH, QUARTER, CUSTOM = "month", "quarter", "custom"
PERIODS = [(MONTH, "Month"), (QUARTER, "Quarter"), (CUSTOM, "From … to …")]
QUARTERS_OFFERED = 12
LONGEST_RANGE_DAYS = 731  # two years: the cohort table has a row per month of the range
FILTERS = ("campaign", "channel", "persona", "version")


def quarter_first(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def recent_quarters(count: int = QUARTERS_OFFERED) -> list[date]:
    """This quarter's first day and the ones before it, newest first."""
    quarters = [quarter_first(timezone.localdate())]
    while len(quarters) < count:
        quarters.append(quarter_first(quarters[-1] - timedelta(days=1)))
    return quarters


def quarter_key(first: date) -> str:
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Period:
    """[start, end) in the instance's zone, its first and last day, and how the page names it."""

    start: datetime
    end: datetime
    first_day: date
    last_day: date
    label: str

    @property
    def last_month(self) -> date:
        return month_first(self.last_day)


def period_of_days(first_day: date, last_day: date, label: str) -> Period:
    start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), datetime.min.time()))
    return Period(start=start, end=end, first_day=first_day, last_day=last_day, label=label)


def month_period(first: date) -> Period:
    return period_of_days(first, next_month(first) - timedelta(days=1), f"{first:%B %Y}")


def quarter_period(first: date) -> Period:
    last = next_month(next_month(next_month(first))) - timedelta(days=1)
    return period_of_days(first, last, f"Q{(first.month - 1) // 3 + 1} {first.year}")


@dataclass(frozen=True)
class Filters:
    """The chosen campaign, channel, persona and definition version (None: any)."""

    campaign: Campaign | None = None
    channel: str | None = None
    persona: Persona | None = None
    version: int | None = None

    def leads(self) -> QuerySet[Lead] | None:
        """The leads these filters keep, or None when there is no filter (so reads add no subquery).
        A lead's campaign and channel are its first touch's, as in the lead list and win/loss."""
        lookups: dict[str, Any] = {}
        if self.campaign is not None:
            lookups["first_campaign"] = self.campaign
        if self.channel:
            # The channel's campaigns by id (a query of a few rows): then PostgreSQL knows how many
            # leads they hold, where through a join it guessed a few and read them one by one.
            lookups["first_campaign__in"] = list(
                Campaign.objects.filter(channel=self.channel).values_list("pk", flat=True)
            )
        if self.persona is not None:
            lookups["scoring__persona"] = self.persona
        if self.version is not None:
            lookups["qualified_version"] = self.version
        return Lead.objects.filter(**lookups) if lookups else None

    def params(self) -> dict[str, str]:
        """The filters as query parameters, for links that keep them."""
        values = {
            "campaign": self.campaign.pk if self.campaign else None,
            "channel": self.channel,
            "persona": self.persona.pk if self.persona else None,
            "version": self.version,
        }
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    @property
    def active(self) -> bool:
        return bool(self.params())


class DashboardQueryForm(forms.Form):
    period = forms.ChoiceField(label="Period", choices=PERIODS, required=False)
    month = forms.ChoiceField(label="Month", required=False)
    quarter = forms.ChoiceField(label="Quarter", required=False)
    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To", required=False, widget=DateInput)
    campaign = forms.ModelChoiceField(
        label="Campaign",
        queryset=Campaign.objects.order_by("name", "id"),
        required=False,
        empty_label="Every campaign",
        error_messages={"invalid_choice": "Choose a campaign from the list."},
    )
    channel = forms.ChoiceField(
        label="Channel",
        choices=[("", "Every channel"), *Channel.choices],
        required=False,
        error_messages={"invalid_choice": "Choose a channel from the list."},
    )
    persona = forms.ModelChoiceField(
        label="Persona",
        queryset=Persona.objects.order_by("name", "id"),
        required=False,
        empty_label="Every persona",
        error_messages={"invalid_choice": "Choose a persona from the list."},
    )
    version = forms.TypedChoiceField(
        label="Definition version",
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a definition version from the list."},
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        today = timezone.localdate()
        defaults = {
            "period": MONTH,
            "month": f"{month_first(today):%Y-%m}",
            "quarter": quarter_key(quarter_first(today)),
        }
        super().__init__(defaults | {key: value for key, value in (data or {}).items() if value}, **kwargs)
        self.fields["month"].choices = [(f"{month:%Y-%m}", f"{month:%B %Y}") for month in recent_months()]
        self.fields["quarter"].choices = [
            (quarter_key(first), quarter_period(first).label) for first in recent_quarters()
        ]
        versions = QualificationDefinition.objects.order_by("-version").values_list("version", flat=True)
        self.fields["version"].choices = [("", "Every version"), *((v, f"Version {v}") for v in versions)]
        for name in ("month", "quarter"):
            self.fields[name].error_messages["invalid_choice"] = f"Choose a {name} from the list."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("period") == CUSTOM:
            start, end = data.get("start"), data.get("end")
            for name in ("start", "end"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "Give both days of a custom period.")
            if start and end and end < start:
                self.add_error("end", "The last day cannot come before the first.")
            elif start and end and (end - start).days >= LONGEST_RANGE_DAYS:
                self.add_error("end", "Choose at most two years.")
        return data

    def chosen_period(self) -> Period:
        """The chosen period when it is valid, else this month."""
        data = self.cleaned_data
        kind = data.get("period")
        if kind == CUSTOM and data.get("start") and data.get("end"):
            start, end = data["start"], data["end"]
            return period_of_days(start, end, f"{start.day} {start:%b %Y} to {end.day} {end:%b %Y}")
        if kind == QUARTER and data.get("quarter"):
            year, number = data["quarter"].split("-Q")
            return quarter_period(date(int(year), 3 * int(number) - 2, 1))
        if kind == MONTH and data.get("month"):
            return month_period(date.fromisoformat(f"{data['month']}-01"))
        return month_period(month_first())

    def chosen_filters(self) -> Filters:
        """The filters that are valid (a bad one is left out and said on the page)."""
        data = self.cleaned_data
        return Filters(
            campaign=data.get("campaign"),
            channel=data.get("channel") or None,
            persona=data.get("persona"),
            version=data.get("version"),
        )


FIGURES = [
    ("created", "Leads created"),
    ("cohort", "Cohort reached a stage"),
    ("entered", "First entries into a stage"),
    ("moved", "Moves on from a stage"),
    ("won", "Deals won"),
    ("lost", "Deals lost"),
    ("pipeline", "Open deals"),
    ("verdict", "Sales' verdicts"),
    ("mql_delivered", "MQLs delivered"),
    ("handed_off", "Handed to sales"),
    ("accepted", "Accepted by sales"),
    ("in_time", "Touched in time"),
    ("late", "Not touched in time"),
    ("won_handoff", "Handoffs won"),
]
NEEDS_STAGE = ("cohort", "entered", "moved")
NEEDS_MONTH = ("mql_delivered", "handed_off", "accepted", "in_time", "late", "won_handoff")
VERDICT_CHOICES = [("accepted", "Accepted"), ("rejected", "Rejected"), ("recycled", "Recycled")]


class FigureForm(forms.Form):
    """Which figure's leads to list: its name, its days (from, to) or month, and what it needs."""

    figure = forms.ChoiceField(
        label="Figure",
        choices=FIGURES,
        error_messages={"required": "Say which figure.", "invalid_choice": "No such figure."},
    )
    month = forms.DateField(label="Month", required=False, input_formats=["%Y-%m"])
    stage = forms.ChoiceField(label="Stage", choices=[("", "—"), *((s.value, s.label) for s in FUNNEL)], required=False)
    deal_stage = forms.ModelChoiceField(
        label="Deal stage", queryset=DealStage.objects.filter(outcome=DealStage.Outcome.OPEN), required=False
    )
    verdict = forms.ChoiceField(label="Verdict", choices=[("", "—"), *VERDICT_CHOICES], required=False)
    reason = forms.CharField(label="Reason", max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" and "to" are the link's words for the days; Python names cannot be "from".
        self.fields["from"] = forms.DateField(label="From", required=False)
        self.fields["to"] = forms.DateField(label="To", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        figure = data.get("figure")
        if figure in NEEDS_MONTH:
            if not data.get("month") and "month" not in self.errors:
                self.add_error("month", "Give the month (YYYY-MM).")
            return data
        start, end = data.pop("from", None), data.pop("to", None)
        if figure and not (start and end) and not {"from", "to"} & set(self.errors):
            self.add_error("to", "Give the first and last day (YYYY-MM-DD).")
        elif start and end and end < start:
            self.add_error("to", "The last day cannot come before the first.")
        elif start and end and (end - start).days >= LONGEST_RANGE_DAYS:
            self.add_error("to", "Choose at most two years.")
        data["start"], data["end"] = start, end
        if figure in NEEDS_STAGE and not data.get("stage") and "stage" not in self.errors:
            self.add_error("stage", "Give the stage.")
        return data
