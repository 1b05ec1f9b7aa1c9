"""The sales pages: "My queue" (and a manager's team view of it), the rep's actions on the lead
page (log activity, accept, reject, recycle), deals (board, list, one deal), notifications,
teams and the assignment rules (managers), and handing a lead to sales by hand.

Thin views over leads.sales.queue, worklog, deals and notifications: parse, check who may (a
rep works only their own leads and deals; another rep's answers 404), call one service,
render. Actions answer htmx with the part of the page they change; without htmx they redirect
with a message. A SalesError from a service becomes a 4xx with its message on the field.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.models import Activity, AssignmentRule, Deal, DealStage, Handoff, HandoffStatus, Lead, RepProfile, Team
from leads.sales import deals, notifications, queue, selectors, teams, worklog
from leads.sales.assignment import (
    BELOW_MQL,
    MANUAL_REASON,
    hand_off_refusal,
    lead_hand_off_by_hand,
    may_hand_off,
    person,
)
from leads.sales.forms import (
    AcceptForm,
    ActivityForm,
    DealEditForm,
    DealListForm,
    DealLostForm,
    DealMoveForm,
    DealWonForm,
    HandOffForm,
    RecycleForm,
    RejectForm,
    RepAddForm,
    RepProfileForm,
    RuleForm,
    TeamForm,
    add_sales_error,
)
from leads.sales.selectors import deal_owner_choices, deal_totals_by_stage, rep_for_user, team_queues
from leads.sales.services import SalesError
from leads.selectors import lead_for_user, lead_may_work
from leads.templatetags.sales_tags import countdown, money
from smarketing.roles import Role, has_role, role_required

SALES = (Role.SALES, Role.MANAGER)


NOTIFICATIONS_PER_PAGE = 50


NOTHING_TO_CLAIM = "No leads are waiting in your pools. Work the leads you hold, or look again later."


def partial_error(response: HttpResponse) -> HttpResponse:
    """Mark a 4xx partial as meant to be swapped in place (static/js/sales.js swaps it)."""
    response["HX-Reswap"] = "outerHTML"
    return response


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


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    rows = notifications.notifications_for(request.user, unread_only=unread_only).order_by("-created_at", "-id")
    page = Paginator(rows, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    unread = notifications.notifications_unread_count(request.user)
    context = {"page": page, "unread_only": unread_only, "unread": unread}
    return render(request, "leads/sales/notifications.html", context)


@require_POST
@login_required
def notification_read(request: HttpRequest) -> HttpResponse:
    """Mark one (`id`) or all of the user's notifications read; another user's id marks nothing."""
    raw = request.POST.get("id")
    if raw is not None and not raw.isdigit():
        return HttpResponse("Give the notification's id as a number.", status=400)
    ids = [int(raw)] if raw is not None else None
    marked = notifications.notifications_mark_read(user=request.user, ids=ids)
    if request.htmx and ids:
        note = get_object_or_404(notifications.notifications_for(request.user), pk=ids[0])
        context = {"note": note, "unread": notifications.notifications_unread_count(request.user)}
        return render(request, "leads/sales/snippets/notification_read.html", context)
    text = f"Marked {marked} notification{'s' if marked != 1 else ''} read." if marked else "Nothing was unread."
    messages.success(request, text)
    return redirect("leads:notifications")


@login_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count; base.html loads it after the page, so pages
    themselves spend no query on it."""
    count = notifications.notifications_unread_count(request.user)
    return render(request, "leads/sales/snippets/bell.html", {"unread": count, "loaded": True})


DEALS_PER_PAGE = 50


DEFAULT_ORDERING = "-created_at"


# The list's columns: (label, ordering key or "" when not sortable).
COLUMNS = [
    ("Deal", "name"),
    ("Lead", ""),
    ("Stage", ""),
    ("Owner", ""),
    ("Amount", "amount"),
    ("Expected close", "expected_close_on"),
    ("Created", "created_at"),
]


def _stages() -> list[DealStage]:
    return list(DealStage.objects.order_by("position", "id"))


