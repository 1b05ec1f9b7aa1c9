"""My queue (and a manager's team view of it), claiming, and the rep's actions on the lead
page: log an activity, accept, reject, recycle."""

from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.models import Activity, Handoff, HandoffStatus, Lead
from leads.sales import queue, selectors, worklog
from leads.sales.forms import (
    AcceptForm,
    ActivityForm,
    RecycleForm,
    RejectForm,
    add_sales_error,
)
from leads.sales.selectors import rep_for_user, team_queues
from leads.sales.services import SalesError
from leads.sales.views.common import SALES, partial_error
from leads.sales.views.handoff import hand_off_context
from leads.selectors import lead_for_user, lead_may_work
from leads.templatetags.sales_tags import countdown
from smarketing.roles import Role, has_role, role_required

NOTHING_TO_CLAIM = "No leads are waiting in your pools. Work the leads you hold, or look again later."


@role_required(*SALES)
def queue_page(request: HttpRequest) -> HttpResponse:
    """A rep's own queue; a manager's team view, or one of their reps' queues with ?rep=."""
    user = request.user
    if "rep" in request.GET:
        rep = rep_for_user(user, request.GET["rep"])
        return render(request, "leads/sales/queue.html", _queue_context(rep, own=rep.pk == user.pk))
    if not has_role(user, Role.SALES):
        return render(request, "leads/sales/team_queue.html", team_queues(manager=user))
    return render(request, "leads/sales/queue.html", _queue_context(user, own=True))


def _queue_context(rep: Any, *, own: bool, claimed: Handoff | None = None) -> dict[str, Any]:
    overview = queue.queue_overview(rep=rep)
    for row in overview["results"]:
        row["countdown"] = countdown(row["seconds_left"])
    return {
        **overview,
        "rep": rep,
        "own": own,
        "claimed_id": claimed.pk if claimed else None,
        "attainment": selectors.first_touch_this_month(rep=rep),
        "pool_cap": queue.POOL_COUNT_CAP,
    }


@require_POST
@role_required(Role.SALES)
def queue_claim(request: HttpRequest) -> HttpResponse:
    """Claim the best lead waiting in the rep's pools; the queue shows it at once."""
    try:
        handoff = queue.lead_claim_next(rep=request.user)
    except SalesError as error:
        return _claimed(request, None, error.message, status=error.status)
    if handoff is None:
        return _claimed(request, None, NOTHING_TO_CLAIM)
    lead = handoff.lead
    company = f" ({lead.company})" if lead.company else ""
    text = f"Claimed {lead}{company}. First touch due {countdown(_seconds_to(handoff.due_at))}: open it and log a call."
    return _claimed(request, handoff, text)


def _seconds_to(moment: Any) -> int:
    return int((moment - timezone.now()).total_seconds())


def _claimed(request: HttpRequest, handoff: Handoff | None, text: str, *, status: int = 200) -> HttpResponse:
    ok = status < 400
    if not request.htmx:
        if ok:
            (messages.success if handoff else messages.info)(request, text)
            return redirect("leads:queue")
        messages.error(request, text)
        return render(request, "leads/sales/queue.html", _queue_context(request.user, own=True), status=status)
    context = _queue_context(request.user, own=True, claimed=handoff)
    context |= {"claim_message": text, "claim_ok": ok and handoff is not None}
    response = render(request, "leads/sales/queue.html#queue", context, status=status)
    return partial_error(response) if not ok else response


def lead_sales_context(request: HttpRequest, lead: Lead) -> dict[str, Any]:
    """What the lead page adds from sales: the hand-over card, and the actions for whoever works it.

    Called by leads.views.lead_detail: reps who do not hold the lead get no actions and no
    extra queries; marketers and managers get the "Hand over to sales" card.
    """
    hand_off = hand_off_context(request, lead)
    if not lead_may_work(request.user, lead):
        return hand_off
    activity = ActivityForm()
    kind = request.GET.get("log", "")
    if kind in Activity.Kind.values:  # "Log call" from the queue: the form is ready to type in
        activity.initial["kind"] = kind
        activity.fields["outcome"].widget.attrs["autofocus"] = True
    return hand_off | _panel_context(request, lead, activity_form=activity)


