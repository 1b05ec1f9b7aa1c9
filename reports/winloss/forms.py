"""The win/loss page's pickers: a month, and the grouping of deals and verdicts."""

from datetime import date
from typing import Any

from django import forms

from reports.attribution.forms import recent_months
from reports.winloss.selectors import BY_SOURCE, GROUPING_LABELS, GROUPINGS
from smarketing.lib.periods import month_first


class WinLossQueryForm(forms.Form):
    month = forms.ChoiceField(label="Month", required=False)
    by = forms.ChoiceField(
        label="Group by", choices=[(name, GROUPING_LABELS[name]) for name in GROUPINGS], required=False
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # Always bound to the query, with the defaults for what it leaves out, so the pickers
        # show what the page shows.
        defaults = {"month": f"{month_first():%Y-%m}", "by": BY_SOURCE}
        super().__init__(defaults | {key: value for key, value in (data or {}).items() if value}, **kwargs)
        self.fields["month"].choices = [(f"{month:%Y-%m}", f"{month:%B %Y}") for month in recent_months()]

    def choices(self) -> dict[str, Any]:
        """What to show: the valid choices, the defaults for the rest (this month, per source)."""
        data = self.cleaned_data if self.is_valid() else {}
        month = data.get("month")
        return {
            "month": date.fromisoformat(f"{month}-01") if month else month_first(),
            "by": data.get("by") or BY_SOURCE,
        }
