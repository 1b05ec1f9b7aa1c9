"""The managers' audit page: who changed which setting, when, and what it held before and after."""

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smarketing.audit.forms import ChangeFilterForm
from smarketing.audit.selectors import change_fields, config_actors, config_changes
from smarketing.roles import Role, role_required

CHANGES_PER_PAGE = 50


@role_required(Role.MANAGER)
def changes(request: HttpRequest) -> HttpResponse:
    form = ChangeFilterForm(request.GET, actors=config_actors())
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "audit/changes.html", context, status=400)
    data = form.cleaned_data
    rows = config_changes(
        kind=data["kind"],
        actor=data["actor"],
        since=data["from"],
        until=data["to"],
        search=data["q"],
        object_id=data["object"],
    )
    page = Paginator(rows, CHANGES_PER_PAGE).get_page(data["page"] or 1)
    context["page"] = page
    context["entries"] = [(entry, change_fields(entry)) for entry in page.object_list]
    context["filtered"] = any(value not in (None, "") for name, value in data.items() if name != "page")
    return render(request, "audit/changes.html", context)
