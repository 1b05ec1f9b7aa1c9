"""The form on a lead's playbooks panel: enrol the lead by hand in an active playbook."""

from typing import Any

from django import forms

from playbooks.models import Playbook


class EnrolForm(forms.Form):
    playbook = forms.ModelChoiceField(
        queryset=Playbook.objects.filter(status=Playbook.Status.ACTIVE),
        empty_label=None,
        label="Enrol in",
        error_messages={
            "required": "Choose a playbook to enrol the lead in.",
            "invalid_choice": "Choose one of the active playbooks listed: that one does not exist or is not active.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its ids stay clear of the lead page's own fields, which the panel is loaded into.
        super().__init__(*args, auto_id="enrol-%s", **kwargs)
