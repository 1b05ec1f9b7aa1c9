"""The forms of marketing's email pages: they parse what was typed; the services decide."""

from django import forms

from playbooks.email import rendering
from playbooks.models import OutboundEmail, TemplateKind

KIND_CHOICES = [("", "All kinds"), *TemplateKind.choices]


def _names(variables: set[str] | dict[str, str]) -> str:
    return ", ".join("{{ %s }}" % name for name in sorted(variables))  # noqa: UP031 -- braces in the text


class TemplateListForm(forms.Form):
    q = forms.CharField(required=False, max_length=120, label="Name", help_text="Part of a template's name.")
    kind = forms.ChoiceField(required=False, choices=KIND_CHOICES, label="Kind")


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={"required": "Give the template a name."})
    kind = forms.ChoiceField(
        choices=[("", "Choose a kind"), *TemplateKind.choices],
        help_text="Decides who may receive it, by the lead's consent, unsubscribing and stage. "
        "Transactional is for messages a lead asked for.",
        error_messages={"required": "Choose a kind.", "invalid_choice": "Choose one of the kinds listed."},
    )
    subject = forms.CharField(
        max_length=200,
        help_text=f"Plain text. Variables: {_names(rendering.SUBJECT_VARIABLES)}.",
        error_messages={"required": "Write a subject."},
    )
    body = forms.CharField(
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "cols": 80, "spellcheck": "false", "class": "code"}),
        help_text=f"HTML. Variables: {_names(rendering.VARIABLES)}. CSS in a <style> block is inlined when sent; "
        "marketing email gets an unsubscribe link at the end unless the body places {{ unsubscribe_url }}.",
        error_messages={"required": "Write the message."},
    )

    @classmethod
    def for_template(cls, template: object, data: object = None) -> "TemplateForm":
        return cls(data, initial={name: getattr(template, name) for name in cls.base_fields})


class LeadPickForm(forms.Form):
    """The lead a template is previewed or tried for, by id or email address."""

    lead = forms.CharField(
        required=False,
        max_length=254,
        label="Lead",
        help_text="An email address or a lead's id. Empty: the newest lead.",
    )


class OutboxListForm(forms.Form):
    q = forms.CharField(required=False, max_length=254, label="Recipient", help_text="Part of the email address.")
    status = forms.ChoiceField(
        required=False, choices=[("", "Every status"), *OutboundEmail.Status.choices], label="Status"
    )
    kind = forms.ChoiceField(required=False, choices=KIND_CHOICES, label="Kind")
