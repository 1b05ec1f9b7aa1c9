"""The lead pages' forms (saved views, bulk owner, edit, merge, import) and the reads behind them.

The list's filters come from the query string through leads.filters.LeadFilter, the same
FilterSet the API uses: a hostile value becomes a message per field, never a 500.
leads_count counts the result without scanning millions of rows; lead_timeline merges a
lead's events and stage changes for its page.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict

from leads.models import LEAD_PROFILE_FIELDS, Lead, SavedView
from leads.selectors import TIMELINE_MAX_PAGE, lead_filter, list_query
from smarketing.roles import Role, has_role

MAX_PAGE = 100_000


ID_LIMIT = 2**63 - 1


class ListPageForm(forms.Form):
    """The list's page number (the filters themselves are LeadFilter's)."""

    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, label="Page")


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100, label="View name")
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)
    shared = forms.BooleanField(required=False, label="Share with everyone")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if SavedView.objects.filter(owner=self.user, name=name).exists():
            raise ValidationError(f"You already have a view called “{name}”; pick another name.")
        return name

    def clean_query(self) -> str:
        params = QueryDict(self.cleaned_data["query"])
        if not lead_filter(params, Lead.objects.none()).is_valid():
            raise ValidationError("The view's filters are not valid; fix them on the list first.")
        return list_query(params)

    def clean_shared(self) -> bool:
        shared = self.cleaned_data["shared"]
        if shared and not has_role(self.user, Role.MARKETING, Role.MANAGER):
            raise ValidationError("Only Marketing and managers share views with everyone.")
        return shared


EDITABLE_FIELDS = list(LEAD_PROFILE_FIELDS)


COMPANY_SIZE_LIMIT = 10_000_000


class LeadEditForm(forms.ModelForm):
    class Meta:
        model = Lead
        # Not the email: it is the lead's identity; two addresses of one person are merged.
        fields = EDITABLE_FIELDS
        help_texts = {"country": "Two letters, ISO 3166 (ES, MX, US).", "company_size": "Employees."}

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise ValidationError("Give the two-letter country code, e.g. ES or US.")
        return country

    def clean_company_size(self) -> int | None:
        size = self.cleaned_data["company_size"]
        if size is not None and size > COMPANY_SIZE_LIMIT:
            raise ValidationError(f"Give a number of employees up to {COMPANY_SIZE_LIMIT:,}.")
        return size


class MergeSearchForm(forms.Form):
    email = forms.CharField(max_length=254, label="Email of the lead to merge in", strip=True)


BULK_LIMIT = 1_000


class BulkOwnerForm(forms.Form):
    """A selection of leads and the owner they get ("null": nobody)."""

    lead = forms.CharField(required=False)  # one value per checkbox, read with getlist
    owner = forms.CharField(max_length=20, error_messages={"required": "Choose the new owner."})

    def __init__(self, data: QueryDict, *, owners: QuerySet) -> None:
        super().__init__(data)
        self.owners = owners
        self.lead_values = data.getlist("lead")

    def clean_lead(self) -> list[int]:
        if not self.lead_values:
            raise ValidationError("Select at least one lead.")
        if len(self.lead_values) > BULK_LIMIT:
            raise ValidationError(f"Select at most {BULK_LIMIT:,} leads at a time.")
        if not all(value.isdigit() and int(value) <= ID_LIMIT for value in self.lead_values):
            raise ValidationError("The selection holds something that is not a lead; reload the page and select again.")
        return sorted({int(value) for value in self.lead_values})

    def clean_owner(self) -> int | None:
        owner = self.cleaned_data["owner"]
        if owner == "null":
            return None
        if owner.isdigit() and int(owner) <= ID_LIMIT and self.owners.filter(pk=int(owner)).exists():
            return int(owner)
        raise ValidationError("Choose an owner from the list of sales reps.")


TIMELINE_KINDS = {"all": "Everything", "events": "Touchpoints", "stages": "Stage changes"}


class TimelineForm(forms.Form):
    kind = forms.ChoiceField(
        required=False,
        choices=list(TIMELINE_KINDS.items()),
        error_messages={"invalid_choice": "Show one of: " + ", ".join(TIMELINE_KINDS) + "."},
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=TIMELINE_MAX_PAGE)