def _panel_context(request: HttpRequest, lead: Lead, **forms: Any) -> dict[str, Any]:
    workspace = worklog.lead_workspace(lead=lead)
    handoff = workspace["handoff"]
    decidable = handoff is not None and handoff.status == HandoffStatus.ASSIGNED and lead.stage in worklog.WORKABLE
    return {
        "sales_panel": True,
        "lead": lead,
        "handoff": handoff,
        "handoff_countdown": _handoff_countdown(handoff),
        "open_deal": workspace["open_deal"],
        "activities": workspace["activities"][:10],
        "assignments": workspace["assignments"][:5],
        "decidable": decidable,
        "activity_form": forms.get("activity_form") or ActivityForm(),
        "accept_form": forms.get("accept_form") or AcceptForm(),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "recycle_form": forms.get("recycle_form") or RecycleForm(),
        "today": timezone.localdate(),
    }


def _handoff_countdown(handoff: Handoff | None) -> str:
    if handoff is None or not handoff.is_open or handoff.first_touch_at:
        return ""
    return countdown(_seconds_to(handoff.due_at))


def _panel(request: HttpRequest, lead: Lead, *, status: int = 200, message: str = "", **forms: Form) -> HttpResponse:
    """The actions panel again: with the bound form's errors (4xx), or after a change.

    htmx gets the panel alone; a plain form post is redirected to the lead page when it
    worked, and shown the panel on a page of its own, with the errors, when it did not.
    """
    if status < 400 and not request.htmx:
        messages.success(request, message)
        return redirect("leads:detail", pk=lead.pk)
    lead.refresh_from_db()
    context = _panel_context(request, lead, **forms) | {"panel_message": message}
    template = "leads/sales/snippets/lead_panel.html" if request.htmx else "leads/sales/lead_action.html"
    response = render(request, template, context, status=status)
    if status >= 400:
        return partial_error(response)
    # The timeline reloads itself on this event, so the new stage change shows in place.
    response["HX-Trigger-After-Settle"] = "leadChanged"
    return response


def _refused(request: HttpRequest, lead: Lead, form: Form, name: str, error: SalesError) -> HttpResponse:
    add_sales_error(form, error)
    return _panel(request, lead, status=error.status, **{name: form})


@require_POST
@role_required(*SALES)
def lead_log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk, work=True)
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return _panel(request, lead, status=400, activity_form=form)
    try:
        data = worklog.ActivityIn(**form.cleaned_data)
        activity, created = worklog.activity_log(lead=lead, by=request.user, data=data)
    except SalesError as error:
        return _refused(request, lead, form, "activity_form", error)
    return _panel(request, lead, message=_logged_text(activity, created))


def _logged_text(activity: Activity, created: bool) -> str:
    kind = activity.get_kind_display().lower()
    if not created:
        return f"This {kind} was already logged (the form was sent twice); nothing was added."
    step = activity.next_step_on
    after = f"Next step on {step.day} {step:%b}." if step else "Set a next step when you know it."
    return f"Logged a {kind}. The speed-to-lead clock has stopped. {after}"


@require_POST
@role_required(*SALES)
def lead_accept(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk, work=True)
    form = AcceptForm(request.POST)
    if not form.is_valid():
        return _panel(request, lead, status=400, accept_form=form)
    try:
        deal = worklog.lead_accept(lead=lead, by=request.user, note=form.cleaned_data["note"])
    except SalesError as error:
        return _refused(request, lead, form, "accept_form", error)
    text = (
        f"Accepted: the lead is an opportunity, and the deal “{deal.name}” is open in {deal.stage.name}. "
        "Next: give it an amount and an expected close."
    )
    return _panel(request, lead, message=text)


@require_POST
@role_required(*SALES)
def lead_reject(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk, work=True)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _panel(request, lead, status=400, reject_form=form)
    try:
        change = worklog.lead_reject(lead=lead, by=request.user, **form.cleaned_data)
    except SalesError as error:
        return _refused(request, lead, form, "reject_form", error)
    text = (
        f"Rejected as “{change.reason}”: the lead is disqualified and marketing sees why. "
        "Claim your next lead from your queue."
    )
    return _panel(request, lead, message=text)


@require_POST
@role_required(*SALES)
def lead_recycle(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk, work=True)
    form = RecycleForm(request.POST)
    if not form.is_valid():
        return _panel(request, lead, status=400, recycle_form=form)
    try:
        worklog.lead_recycle(lead=lead, by=request.user, **form.cleaned_data)
    except SalesError as error:
        return _refused(request, lead, form, "recycle_form", error)
    day = form.cleaned_data["revisit_on"]
    text = f"Recycled to marketing's nurture; it comes back for requalification on {day.day} {day:%b %Y}."
    return _panel(request, lead, message=text)
