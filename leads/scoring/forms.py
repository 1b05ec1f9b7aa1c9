"""Forms for marketing's scoring pages and the qualification-definition builder.

Persona conditions are edited as rows, a scoring rule as one form whose fields depend on
its kind, and a definition's rule trees as nested fieldsets whose inputs are named by their
place in the tree (``mql-0-2-event`` is the event of the third rule in the first group of the
MQL tree). So the server rebuilds the JSON from a plain POST, with or without JavaScript,
and every add, remove or change is one round trip that htmx swaps in place.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.http import QueryDict

from leads.conditions import NO_VALUE_OPERATORS, OPERATORS, condition_errors, condition_value, value_text
from leads.models import LEAD_ATTRIBUTE_FIELDS, Persona, ScoringRule

FIELD_CHOICES = list(LEAD_ATTRIBUTE_FIELDS.items())


OPERATOR_CHOICES = list(OPERATORS.items())


MAX_CONDITIONS = 30


CONDITIONS_PREFIX = "conditions"


CONDITION_KEYS = ("field", "op", "value", "weight")


class PersonaForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), help_text="Who this buyer is."
    )

    def __init__(self, *args: Any, persona: Persona | None = None, **kwargs: Any) -> None:
        self.persona = persona
        if persona is not None and "data" not in kwargs and not args:
            kwargs.setdefault("initial", {"name": persona.name, "description": persona.description})
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = Persona.objects.filter(name__iexact=name)
        if self.persona is not None:
            taken = taken.exclude(pk=self.persona.pk)
        if taken.exists():
            raise ValidationError("Another persona already has this name; choose another.")
        return name


class ConditionForm(forms.Form):
    field = forms.ChoiceField(choices=FIELD_CHOICES)
    op = forms.ChoiceField(choices=OPERATOR_CHOICES, label="Operator")
    value = forms.CharField(required=False, max_length=1000)
    weight = forms.IntegerField(min_value=1, max_value=1000, initial=1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if any(key not in data for key in ("field", "op", "weight")):
            return data
        condition: dict[str, Any] = {"field": data["field"], "op": data["op"]}
        if data["op"] not in NO_VALUE_OPERATORS:
            condition["value"] = condition_value(field=data["field"], op=data["op"], text=data.get("value", ""))
        for problem in condition_errors(condition):
            self.add_error("value", problem)
        data["condition"] = {**condition, "weight": data["weight"]}
        return data


class BaseConditionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.conditions():
            raise ValidationError("Add at least one condition: a persona without conditions fits no one.")

    def conditions(self) -> list[dict[str, Any]]:
        return [form.cleaned_data["condition"] for form in self.forms if form.cleaned_data.get("condition")]


ConditionFormSet = forms.formset_factory(
    ConditionForm,
    formset=BaseConditionFormSet,
    extra=0,
    max_num=MAX_CONDITIONS,
    validate_max=True,
    absolute_max=MAX_CONDITIONS,
)


def condition_rows(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A persona's conditions as the rows' initial values."""
    return [
        {"field": c.get("field"), "op": c.get("op"), "value": value_text(c.get("value")), "weight": c.get("weight")}
        for c in conditions
    ]


def blank_condition() -> dict[str, Any]:
    return {"field": "industry", "op": "in", "value": "", "weight": 1}


def posted_condition_rows(data: QueryDict) -> list[dict[str, str]]:
    """The rows as typed, for re-showing them after a row is added or removed."""
    try:
        total = min(int(data.get(f"{CONDITIONS_PREFIX}-TOTAL_FORMS", "0")), MAX_CONDITIONS)
    except ValueError:
        total = 0
    return [{key: data.get(f"{CONDITIONS_PREFIX}-{i}-{key}", "") for key in CONDITION_KEYS} for i in range(total)]


