"""The agreement page's form: a month and its terms."""

from datetime import date
from typing import Any

from django import forms

from leads.models import Stage


class MonthField(forms.DateField):
    """A month as YYYY-MM (what <input type="month"> sends); means its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]
    default_error_messages = {"invalid": "Give the month as YYYY-MM, e.g. 2026-12."}

    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        return day.replace(day=1) if day else None


def count_field(label: str, *, low: int = 0, high: int = 10_000_000, **kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=low, max_value=high, **kwargs)


class AgreementForm(forms.Form):
    month = MonthField(label="Month")
    mql_target = count_field("MQL target", help_text="MQLs marketing delivers in the month.")
    close_quota = count_field("Close quota: wins", help_text="Sales wins this many…")
    close_per = count_field(
        "…of every (handed-over leads)", low=1, required=False, help_text="…of every this many leads handed over."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        quota, per = data.get("close_quota"), data.get("close_per")
        if quota is not None and per is not None and quota > per:
            self.add_error("close_quota", "Sales cannot win more than all of them: at most the leads handed over.")
        return data

    speed_to_lead_hours = count_field(
        "Speed to lead (hours)", low=1, high=24 * 60, help_text="From handoff to the rep's first touch."
    )
    reassign_after_hours = count_field(
        "Reassign after (hours)", high=24 * 60, help_text="Past the deadline, an untouched lead goes to another rep."
    )
    first_touch_target_pct = count_field(
        "First touch in time target (%)", high=100, help_text="Share of handoffs touched by the deadline."
    )
    handoff_stage = forms.ChoiceField(
        label="Hand leads to sales at", choices=[(Stage.MQL.value, "MQL"), (Stage.SQL.value, "SQL")]
    )
