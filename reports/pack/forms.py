"""The meeting pack page's forms: an action item opened, given an owner, and the week asked for."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from reports.pack.models import ActionItem
from reports.pack.selectors import person_name
from smarketing.lib.forms import DateInput
from smarketing.roles import Role


def owners() -> QuerySet:
    """Who may own an item: managers and marketers (those who see the pack), active."""
    users = get_user_model().objects.filter(is_active=True)
    roles = Q(groups__name__in=[Role.MANAGER.value, Role.MARKETING.value]) | Q(is_superuser=True)
    return users.filter(roles).distinct().order_by("first_name", "last_name", "username")


def owner_choices() -> list[tuple[str, str]]:
    """Read once per page and shared by every form on it (one query, however many items)."""
    return [("", "Nobody yet")] + [(str(user.pk), person_name(user)) for user in owners()]


class OwnerField(forms.TypedChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(label="Owner", coerce=int, empty_value=None, required=False, **kwargs)


class ActionItemForm(forms.Form):
    text = forms.CharField(
        label="Action",
        max_length=ActionItem._meta.get_field("text").max_length,
        widget=forms.TextInput(attrs={"placeholder": "What is to be done, by whom it is clear"}),
    )
    owner = OwnerField()
    due = forms.DateField(label="Due", required=False, widget=DateInput)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = choices


class AssignForm(forms.Form):
    owner = OwnerField()

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = choices
