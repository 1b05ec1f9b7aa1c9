"""Deals: the board (drag a card to move its stage), the list, and one deal's page with
its edit, won, lost and reopen actions."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from leads.models import Deal, DealStage
from leads.sales import deals, selectors
from leads.sales.forms import (
    DealEditForm,
    DealListForm,
    DealLostForm,
    DealMoveForm,
    DealWonForm,
    add_sales_error,
)
from leads.sales.selectors import deal_owner_choices, deal_totals_by_stage
from leads.sales.services import SalesError
from leads.sales.views.common import SALES, day_text, partial_error
from leads.templatetags.sales_tags import money
from smarketing.roles import Role, has_role, role_required

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
        return f"Saved “{updated.name}”: {money(updated.amount)}, expected close {day_text(updated.expected_close_on)}."

    return _detail_action(request, pk, DealEditForm, "edit_form", act)


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
