"""Handing a lead to sales by hand (marketing, managers), from the lead's page."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.models import Handoff, Lead, Team
from leads.sales.assignment import person
from leads.sales.forms import (
    HandOffForm,
    add_sales_error,
)
from leads.sales.manual_handoff import BELOW_MQL, MANUAL_REASON, hand_off_refusal, lead_hand_off_by_hand, may_hand_off
from leads.sales.services import SalesError
from leads.sales.views.common import partial_error
from leads.selectors import lead_for_user
from smarketing.roles import Role, role_required


def hand_off_context(request: HttpRequest, lead: Lead, *, form: Form | None = None) -> dict[str, Any]:
    """The lead page's "Hand over to sales" card, for marketers and managers."""
    if not may_hand_off(request.user):
        return {}
    refusal = hand_off_refusal(lead)
    last = lead.assignments.filter(reason=MANUAL_REASON).select_related("by").order_by("-at", "-id").first()
    if form is None and not refusal:
        form = _hand_off_form()
    return {
        "hand_off": True,
        "hand_off_refusal": refusal,
        "hand_off_form": form,
        "hand_off_last": last,
        "hand_off_moves": lead.stage in BELOW_MQL,
    }


def _hand_off_form(data: Any = None) -> HandOffForm:
    reps = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES.value)
    reps = reps.order_by("first_name", "last_name", "username")
    return HandOffForm(data, teams=list(Team.objects.order_by("name")), reps=list(reps))


@require_POST
@role_required(Role.MARKETING, Role.MANAGER)
def lead_hand_off(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the lead to sales with a note: to the rep or team named, or by the assignment rules."""
    lead = lead_for_user(request.user, pk)
    form = _hand_off_form(request.POST)
    if not form.is_valid():
        return _handed(request, lead, form=form, status=400)
    try:
        handoff = lead_hand_off_by_hand(
            lead=lead, by=request.user, note=form.cleaned_data["note"], **form.target_fields()
        )
    except SalesError as error:
        add_sales_error(form, error)
        return _handed(request, lead, form=form, status=error.status)
    return _handed(request, lead, message=_handed_text(handoff))


def _handed_text(handoff: Handoff) -> str:
    local = timezone.localtime(handoff.due_at)
    due = f"{local.day} {local:%b %H:%M}"
    if handoff.assigned_to_id:
        return f"Handed to sales: {person(handoff.assigned_to)} has it, first touch due by {due}."
    pool = f"{handoff.team}'s pool" if handoff.team_id else "the general pool"
    return f"Handed to sales: it waits in {pool} for a rep to claim it, first touch due by {due}."


def _handed(
    request: HttpRequest, lead: Lead, *, form: Form | None = None, message: str = "", status: int = 200
) -> HttpResponse:
    if status < 400 and not request.htmx:
        messages.success(request, message)
        return redirect("leads:detail", pk=lead.pk)
    lead = lead_for_user(request.user, lead.pk)  # fresh: stage and owner
    context = {"lead": lead, **hand_off_context(request, lead, form=form), "hand_off_message": message}
    template = "leads/sales/snippets/hand_off.html" if request.htmx else "leads/sales/hand_off.html"
    response = render(request, template, context, status=status)
    if status >= 400:
        return partial_error(response)
    response["HX-Trigger-After-Settle"] = "leadChanged"  # the timeline shows the move to MQL
    return response
