"""A lead's data on its page: the JSON download and the erasure, with its confirmation step.

Managers only: the export holds everything about a person, and the erasure cannot be undone.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from leads.privacy.forms import EraseForm
from leads.privacy.selectors import lead_export_json
from leads.privacy.services import lead_erase
from leads.selectors import lead_for_user
from smarketing.roles import Role, role_required

DATA_ROLES = (Role.MANAGER,)


@role_required(*DATA_ROLES)
def lead_data_export(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk)
    response = HttpResponse(lead_export_json(lead), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="lead-{lead.pk}.json"'
    return response


@role_required(*DATA_ROLES)
def lead_data_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what goes and what stays, and a box to tick; POST: erase."""
    lead = lead_for_user(request.user, pk)
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        erasure, now = lead_erase(lead=lead, by=request.user)
        when = f"{erasure.erased_at:%d %b %Y}"
        text = "Erased this lead's personal data" if now else f"This lead's personal data was already erased on {when}"
        messages.success(request, f"{text}. Its address is refused by every capture and never emailed again.")
        return redirect("leads:detail", pk=lead.pk)
    status = 400 if form.is_bound else 200
    return render(request, "leads/privacy/erase.html", {"lead": lead, "form": form}, status=status)
