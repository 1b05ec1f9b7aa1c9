"""The funnel page's picker: a range of whole months, the last six by default."""

from datetime import date
from typing import Any

from django import forms

from reports.attribution.forms import recent_months
from smarketing.lib.periods import month_first

DEFAULT_MONTHS = 6


class FunnelQueryForm(forms.Form):
    start = forms.ChoiceField(label="From", required=False)
    end = forms.ChoiceField(label="To", required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # Always bound to the query, with the defaults for what it leaves out, so the pickers
        # show what the page shows.
        months = recent_months()
        defaults = {"start": f"{months[DEFAULT_MONTHS - 1]:%Y-%m}", "end": f"{months[0]:%Y-%m}"}
        super().__init__(defaults | {key: value for key, value in (data or {}).items() if value}, **kwargs)
        choices = [(f"{month:%Y-%m}", f"{month:%B %Y}") for month in months]
        self.fields["start"].choices = self.fields["end"].choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The last month cannot come before the first.")
        return data

    def choices(self) -> dict[str, date]:
        """What to show: the chosen months when valid, else the last six (this one included)."""
        if self.is_valid():
            data = self.cleaned_data
            return {"start": date.fromisoformat(f"{data['start']}-01"), "end": date.fromisoformat(f"{data['end']}-01")}
        months = recent_months(DEFAULT_MONTHS)
        return {"start": months[-1], "end": month_first()}
