"""Reads on capture forms: the active form behind a public key, and submissions counted per form
through their index.
"""

from collections.abc import Iterable

from django.db.models import Count
from django.http import Http404

from leads.capture import sql as capture_sql
from leads.models import FORM_KEY, CaptureForm, Event
from smarketing.lib import sql


def capture_form_submissions(forms: Iterable[CaptureForm]) -> dict[str, int]:
    """form_submitted events per form key, in one query."""
    keys = [form.key for form in forms]
    if not keys:
        return {}
    rows = (
        Event.objects.annotate(form_key=FORM_KEY)
        .filter(type="form_submitted", form_key__in=keys)  # as the partial index on it reads
        .values("form_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["form_key"]: row["n"] for row in rows}


def active_form(key: str) -> CaptureForm:
    """The active form with this key, or 404 (`capture_sql.ACTIVE_FORM`). A form's campaign,
    when it has one, is read only if it is used."""
    found = CaptureForm.objects.raw(*sql.bind(capture_sql.ACTIVE_FORM, key=key))
    form = next(iter(found), None)
    if form is None:
        raise Http404("No active form has this key.")
    return form
