"""The audit page's filters, from the query string."""

from typing import Any

from django import forms

from smarketing.audit.models import ConfigKind
from smarketing.lib.forms import DateInput

MAX_SEARCH = 100


class ChangeFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind",
        choices=[("", "Every kind"), *ConfigKind.choices],
        required=False,
        error_messages={"invalid_choice": "Choose a kind from the list."},
    )
    actor = forms.TypedChoiceField(
        label="Changed by",
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a person from the list."},
    )
    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To", required=False, widget=DateInput)
    q = forms.CharField(label="Search", max_length=MAX_SEARCH, required=False, strip=True)
    object = forms.IntegerField(label="Object id", required=False, min_value=1, max_value=2**62)
    page = forms.IntegerField(label="Page", required=False, min_value=1, max_value=100_000)

    def __init__(self, *args: Any, actors: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *actors]
        # ?from=…&to=… as the reports' pages and API name a range ("from" is a Python keyword).
        fields = dict(self.fields)
        fields["from"], fields["to"] = fields.pop("start"), fields.pop("end")
        self.fields = {name: fields[name] for name in ("kind", "actor", "from", "to", "q", "object", "page")}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, last = data.get("from"), data.get("to")
        if first and last and last < first:
            self.add_error("to", "The last day cannot come before the first.")
        return data
