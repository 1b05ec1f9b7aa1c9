from django import forms


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand: the person's data is removed for good and cannot be brought back.",
        error_messages={"required": "Tick the box to confirm the erasure."},
    )
