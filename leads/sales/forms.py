"""The sales pages' forms: activities and verdicts on a lead, deals, teams and assignment rules,
the lead page's hand-over.

Forms check shape and type only (a date is a date, an amount a non-negative number, a
reason one of the list's codes); what may happen now (the lead must be claimed, a closed
deal does not move, past months keep their agreement) is the services' to say, and their
SalesError is put on the form's field by `add_sales_error`.
"""

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from leads.models import Activity, AssignmentRule, DealStage, Persona, Reason, Team
from leads.sales.assignment import REGIONS
from leads.sales.manual_handoff import MAX_NOTE
from leads.sales.services import SalesError
from leads.sales.teams import MAX_CAPACITY, MAX_NAME
from smarketing.lib.forms import DateInput
from smarketing.roles import Role

MAX_AMOUNT = Decimal("999999999999.99")  # Deal.amount holds 14 digits, 2 after the point


MAX_TEXT = 10_000


def new_client_token() -> str:
    """A fresh token per rendered activity form: a resubmission of that render is one activity."""
    return uuid.uuid4().hex


def add_sales_error(form: forms.Form, error: SalesError) -> None:
    """Show a service's refusal on the field it names (or above the form)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def reason_choices(kind: str) -> list[tuple[str, str]]:
    rows = Reason.objects.filter(kind=kind, is_active=True).order_by("position", "id")
    return [("", "Choose a reason…"), *rows.values_list("code", "label")]


class ReasonField(forms.ChoiceField):
    """A code from one managed reason list; PageForm reads the list once per form."""

    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        messages = {"required": "Choose a reason from the list.", "invalid_choice": "Choose a reason from the list."}
        super().__init__(choices=[], error_messages=messages, **kwargs)


class PageForm(forms.Form):
    """Several of these forms share a page (the lead's, a deal's): each keeps its own element ids."""

    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, ReasonField):
                field.choices = reason_choices(field.kind)


class ActivityForm(PageForm):
    id_prefix = "activity"

    kind = forms.ChoiceField(
        label="Kind",
        choices=Activity.Kind.choices,
        error_messages={"invalid_choice": "Choose one of: " + ", ".join(Activity.Kind.labels).lower() + "."},
    )
    outcome = forms.CharField(
        label="Outcome", max_length=200, required=False, help_text="e.g. “Left a voicemail”, “Demo booked”."
    )
    next_step_on = forms.DateField(label="Next step on", required=False, widget=DateInput)
    note = forms.CharField(label="Note", max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    client_token = forms.CharField(max_length=64, widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_token", new_client_token())


class AcceptForm(PageForm):
    id_prefix = "accept"
    note = forms.CharField(label="Note (optional)", max_length=MAX_TEXT, required=False)


class RejectForm(PageForm):
    id_prefix = "reject"
    reason = ReasonField(kind=Reason.Kind.REJECT, label="Why not")
    text = forms.CharField(
        label="Explain", max_length=MAX_TEXT, required=False, help_text="Needed for “Other”; marketing reads it."
    )


class RecycleForm(PageForm):
    id_prefix = "recycle"
    reason = ReasonField(kind=Reason.Kind.RECYCLE, label="Why not now")
    revisit_on = forms.DateField(
        label="Revisit on",
        widget=DateInput,
        error_messages={"required": "Give the day the lead comes back for requalification."},
    )
    text = forms.CharField(label="Explain", max_length=MAX_TEXT, required=False)


def amount_field(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_value=MAX_AMOUNT,
        decimal_places=2,
        error_messages={
            "invalid": "Give the amount as a number, e.g. 1200 or 1200.50.",
            "min_value": "The amount cannot be negative.",
            "max_value": "That amount is too large for a deal.",
            "max_digits": "That amount is too large for a deal.",
            "max_decimal_places": "Give at most two decimals (cents).",
        },
        **kwargs,
    )


class DealMoveForm(PageForm):
    """The board's per-card control: any stage, won and lost included (lost needs a reason)."""

    id_prefix = "move"

    stage = forms.ModelChoiceField(
        label="Move to",
        queryset=DealStage.objects.order_by("position", "id"),
        empty_label=None,
        error_messages={"invalid_choice": "Choose a stage of the pipeline."},
    )
    reason = ReasonField(kind=Reason.Kind.LOST, label="Why lost", required=False)
    note = forms.CharField(label="Note", max_length=MAX_TEXT, required=False)

    def __init__(self, *args: Any, stages: QuerySet[DealStage] | list[DealStage] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if stages is not None:  # the board passes the stages it already read: no query per card
            self.fields["stage"].choices = [(stage.pk, stage.name) for stage in stages]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        stage = data.get("stage")
        if stage is not None and stage.outcome == DealStage.Outcome.LOST and not data.get("reason"):
            self.add_error("reason", "Say why the deal was lost: choose a reason.")
        return data


class DealEditForm(PageForm):
    id_prefix = "edit"
    name = forms.CharField(label="Name", max_length=200)
    amount = amount_field("Amount")
    expected_close_on = forms.DateField(label="Expected close", required=False, widget=DateInput)


class DealWonForm(PageForm):
    id_prefix = "won"
    amount = amount_field("Final amount", help_text="Leave empty to keep the deal's amount.")


class DealLostForm(PageForm):
    id_prefix = "lost"
    reason = ReasonField(kind=Reason.Kind.LOST, label="Why lost")
    note = forms.CharField(label="Note", max_length=MAX_TEXT, required=False, help_text="Needed for “Other”.")


ORDERINGS = {
    "-created_at": "Newest",
    "created_at": "Oldest",
    "-amount": "Amount, largest first",
    "amount": "Amount, smallest first",
    "expected_close_on": "Expected close, soonest first",
    "-expected_close_on": "Expected close, latest first",
    "name": "Name A→Z",
    "-name": "Name Z→A",
}


class DealListForm(forms.Form):
    """The deal list's filters, sort and page, from the query string."""

    stage = forms.ModelChoiceField(
        label="Stage",
        queryset=DealStage.objects.order_by("position", "id"),
        required=False,
        empty_label="All stages",
        error_messages={"invalid_choice": "Choose a stage of the pipeline."},
    )
    owner = forms.TypedChoiceField(label="Owner", coerce=int, required=False, empty_value=None)
    ordering = forms.ChoiceField(label="Sort", choices=list(ORDERINGS.items()), required=False)
    page = forms.IntegerField(label="Page", required=False, min_value=1, max_value=100_000)

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Every owner"), *owners]
        self.fields["owner"].error_messages["invalid_choice"] = "Choose an owner from the list."


# --- Handing a lead to sales by hand -------------------------------------------------------


def person_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class HandOffForm(PageForm):
    """The lead page's "Hand over to sales": a note, and optionally the rep or team to take it."""

    id_prefix = "handoff"

    note = forms.CharField(
        label="Note for sales",
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why now, and what the rep should know.",
    )
    target = forms.ChoiceField(
        label="Give it to",
        required=False,
        error_messages={"invalid_choice": "Choose a rep or a team from the list, or leave it to the rules."},
    )

    def __init__(self, *args: Any, teams: list[Team], reps: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = {f"team:{t.pk}": ("team", t) for t in teams} | {f"rep:{r.pk}": ("rep", r) for r in reps}
        self.fields["target"].choices = [
            ("", "Where the assignment rules place it"),
            ("Reps", [(f"rep:{r.pk}", person_label(r)) for r in reps]),
            ("Teams", [(f"team:{t.pk}", t.name) for t in teams]),
        ]

    def target_fields(self) -> dict[str, Any]:
        """`rep` or `team` for lead_hand_off_by_hand (neither: the rules place it)."""
        chosen = self.cleaned_data.get("target")
        if not chosen:
            return {}
        kind, target = self.targets[chosen]
        return {kind: target}


# --- Teams, reps and assignment rules --------------------------------------------------------


class TeamForm(PageForm):
    """A team's name, and (superusers only) its manager."""

    id_prefix = "team"

    name = forms.CharField(label="Team name", max_length=MAX_NAME)
    manager = forms.ModelChoiceField(
        label="Manager",
        queryset=None,
        required=False,
        empty_label="No manager (only administrators see it)",
        error_messages={"invalid_choice": "Choose a manager from the list."},
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.is_superuser:
            self.fields["manager"].queryset = managers()
        else:  # a manager's teams are their own
            del self.fields["manager"]


def managers() -> QuerySet:
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(Q(groups__name=Role.MANAGER.value) | Q(is_superuser=True)).distinct().order_by("username")


class RepAddForm(PageForm):
    id_prefix = "add"

    rep = forms.TypedChoiceField(
        label="Rep",
        coerce=int,
        error_messages={"required": "Choose a rep to add.", "invalid_choice": "Choose a rep from the list."},
    )
    capacity = forms.IntegerField(
        label="Capacity",
        required=False,
        min_value=0,
        max_value=MAX_CAPACITY,
        help_text="Most open leads at once; leave empty to keep theirs.",
    )

    def __init__(self, *args: Any, reps: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reps = {rep.pk: rep for rep in reps}
        self.fields["rep"].choices = [("", "Choose a rep…"), *[(rep.pk, _rep_label(rep)) for rep in reps]]

    def clean_rep(self) -> Any:
        return self.reps[self.cleaned_data["rep"]]


def _rep_label(rep: Any) -> str:
    profile = getattr(rep, "rep_profile", None)
    team = profile.team if profile is not None and profile.team_id else None
    return f"{person_label(rep)} (in {team})" if team else person_label(rep)


class RepProfileForm(forms.Form):
    """One rep's row on the team page: capacity and time away."""

    capacity = forms.IntegerField(
        label="Capacity",
        min_value=0,
        max_value=MAX_CAPACITY,
        error_messages={
            "required": "Give a capacity (0 takes no new leads).",
            "min_value": f"Give a capacity from 0 to {MAX_CAPACITY:,}.",
            "max_value": f"Give a capacity from 0 to {MAX_CAPACITY:,}.",
        },
    )
    away_from = forms.DateField(label="Away from", required=False, widget=DateInput)
    away_until = forms.DateField(label="Away until", required=False, widget=DateInput, help_text="Inclusive.")

    def __init__(self, *args: Any, rep_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"rep{rep_id}_%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("away_from"), data.get("away_until")
        if start and end and end < start:
            self.add_error("away_until", "The last day away cannot come before the first.")
        return data


def split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


class RuleForm(PageForm):
    """An assignment rule: conditions (each optional, all must hold) and where its leads go."""

    id_prefix = "rule"

    name = forms.CharField(label="Name", max_length=MAX_NAME)
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    regions = forms.MultipleChoiceField(
        label="Regions", required=False, widget=forms.CheckboxSelectMultiple, choices=[(r, r) for r in REGIONS]
    )
    countries = forms.CharField(
        label="Countries", required=False, max_length=1_000, help_text="Two-letter codes, comma-separated: ES, PT."
    )
    company_size_min = forms.IntegerField(label="Company size from", required=False, min_value=0, max_value=10**7)
    company_size_max = forms.IntegerField(label="Company size up to", required=False, min_value=0, max_value=10**7)
    industries = forms.CharField(
        label="Industries", required=False, max_length=2_000, help_text="Comma-separated, e.g. SaaS, Fintech."
    )
    personas = forms.ModelMultipleChoiceField(
        label="Personas", required=False, queryset=Persona.objects.order_by("name"), widget=forms.CheckboxSelectMultiple
    )
    sources = forms.CharField(
        label="Sources", required=False, max_length=2_000, help_text="First-touch sources, e.g. webinar, referral."
    )
    target = forms.ChoiceField(
        label="Send its leads to",
        error_messages={
            "required": "Choose a team or a rep.",
            "invalid_choice": "Choose a team or a rep from the list.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = list(Team.objects.order_by("name"))
        reps = list(get_user_model().objects.filter(is_active=True, groups__name=Role.SALES.value).order_by("username"))
        self.targets = {f"team:{t.pk}": ("team", t) for t in teams} | {f"rep:{r.pk}": ("rep", r) for r in reps}
        self.fields["target"].choices = [
            ("", "Choose a team or a rep…"),
            ("Teams", [(f"team:{t.pk}", t.name) for t in teams]),
            ("Reps", [(f"rep:{r.pk}", person_label(r)) for r in reps]),
        ]

    @classmethod
    def initial_for(cls, rule: AssignmentRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            "regions": rule.regions,
            "countries": ", ".join(rule.countries),
            "company_size_min": rule.company_size_min,
            "company_size_max": rule.company_size_max,
            "industries": ", ".join(rule.industries),
            "personas": list(rule.personas.all()),
            "sources": ", ".join(rule.sources),
            "target": f"team:{rule.team_id}" if rule.team_id else f"rep:{rule.rep_id}",
        }

    def rule_fields(self) -> dict[str, Any]:
        """What assignment_rule_save takes."""
        data = self.cleaned_data
        kind, target = self.targets[data["target"]]
        return {
            "name": data["name"],
            "is_active": data["is_active"],
            "regions": data["regions"],
            "countries": split_list(data["countries"]),
            "company_size_min": data["company_size_min"],
            "company_size_max": data["company_size_max"],
            "industries": split_list(data["industries"]),
            "personas": list(data["personas"]),
            "sources": split_list(data["sources"]),
            "team": target if kind == "team" else None,
            "rep": target if kind == "rep" else None,
        }
