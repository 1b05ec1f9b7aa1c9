"""What the sales pages share: who may open them, how a refused partial is swapped, how a date reads."""

from typing import Any

from django.http import HttpResponse

from smarketing.roles import Role

SALES = (Role.SALES, Role.MANAGER)


def partial_error(response: HttpResponse) -> HttpResponse:
    """Mark a 4xx partial as meant to be swapped in place (static/js/sales.js swaps it)."""
    response["HX-Reswap"] = "outerHTML"
    return response


def day_text(day: Any) -> str:
    """A date as the pages write it: 7 Dec 2026."""
    return f"{day.day} {day:%b %Y}" if day else "not set"
