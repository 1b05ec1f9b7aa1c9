"""The forms of the referral pages: they parse what was typed; the services decide."""

from django import forms

from leads.models import Lead
from playbooks.models import Referral
from playbooks.referrals.services import CONSENT_TEXT


def _max(name: str) -> int:
    return Lead._meta.get_field(name).max_length


class ReferralListForm(forms.Form):
    q = forms.CharField(
        required=False, max_length=120, label="Search", help_text="A code, or part of a referrer's name or email."
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Every status"), *Referral.Status.choices],
        label="Credit",
        error_messages={"invalid_choice": "Choose one of the statuses listed."},
    )


class ReferredForm(forms.Form):
    """What the person a link brought tells us: the hosted referral page."""

    email = forms.EmailField(
        max_length=254,
        label="Email",
        error_messages={"required": "Enter your email address.", "invalid": "Enter a valid email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    first_name = forms.CharField(
        max_length=_max("first_name"),
        required=False,
        label="First name",
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        max_length=_max("last_name"),
        required=False,
        label="Last name",
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    company = forms.CharField(
        max_length=_max("company"),
        required=False,
        label="Company",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    consent = forms.BooleanField(required=False, label=CONSENT_TEXT)


class NpsForm(forms.Form):
    score = forms.IntegerField(
        min_value=0,
        max_value=10,
        error_messages={
            "required": "Choose a score from 0 to 10.",
            "invalid": "Choose a score from 0 to 10.",
            "min_value": "Choose a score from 0 to 10.",
            "max_value": "Choose a score from 0 to 10.",
        },
    )
