"""Filters for the sales pages: money in the instance's currency, and speed-to-lead countdowns.

The countdown's wording is mirrored in static/js/sales.js, which keeps it ticking.
"""

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

MINUTE, HOUR, DAY = 60, 3600, 86400


@register.filter
def money(amount: Any) -> str:
    """1234.5 → "USD 1,234.50"; no amount → "—"."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(amount).quantize(Decimal("0.01"))
    return f"{settings.CURRENCY} {intcomma(f'{value:f}')}"


def span_text(seconds: int) -> str:
    """A duration as the queue shows it: days and hours, hours and minutes, or minutes and seconds."""
    seconds = abs(int(seconds))
    if seconds >= DAY:
        return f"{seconds // DAY}d {seconds % DAY // HOUR}h"
    if seconds >= HOUR:
        return f"{seconds // HOUR}h {seconds % HOUR // MINUTE:02d}m"
    return f"{seconds // MINUTE}m {seconds % MINUTE:02d}s"


@register.filter
def countdown(seconds: int | None) -> str:
    """Seconds left until a deadline → "in 3h 10m", or "2h 03m overdue" once past it."""
    if seconds is None:
        return ""
    return f"{span_text(seconds)} overdue" if seconds < 0 else f"in {span_text(seconds)}"


@register.filter
def field_label(name: str) -> str:
    """A field name from a change record as words: "expected_close_on" → "Expected close on"."""
    return str(name).replace("_", " ").capitalize()


@register.filter
def person(user: Any) -> str:
    """A user as the pages name them: full name, else username; "—" for nobody."""
    if not user:
        return "—"
    return user.get_full_name() or user.get_username()
