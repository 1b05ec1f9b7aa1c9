"""Django forms for capture's pages: the capture-form builder (under /leads/forms/), CSV
imports, and campaigns with their costs (under /leads/campaigns/).

Campaign forms parse what the browser sends (text, a number, a date), then ask
leads.capture.campaigns, where every rule about the values lives, so that a page shows every
problem at once, each on its field.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from leads.capture.campaigns import (
    NAME_MAX,
    NOTE_MAX,
    UTM_FIELDS,
    UTM_MAX,
    campaign_checked,
    campaign_cost_checked,
)
from leads.models import Campaign, CaptureForm, Channel
from smarketing.lib.forms import DateInput

# Email is always on the form and always required, so the builder does not offer it.
OPTIONAL_FIELD_CHOICES = [(name, label) for name, label in CaptureForm.FIELD_CHOICES if name != "email"]


class CaptureFormBuilderForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="For you; visitors see it as the page title.")
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"),
        required=False,
        empty_label="No campaign",
        help_text="Submissions are credited to this campaign unless their UTM values say otherwise.",
    )
    fields = forms.MultipleChoiceField(
        choices=OPTIONAL_FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Fields shown",
        help_text="Email is always shown and required.",
    )
    required_fields = forms.MultipleChoiceField(
        choices=OPTIONAL_FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Required fields",
    )
    thank_you_url = forms.URLField(
        required=False,
        max_length=200,
        assume_scheme="https",
        label="Thank-you URL",
        help_text="Where visitors go after submitting. Empty: our own thank-you page.",
    )
    consent_text = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown beside a consent checkbox. Empty: no checkbox.",
    )
    is_active = forms.BooleanField(
        required=False,
        initial=True,
        label="Accept submissions",
        help_text="An inactive form's page and endpoint answer 404; embedded copies stop working.",
    )

    @classmethod
    def for_instance(cls, form: CaptureForm, data: Any = None) -> "CaptureFormBuilderForm":
        initial = {
            "name": form.name,
            "campaign": form.campaign_id,
            "fields": [name for name in form.fields if name != "email"],
            "required_fields": [name for name in form.required_fields if name != "email"],
            "thank_you_url": form.thank_you_url,
            "consent_text": form.consent_text,
            "is_active": form.is_active,
        }
        return cls(data, initial=initial)

    def clean_thank_you_url(self) -> str:
        url = self.cleaned_data["thank_you_url"]
        if url and not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Use a web address starting with https://.")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        hidden = sorted(set(cleaned.get("required_fields") or []) - set(cleaned.get("fields") or []))
        if hidden:
            labels = ", ".join(dict(OPTIONAL_FIELD_CHOICES)[name] for name in hidden)
            self.add_error("required_fields", f"Required but not shown: {labels}. Tick them under Fields shown too.")
        return cleaned


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8 text, first row the column names, up to 200 MB.")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise ValidationError(f"The file is {upload.size // 2**20} MB; the limit is {self.max_bytes // 2**20} MB.")
        if not upload.size:
            raise ValidationError("The file is empty.")
        return upload


class ImportMappingForm(forms.Form):
    """One choice per CSV column: the lead field it fills, or nothing."""

    def __init__(
        self, *args: Any, headers: list[str], fields: dict[str, str], guesses: dict[int, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— skip this column —"), *fields.items()]
        self.field_labels = fields
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=choices, required=False, label=header or f"Column {index + 1}", initial=guesses.get(index, "")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        seen: dict[str, str] = {}
        for name, target in list(data.items()):  # add_error removes from cleaned_data
            if not target:
                continue
            if target in seen:
                self.add_error(name, f"{self.field_labels[target]} is already filled from “{seen[target]}”.")
            seen[target] = self.fields[name].label
        if "email" not in seen:
            raise ValidationError("Choose the column that holds the email address: it is required.")
        return data

    def mapping(self) -> dict[str, int]:
        """{lead field: column index} for the chosen columns."""
        return {target: int(name.removeprefix("col_")) for name, target in self.cleaned_data.items() if target}


def _money_field(label: str, *, required: bool, help_text: str = "") -> forms.DecimalField:
    """Parses the number; its bounds and cents are the service's to check."""
    return forms.DecimalField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
        error_messages={"invalid": "Enter an amount, like 1200.50.", "required": "Enter an amount."},
    )


class CampaignListForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search", help_text="Name, utm_campaign or utm_source.")
    channel = forms.ChoiceField(required=False, choices=[("", "All channels"), *Channel.choices], label="Channel")


def _rules_applied(form: forms.Form, check: Any, **kwargs: Any) -> None:
    """Put the service's refusals of the values that parsed on their fields."""
    parsed = {name: value for name, value in form.cleaned_data.items() if name not in form.errors}
    try:
        check(parsed, **kwargs)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, error_messages={"required": "Give the campaign a name."})
    channel = forms.ChoiceField(
        choices=[("", "Choose a channel"), *Channel.choices],
        error_messages={"required": "Choose a channel.", "invalid_choice": "Choose one of the channels listed."},
    )
    utm_source = forms.CharField(required=False, max_length=UTM_MAX, label="utm_source", help_text="e.g. linkedin")
    utm_medium = forms.CharField(required=False, max_length=UTM_MAX, label="utm_medium", help_text="e.g. paid-social")
    utm_campaign = forms.CharField(
        required=False,
        max_length=UTM_MAX,
        label="utm_campaign",
        help_text="Events and form posts carrying exactly this value are credited to this campaign.",
    )
    utm_term = forms.CharField(required=False, max_length=UTM_MAX, label="utm_term")
    utm_content = forms.CharField(required=False, max_length=UTM_MAX, label="utm_content")
    budget = _money_field("Budget", required=False, help_text=f"In {settings.CURRENCY}. Empty: no budget.")
    starts_on = forms.DateField(required=False, widget=DateInput, label="Starts on")
    ends_on = forms.DateField(required=False, widget=DateInput, label="Ends on")

    def __init__(self, *args: Any, campaign: Campaign | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign

    @classmethod
    def for_campaign(cls, campaign: Campaign, data: Any = None) -> "CampaignForm":
        initial = {name: getattr(campaign, name) for name in cls.base_fields}
        return cls(data, initial=initial, campaign=campaign)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _rules_applied(self, campaign_checked, campaign=self.campaign)
        return cleaned

    @property
    def utm_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in UTM_FIELDS]


class CostForm(forms.Form):
    """A cost added on the campaign's page; its ids are prefixed (`cost-…`) beside the page's other forms."""

    prefix = "cost"

    incurred_on = forms.DateField(
        widget=DateInput, label="Day", error_messages={"required": "Enter the day the cost was incurred."}
    )
    amount = _money_field(f"Amount ({settings.CURRENCY})", required=True)
    note = forms.CharField(required=False, max_length=NOTE_MAX, label="Note", help_text="Invoice, ad account …")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _rules_applied(self, campaign_cost_checked)
        return cleaned

    def focus_first_error(self) -> None:
        """Focus the first field at fault when the form comes back, swapped in place."""
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return
