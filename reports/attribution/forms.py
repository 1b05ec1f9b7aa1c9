"""The ROI page's picker: a month, an attribution model, rows per campaign, channel or version."""

from datetime import date, timedelta
from typing import Any

from django import forms

from reports.attribution.credits import LINEAR, MODELS
from reports.attribution.selectors import BY_CAMPAIGN, GROUPING_LABELS
from smarketing.lib.periods import month_first

MONTHS_OFFERED = 36


def recent_months(count: int = MONTHS_OFFERED) -> list[date]:
    """This month and the ones before it, newest first."""
    months = [month_first()]
    while len(months) < count:
        months.append(month_first(months[-1] - timedelta(days=1)))
    return months


class RoiQueryForm(forms.Form):
    month = forms.ChoiceField(label="Month", required=False)
    model = forms.ChoiceField(label="Model", choices=list(MODELS.items()), required=False)
    by = forms.ChoiceField(label="Rows per", choices=list(GROUPING_LABELS.items()), required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # Always bound to the query, with the defaults for what it leaves out, so the pickers
        # show what the page shows.
        defaults = {"month": f"{month_first():%Y-%m}", "model": LINEAR, "by": BY_CAMPAIGN}
        super().__init__(defaults | {key: value for key, value in (data or {}).items() if value}, **kwargs)
        self.fields["month"].choices = [(f"{month:%Y-%m}", f"{month:%B %Y}") for month in recent_months()]

    def choices(self) -> dict[str, Any]:
        """What to show: the valid choices, the defaults for the rest (this month, linear, campaigns)."""
        data = self.cleaned_data if self.is_valid() else {}
        month = data.get("month")
        return {
            "month": date.fromisoformat(f"{month}-01") if month else month_first(),
            "model": data.get("model") or LINEAR,
            "by": data.get("by") or BY_CAMPAIGN,
        }


class CampaignRoiForm(forms.Form):
    """A campaign page's ROI panel: the month (this month when none or a bad one is given)."""

    month = forms.ChoiceField(label="Month", required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__({"month": f"{month_first():%Y-%m}"} | {k: v for k, v in (data or {}).items() if v}, **kwargs)
        self.fields["month"].choices = [(f"{month:%Y-%m}", f"{month:%B %Y}") for month in recent_months()]

    def chosen_month(self) -> date:
        month = self.cleaned_data.get("month") if self.is_valid() else None
        return date.fromisoformat(f"{month}-01") if month else month_first()
