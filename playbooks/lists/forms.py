"""The forms of the lists pages: they parse what was typed (the condition as JSON); the
services decide what is allowed."""

import json
from typing import Any

from django import forms

from playbooks.lists.services import IMPORT_MAX_BYTES
from playbooks.models import LeadList

SEARCH_MAX = 200
CONDITION_EXAMPLE = {
    "op": "all",
    "children": [
        {"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "PT"]},
        {"op": "fit_gte", "value": 60},
        {"op": "has_event", "event": "webinar_attended", "within_days": 90},
    ],
}
CONDITION_HELP = (
    "For a segment: a rule tree as JSON, the same shape as a qualification definition's. Branches "
    '{"op": "all" | "any", "children": […]} and {"op": "not", "child": {…}}; leaves fit_gte and '
    "score_gte (value), has_event (event, where, within_days, min_count), event_after (event, after) "
    "and attr (field, cmp, value). Leave it empty for a static list."
)


class ListSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=120, label="Name", help_text="Part of a list's name.")
    kind = forms.ChoiceField(required=False, choices=[("", "Lists and segments"), *LeadList.Kind.choices], label="Kind")


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        required=False, max_length=SEARCH_MAX, label="Search members", help_text="Name, email or company."
    )


class ListForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={"required": "Give the list a name."})
    kind = forms.ChoiceField(
        choices=LeadList.Kind.choices,
        initial=LeadList.Kind.STATIC,
        help_text="A static list holds the leads put on it (by hand, by import, by playbooks). "
        "A segment holds whoever matches its condition now.",
        error_messages={"required": "Choose a static list or a segment."},
    )
    description = forms.CharField(max_length=300, required=False, help_text="What the list is for (optional).")
    condition = forms.CharField(
        required=False,
        strip=False,
        label="Condition",
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "spellcheck": "false", "class": "code"}),
        help_text=CONDITION_HELP,
    )

    def clean_condition(self) -> dict[str, Any]:
        return condition_parsed(self.cleaned_data["condition"])

    @classmethod
    def for_list(cls, lead_list: LeadList, data: object = None) -> "ListForm":
        initial = {name: getattr(lead_list, name) for name in ("name", "kind", "description")}
        initial["condition"] = json.dumps(lead_list.condition, indent=2) if lead_list.condition else ""
        return cls(data, initial=initial)


def condition_parsed(text: str) -> dict[str, Any]:
    """The condition typed as JSON ({} when empty); the tree's own rules are the service's."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise forms.ValidationError(f"This is not JSON: {error}.") from error
    if not isinstance(value, dict):
        raise forms.ValidationError('Write one rule tree, an object like {"op": "all", "children": […]}.')
    return value


class PreviewForm(forms.Form):
    condition = forms.CharField(required=False, strip=False, max_length=20_000)

    def clean_condition(self) -> dict[str, Any]:
        return condition_parsed(self.cleaned_data["condition"])


class AddByEmailForm(forms.Form):
    emails = forms.CharField(
        label="Email addresses",
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "spellcheck": "false"}),
        help_text="One per line, or separated by commas. Leads are matched by address; nobody is created.",
        error_messages={"required": "Type at least one email address."},
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text=f"A CSV with an “email” column, or a text file of addresses, one per line "
        f"(UTF-8, up to {IMPORT_MAX_BYTES // 2**20} MB).",
        error_messages={"required": "Choose a file.", "empty": "The file is empty."},
    )
