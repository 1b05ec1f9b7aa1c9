"""Django forms for the capture-form builder (the marketer's pages under /leads/forms/).

Other lead pages keep their forms in their own modules; this one is only the builder.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leads.models import Campaign, CaptureForm

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