def condition_rows_apply(rows: list[dict[str, Any]], action: str) -> tuple[list[dict[str, Any]], str]:
    """Add a row or remove one (``remove:2``); returns the rows and the id of what gets focus."""
    if action == "add" and len(rows) < MAX_CONDITIONS:
        rows = [*rows, blank_condition()]
        return rows, f"id_{CONDITIONS_PREFIX}-{len(rows) - 1}-field"
    kind, _, index = action.partition(":")
    if kind == "remove" and index.isdigit() and int(index) < len(rows):
        rows = [row for i, row in enumerate(rows) if i != int(index)]
    return rows, "add-condition"


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ScoringRule.Kind.choices, label="Kind")
    event_type = forms.CharField(
        required=False, max_length=64, help_text="The event that earns points, e.g. webinar_attended."
    )
    property_key = forms.CharField(required=False, max_length=100, label="Property")
    property_value = forms.CharField(
        required=False, max_length=200, label="Property value", help_text="Compared as text."
    )
    points = forms.IntegerField(
        min_value=-1000, max_value=1000, help_text="Engagement: per event. Negative: taken off."
    )
    cap = forms.IntegerField(
        required=False, min_value=0, max_value=100_000, help_text="Most points this rule gives a lead. Empty: no cap."
    )
    half_life_days = forms.FloatField(
        required=False, label="Half-life (days)", help_text="An event's points halve every this many days. Empty: none."
    )
    values_text = forms.CharField(
        required=False,
        max_length=20_000,
        label="Values, one per line",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Free-mail domains (gmail.com) or competitor names and domains.",
    )

    def __init__(self, *args: Any, rule: ScoringRule | None = None, **kwargs: Any) -> None:
        self.rule = rule
        if rule is not None and "data" not in kwargs and not args:
            kwargs.setdefault("initial", rule_initial(rule))
        super().__init__(*args, **kwargs)

    @property
    def current_kind(self) -> str:
        kind = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        return kind if kind in ScoringRule.Kind.values else ScoringRule.Kind.ENGAGEMENT

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        taken = ScoringRule.objects.filter(name__iexact=name)
        if self.rule is not None:
            taken = taken.exclude(pk=self.rule.pk)
        if taken.exists():
            raise ValidationError("Another rule already has this name; the score breakdown needs it unique.")
        return name

    def clean_half_life_days(self) -> float | None:
        days = self.cleaned_data.get("half_life_days")
        if days is not None and not 0 < days <= 3650:
            raise ValidationError("Give a half-life of more than 0 and at most 3650 days, or leave it empty.")
        return days

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind == ScoringRule.Kind.ENGAGEMENT:
            self._clean_engagement(data)
        elif kind:
            self._clean_negative(data, kind)
        return data

    def _clean_engagement(self, data: dict[str, Any]) -> None:
        event_type = data.get("event_type", "").strip()
        if not event_type:
            self.add_error("event_type", "Give the event type that earns points.")
        else:
            try:
                validate_slug(event_type)
            except ValidationError:
                self.add_error("event_type", "Use letters, digits, underscores or hyphens only (e.g. trial_started).")
        key, value = data.get("property_key", "").strip(), data.get("property_value", "").strip()
        if key and not value:
            self.add_error("property_value", "Give the value the property must have, or clear the property.")
        if value and not key:
            self.add_error("property_key", "Give the property's name, or clear the value.")
        if data.get("points") == 0:
            self.add_error("points", "A rule worth 0 points changes nothing; give points or deactivate it.")
        data["property_filter"] = {key: value} if key and value else {}
        data["values"] = []

    def _clean_negative(self, data: dict[str, Any], kind: str) -> None:
        points = data.get("points")
        if points is not None and points < 1:
            self.add_error("points", "Give the points to take off as a positive whole number.")
        values = list(dict.fromkeys(line.strip() for line in data.get("values_text", "").splitlines() if line.strip()))
        if kind != ScoringRule.Kind.UNSUBSCRIBED and not values:
            self.add_error("values_text", "List at least one domain or name, one per line.")
        if any(len(value) > 200 for value in values):
            self.add_error("values_text", "Keep each line under 200 characters.")
        if len(values) > 2000:
            self.add_error("values_text", "List at most 2,000 values.")
        data["values"] = values if kind != ScoringRule.Kind.UNSUBSCRIBED else []
        data["property_filter"] = {}

    def rule_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "event_type": data.get("event_type", "").strip(),
            "property_filter": data["property_filter"],
            "points": data["points"],
            "cap": data.get("cap"),
            "half_life_days": data.get("half_life_days"),
            "values": data["values"],
        }


def rule_initial(rule: ScoringRule) -> dict[str, Any]:
    key, value = next(iter((rule.property_filter or {}).items()), ("", ""))
    return {
        "name": rule.name,
        "kind": rule.kind,
        "event_type": rule.event_type,
        "property_key": key,
        "property_value": value_text(value),
        "points": rule.points,
        "cap": rule.cap,
        "half_life_days": rule.half_life_days,
        "values_text": "\n".join(str(v) for v in rule.values or []),
    }