@role_required(*SALES)
def deal_board(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/sales/deals/board.html", _board_context(request))


def _board_context(
    request: HttpRequest, *, moved: Deal | None = None, form: Form | None = None, message: str = ""
) -> dict[str, Any]:
    visible = selectors.deals_visible_to(request.user)
    columns = deals.deals_board(deals=visible)
    for column in columns:
        for deal in column["deals"]:
            # Only the card that was just refused carries its bound form (errors, lost reason).
            deal.move_form = form if moved is not None and deal.pk == moved.pk else None
    return {
        "columns": columns,
        "stages": [column["stage"] for column in columns],
        "summary": deals.deals_summary(deals=visible),
        "moved_id": moved.pk if moved else None,
        "board_message": message,
        "board_errors": _refusals(form, moved),
        "closed_days": deals.BOARD_CLOSED_DAYS,
    }


@require_POST
@role_required(*SALES)
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a deal to a stage: an open one, Won (the lead becomes a customer) or Lost (with a reason)."""
    deal = selectors.deal_for_user(request.user, pk)
    form = DealMoveForm(request.POST)
    if not form.is_valid():
        return _moved(request, deal, form=form, status=400)
    try:
        text = _move(deal, request.user, form.cleaned_data)
    except SalesError as error:
        add_sales_error(form, error)
        return _moved(request, deal, form=form, status=error.status)
    return _moved(request, deal, message=text)


def _refusals(form: Form | None, deal: Deal | None) -> list[str]:
    """What stopped a move, said above the board (the card may have no form: a closed deal)."""
    if form is None or deal is None:
        return []
    return [f"“{deal.name}” was not moved: {error}" for errors in form.errors.values() for error in errors]


def _move(deal: Deal, by: Any, data: dict[str, Any]) -> str:
    stage = data["stage"]
    if stage.pk == deal.stage_id:
        return f"“{deal.name}” is already in {stage.name}."
    if stage.outcome == DealStage.Outcome.WON:
        deals.deal_win(deal=deal, by=by)
        return f"“{deal.name}” is won: {deal.lead} is now a customer."
    if stage.outcome == DealStage.Outcome.LOST:
        lost = deals.deal_lose(deal=deal, by=by, reason=data["reason"], note=data["note"])
        return f"“{deal.name}” is lost ({lost.lost_reason}); its lead goes back to marketing's nurture."
    deals.deal_update(deal=deal, by=by, changes={"stage": stage})
    return f"Moved “{deal.name}” to {stage.name}."


def _moved(
    request: HttpRequest, deal: Deal, *, form: Form | None = None, message: str = "", status: int = 200
) -> HttpResponse:
    """Answer a move from the board (the board again) or from the deal's page (that page)."""
    if request.POST.get("where") == "detail":
        return _detail_response(request, deal, message=message, status=status, move_form=form)
    if status < 400 and not request.htmx:
        messages.success(request, message)
        return redirect("leads:deals")
    context = _board_context(request, moved=deal, form=form, message=message)
    template = "leads/sales/deals/board.html#board" if request.htmx else "leads/sales/deals/board.html"
    response = render(request, template, context, status=status)
    return partial_error(response) if status >= 400 else response


@role_required(*SALES)
def deal_list(request: HttpRequest) -> HttpResponse:
    owners = deal_owner_choices(request.user)
    form = DealListForm(request.GET, owners=owners)
    context: dict[str, Any] = {"form": form, "owners": owners, "stages": _stages(), "currency": settings.CURRENCY}
    if not form.is_valid():
        return render(request, "leads/sales/deals/list.html", context, status=400)
    rows = _filtered(selectors.deals_visible_to(request.user), form.cleaned_data)
    ordering = form.cleaned_data["ordering"] or DEFAULT_ORDERING
    context["totals"] = deal_totals_by_stage(rows, context["stages"])
    context["total_value"] = sum(row["value"] for row in context["totals"])
    context["columns"] = _columns(request.GET, ordering)
    rows = rows.select_related("lead", "owner", "stage").order_by(_order(ordering), "-id")
    context["page"] = Paginator(rows, DEALS_PER_PAGE).get_page(form.cleaned_data["page"] or 1)
    return render(request, "leads/sales/deals/list.html", context)


def _filtered(rows: Any, data: dict[str, Any]) -> Any:
    if data.get("stage"):
        rows = rows.filter(stage=data["stage"])
    if data.get("owner"):
        rows = rows.filter(owner_id=data["owner"])
    return rows


def _order(ordering: str) -> Any:
    """Deals without an amount or a close date sort last either way."""
    field = F(ordering.lstrip("-"))
    return field.desc(nulls_last=True) if ordering.startswith("-") else field.asc(nulls_last=True)


def _columns(params: QueryDict, ordering: str) -> list[dict[str, Any]]:
    """Headers: the link that sorts by each sortable column and how it is sorted now (aria-sort)."""
    columns = []
    for label, key in COLUMNS:
        column: dict[str, Any] = {"label": label, "key": key, "sort": "", "url": ""}
        if key:
            if ordering == key:
                column["sort"], target = "ascending", f"-{key}"
            elif ordering == f"-{key}":
                column["sort"], target = "descending", key
            else:
                target = key if key == "name" else f"-{key}"
            query = params.copy()
            query["ordering"] = target
            query.pop("page", None)
            column["url"] = "?" + query.urlencode()
        columns.append(column)
    return columns


@role_required(*SALES)
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_for_user(request.user, pk)
    return render(request, "leads/sales/deals/detail.html", _detail_context(request, deal))


def _edit_initial(deal: Deal) -> dict[str, Any]:
    return {"name": deal.name, "amount": deal.amount, "expected_close_on": deal.expected_close_on}


def _detail_context(request: HttpRequest, deal: Deal, *, message: str = "", **forms: Form | None) -> dict[str, Any]:
    return {
        "deal": deal,
        "changes": list(deal.changes.select_related("by").order_by("-at", "-id")[:100]),
        "stages": _stages(),
        "edit_form": forms.get("edit_form") or DealEditForm(initial=_edit_initial(deal)),
        "won_form": forms.get("won_form") or DealWonForm(),
        "lost_form": forms.get("lost_form") or DealLostForm(),
        "move_form": forms.get("move_form"),
        "can_reopen": deal.is_closed and has_role(request.user, Role.MANAGER),
        "detail_message": message,
        "detail_errors": [error for form in forms.values() if form for error in form.non_field_errors()],
    }


def _detail_response(
    request: HttpRequest, deal: Deal, *, message: str = "", status: int = 200, **forms: Form | None
) -> HttpResponse:
    if status < 400 and not request.htmx:
        messages.success(request, message)
        return redirect("leads:deal", pk=deal.pk)
    deal = selectors.deal_for_user(request.user, deal.pk)  # fresh: stage, amount, closed
    context = _detail_context(request, deal, message=message, **forms)
    template = "leads/sales/deals/detail.html#deal" if request.htmx else "leads/sales/deals/detail.html"
    response = render(request, template, context, status=status)
    return partial_error(response) if status >= 400 else response


def _detail_action(request: HttpRequest, pk: int, form_class: type[Form], name: str, act: Any) -> HttpResponse:
    """Validate the form, run `act(deal, form)` (a service call returning the message)."""
    deal = selectors.deal_for_user(request.user, pk)
    form = form_class(request.POST, initial=_edit_initial(deal))
    if not form.is_valid():
        return _detail_response(request, deal, status=400, **{name: form})
    try:
        text = act(deal, form)
    except SalesError as error:
        add_sales_error(form, error)
        return _detail_response(request, deal, status=error.status, **{name: form})
    return _detail_response(request, deal, message=text)


@require_POST
@role_required(*SALES)
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    def act(deal: Deal, form: Form) -> str:
        if not form.has_changed():
            return "Nothing changed."
        updated = deals.deal_update(deal=deal, by=request.user, changes=form.cleaned_data)
        return f"Saved “{updated.name}”: {money(updated.amount)}, expected close {_day(updated.expected_close_on)}."

    return _detail_action(request, pk, DealEditForm, "edit_form", act)


def _day(day: Any) -> str:
    return f"{day.day} {day:%b %Y}" if day else "not set"


@require_POST
@role_required(*SALES)
def deal_won(request: HttpRequest, pk: int) -> HttpResponse:
    def act(deal: Deal, form: Form) -> str:
        won = deals.deal_win(deal=deal, by=request.user, amount=form.cleaned_data["amount"])
        return f"Won at {money(won.amount)}: {won.lead} is now a customer. Well done."

    return _detail_action(request, pk, DealWonForm, "won_form", act)


@require_POST
@role_required(*SALES)
def deal_lost(request: HttpRequest, pk: int) -> HttpResponse:
    def act(deal: Deal, form: Form) -> str:
        data = form.cleaned_data
        lost = deals.deal_lose(deal=deal, by=request.user, reason=data["reason"], note=data["note"])
        return f"Marked lost ({lost.lost_reason}); its lead goes back to marketing's nurture with that reason."

    return _detail_action(request, pk, DealLostForm, "lost_form", act)


@require_POST
@role_required(*SALES)
def deal_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    def act(deal: Deal, form: Form) -> str:
        reopened = deals.deal_reopen(deal=deal, by=request.user)
        return f"Reopened in {reopened.stage.name}; its lead is an opportunity again."

    return _detail_action(request, pk, Form, "reopen_form", act)


# --- Handing a lead to sales by hand (marketing, managers) -----------------------------------


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


# --- Teams: reps, capacity, time away, and the assignment rules (managers) -------------------


@role_required(Role.MANAGER)
def team_list(request: HttpRequest) -> HttpResponse:
    """The manager's teams (every team for a superuser), a form for a new one, and the rules."""
    form = TeamForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                team = teams.team_create(by=request.user, **form.cleaned_data)
            except SalesError as error:
                add_sales_error(form, error)
            else:
                messages.success(request, f"Created {team}. Next: add its reps, then send it leads with a rule.")
                return redirect("leads:team", pk=team.pk)
        return _team_list_response(request, form, status=400)
    return _team_list_response(request, form)


def _team_list_response(request: HttpRequest, form: Form, *, status: int = 200) -> HttpResponse:
    context = {"teams": selectors.teams_overview(request.user), "form": form, "rules": selectors.rules_described()}
    return render(request, "leads/sales/teams/list.html", context, status=status)


@role_required(Role.MANAGER)
def team_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One team: its reps (capacity, open leads, time away, first touches in time), the rules,
    and where the next pooled leads would go. POST renames it."""
    team = selectors.team_for_user(request.user, pk)
    if request.GET.get("part") == "preview":  # reloaded in place after a change on the page
        return render(request, "leads/sales/teams/detail.html#preview", _preview_context(team))
    if request.method != "POST":
        return render(request, "leads/sales/teams/detail.html", _team_context(request, team))
    form = TeamForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            teams.team_update(team=team, by=request.user, **form.cleaned_data)
        except SalesError as error:
            add_sales_error(form, error)
        else:
            messages.success(request, f"Saved: the team is called {team}.")
            return redirect("leads:team", pk=team.pk)
    return render(request, "leads/sales/teams/detail.html", _team_context(request, team, team_form=form), status=400)


def _preview_context(team: Any) -> dict[str, Any]:
    return {"team": team, "preview": selectors.pool_preview(team), "preview_size": selectors.PREVIEW_SIZE}


def _team_context(request: HttpRequest, team: Any, **forms: Form) -> dict[str, Any]:
    return {
        **_reps_context(team, **forms),
        **_preview_context(team),
        "team_form": forms.get("team_form") or TeamForm(initial={"name": team.name}, user=request.user),
        "rules": selectors.rules_described(),
    }


def _reps_context(team: Any, *, message: str = "", **forms: Form) -> dict[str, Any]:
    reps = selectors.team_reps(team)
    for rep in reps:
        initial = {"capacity": rep.capacity, "away_from": rep.away_from, "away_until": rep.away_until}
        rep.form = forms.get(f"rep_{rep.user_id}") or RepProfileForm(rep_id=rep.user_id, initial=initial)
    add = forms.get("add_form") or RepAddForm(reps=selectors.rep_choices(team))
    return {"team": team, "reps": reps, "add_form": add, "reps_message": message}


def _reps_response(
    request: HttpRequest, team: Any, *, message: str = "", status: int = 200, **forms: Form
) -> HttpResponse:
    """The reps table again (htmx), or the team page (a plain post: redirected when it worked)."""
    if status < 400 and not request.htmx:
        messages.success(request, message)
        return redirect("leads:team", pk=team.pk)
    if not request.htmx:
        context = _team_context(request, team, **forms) | {"reps_message": message}
        return render(request, "leads/sales/teams/detail.html", context, status=status)
    response = render(request, "leads/sales/teams/detail.html#reps", _reps_context(team, message=message, **forms))
    response.status_code = status
    if status >= 400:
        return partial_error(response)
    response["HX-Trigger-After-Settle"] = "teamChanged"  # the preview reloads itself
    return response


@require_POST
@role_required(Role.MANAGER)
def team_rep_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, pk)
    form = RepAddForm(request.POST, reps=selectors.rep_choices(team))
    if not form.is_valid():
        return _reps_response(request, team, status=400, add_form=form)
    try:
        profile = teams.team_rep_add(team=team, by=request.user, **form.cleaned_data)
    except SalesError as error:
        add_sales_error(form, error)
        return _reps_response(request, team, status=error.status, add_form=form)
    text = f"{person(profile.user)} joined {team} with a capacity of {profile.capacity} open leads."
    return _reps_response(request, team, message=text)


@require_POST
@role_required(Role.MANAGER)
def team_rep_update(request: HttpRequest, pk: int, rep_id: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, pk)
    rep = _team_rep(team, rep_id)
    form = RepProfileForm(request.POST, rep_id=rep.pk)
    if not form.is_valid():
        return _reps_response(request, team, status=400, **{f"rep_{rep.pk}": form})
    try:
        profile = teams.rep_profile_update(rep=rep, by=request.user, **form.cleaned_data)
    except SalesError as error:
        add_sales_error(form, error)
        return _reps_response(request, team, status=error.status, **{f"rep_{rep.pk}": form})
    return _reps_response(request, team, message=_profile_text(profile))


def _profile_text(profile: Any) -> str:
    away = ""
    if profile.away_from or profile.away_until:
        start = _day(profile.away_from) if profile.away_from else "now"
        end = _day(profile.away_until) if profile.away_until else "further notice"
        away = f" Away from {start} until {end}: the rules pass them over on those days."
    return f"Saved {person(profile.user)}: capacity {profile.capacity} open leads.{away}"


@require_POST
@role_required(Role.MANAGER)
def team_rep_remove(request: HttpRequest, pk: int, rep_id: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, pk)
    rep = _team_rep(team, rep_id)
    try:
        teams.team_rep_remove(team=team, rep=rep, by=request.user)
    except SalesError as error:  # taken out meanwhile, by another manager's click
        return _reps_response(request, team, message=error.message, status=error.status)
    text = (
        f"{person(rep)} left {team}. They keep the leads they hold; the team's new leads and pool are no longer theirs."
    )
    return _reps_response(request, team, message=text)


def _team_rep(team: Any, rep_id: int) -> Any:
    """A rep of this team, else 404."""
    profile = get_object_or_404(RepProfile.objects.select_related("user"), team=team, user_id=rep_id)
    return profile.user


def _back_to(request: HttpRequest) -> tuple[Any, str]:
    """The team page a rule form was opened from (a team of yours), else the teams list."""
    raw = request.POST.get("team") or request.GET.get("team") or ""
    if raw.isdigit():
        team = selectors.teams_managed_by(request.user).filter(pk=int(raw)).first()
        if team is not None:
            return team, reverse("leads:team", args=[team.pk])
    return None, reverse("leads:teams")


@role_required(Role.MANAGER)
def assignment_rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or change an assignment rule; any manager (the rules route every team's leads)."""
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk is not None else None
    initial = RuleForm.initial_for(rule) if rule else {"is_active": True}
    form = RuleForm(request.POST or None, initial=initial)
    team, back = _back_to(request)
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = teams.assignment_rule_save(by=request.user, rule=rule, **form.rule_fields())
            except SalesError as error:
                add_sales_error(form, error)
            else:
                where = "kept its place" if rule else "is last in the order: move it up where it belongs"
                messages.success(request, f"Saved the rule “{saved.name}”; it {where}.")
                return redirect(back)
        context = {"form": form, "rule": rule, "team": team, "back": back}
        return render(request, "leads/sales/teams/rule_form.html", context, status=400)
    return render(request, "leads/sales/teams/rule_form.html", {"form": form, "rule": rule, "team": team, "back": back})


@require_POST
@role_required(Role.MANAGER)
def assignment_rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    teams.assignment_rule_delete(rule=rule, by=request.user)
    messages.success(request, f"Deleted the rule “{rule.name}”. Leads it placed stay where they are.")
    return redirect(_back_to(request)[1])


@require_POST
@role_required(Role.MANAGER)
def assignment_rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a rule one place up or down (the buttons beside each rule's sentence)."""
    rule = get_object_or_404(AssignmentRule, pk=pk)
    direction = request.POST.get("direction")
    ids = list(AssignmentRule.objects.order_by("position", "id").values_list("pk", flat=True))
    at = ids.index(rule.pk)
    to = at - 1 if direction == "up" else at + 1 if direction == "down" else -1
    team, back = _back_to(request)
    if not 0 <= to < len(ids):
        text, status = "That rule cannot move further that way.", 400
    else:
        ids[at], ids[to] = ids[to], ids[at]
        text, status = f"Moved “{rule.name}” to place {to + 1}.", 200
        try:
            teams.assignment_rules_order(by=request.user, rule_ids=ids)
        except SalesError as error:  # a rule was added or deleted meanwhile
            text, status = error.message, 409
    if not request.htmx:
        (messages.success if status == 200 else messages.error)(request, text)
        return redirect(back + "#rules")
    context = {"rules": selectors.rules_described(), "team": team, "rules_message": text}
    context["focus"] = (rule.pk, _focus_after_move(direction, to, len(ids)))
    response = render(request, "leads/sales/teams/snippets/rules.html", context, status=status)
    if status >= 400:
        return partial_error(response)
    response["HX-Trigger-After-Settle"] = "teamChanged"
    return response


def _focus_after_move(direction: str | None, at: int, count: int) -> str:
    """Keep the keyboard on the button just pressed, unless the rule reached that end of the list."""
    if direction == "up":
        return "down" if at <= 0 else "up"
    return "up" if at >= count - 1 else "down"
