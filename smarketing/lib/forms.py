"""What a page's form is bound to."""

from django import forms
from django.http import HttpRequest, QueryDict


class DateInput(forms.DateInput):
    """A date field as the browser's own date picker."""

    input_type = "date"


def posted_data(request: HttpRequest) -> QueryDict | None:
    """A POST's data, even when empty, so that a form sent without its required fields names
    each of them (400) instead of coming back blank as if it had never been sent; None on a
    GET, which shows the form unbound."""
    return request.POST if request.method == "POST" else None
