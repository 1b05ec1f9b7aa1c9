"""The weekly meeting packs (/reports/meeting-packs/): the archive, one page per ISO week (its
figures as built, printable, as CSV) and the meeting's action items, opened, given an owner and
closed in place (htmx, or plain posts that come back to the page).

Managers and marketing see the packs and open items; managers give items an owner, close any and
build a week by hand; a marketer closes the items they own or opened. Sales is refused (403): the
pack compares reps.
"""

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reports.pack import services
from reports.pack.export import pack_csv_rows
from reports.pack.forms import ActionItemForm, AssignForm, owner_choices, owners
from reports.pack.models import ActionItem, MeetingPack, iso_week_name
from reports.pack.selectors import action_items_for_week, last_week, pack_for_week, packs_list, week_parse
from smarketing.lib.csv_export import csv_stream
from smarketing.roles import Role, has_role, role_required

SEE = (Role.MANAGER, Role.MARKETING)
PACKS_PER_PAGE = 26
PAGE = "reports/pack/week.html"


@role_required(*SEE)
def meeting_packs_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(packs_list(), PACKS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "last_week": iso_week_name(last_week()),
        "schedule": f"{settings.MEETING_PACK_DAY.title()}s at {settings.MEETING_PACK_HOUR:02d}:00",
        "can_build": has_role(request.user, Role.MANAGER),
    }
    return render(request, "reports/pack/archive.html", context)


@role_required(*SEE)
def meeting_pack_page(request: HttpRequest, week: str) -> HttpResponse:
    monday, problem = _week(week)
    if monday is None:
        return _bad_week(request, week, problem)
    return render(request, PAGE, _week_context(request, pack_for_week(monday)))


@role_required(*SEE)
def meeting_pack_csv(request: HttpRequest, week: str) -> HttpResponse:
    monday, problem = _week(week)
    if monday is None:
        return _bad_week(request, week, problem)
    pack = pack_for_week(monday)
    header = ["Section", "Item", "Figure", "Value"]
    response = StreamingHttpResponse(csv_stream(header, pack_csv_rows(pack)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-pack-{pack.week}.csv"'
    return response


@require_POST
@role_required(Role.MANAGER)
def meeting_pack_build(request: HttpRequest) -> HttpResponse:
    """Build a week now (last week's by default), as beat would; the email goes if it has not."""
    week = request.POST.get("week") or iso_week_name(last_week())
    monday, problem = _week(week)
    if monday is None:
        return _bad_week(request, week, problem)
    pack = services.meeting_pack_build(monday=monday)
    mailed = " and mailed to managers" if pack.emailed_at else ""
    messages.success(request, f"Meeting pack {pack.week} built{mailed}; its figures are as of now.")
    return redirect("reports:meeting-pack", week=pack.week)


# --- Action items ------------------------------------------------------------------------------


@require_POST
@role_required(*SEE)
def action_item_add(request: HttpRequest, week: str) -> HttpResponse:
    pack = _pack(week)
    choices = owner_choices()
    form = ActionItemForm(request.POST, choices=choices)
    if form.is_valid():
        owner = owners().filter(pk=form.cleaned_data["owner"]).first() if form.cleaned_data["owner"] else None
        try:
            item = services.action_item_add(
                monday=pack.week_start, by=request.user, **(form.cleaned_data | {"owner": owner})
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _items_response(request, pack, message=f"Opened “{item.text}”: it stays on every pack until closed.")
    return _items_response(request, pack, status=400, add_form=form)


@require_POST
@role_required(Role.MANAGER)
def action_item_assign(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    pack = _pack(week)
    item = get_object_or_404(ActionItem, pk=pk)
    form = AssignForm(request.POST, choices=owner_choices(), prefix=f"item-{item.pk}")
    if form.is_valid():
        owner = _owner(form)
        try:
            services.action_item_assign(item=item, owner=owner, by=request.user)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            who = services.person_name(owner) or "nobody"
            return _items_response(request, pack, message=f"“{item.text}” is now {who}'s.")
    return _items_response(request, pack, status=400, assign_forms={item.pk: form})


@require_POST
@role_required(*SEE)
def action_item_close(request: HttpRequest, week: str, pk: int) -> HttpResponse:
    pack = _pack(week)
    item = get_object_or_404(ActionItem, pk=pk)
    if not may_close(request.user, item):
        raise PermissionDenied("Only a manager, or the item's owner or author, closes it.")
    try:
        services.action_item_close(item=item, by=request.user)
    except ValidationError as error:
        return _items_response(request, pack, status=400, message=" ".join(error.message_dict["item"]), failed=True)
    return _items_response(request, pack, message=f"Closed “{item.text}”.")


def may_close(user: Any, item: ActionItem) -> bool:
    return has_role(user, Role.MANAGER) or user.pk in (item.owner_id, item.created_by_id)


# --- Helpers -----------------------------------------------------------------------------------


def _week_context(request: HttpRequest, pack: MeetingPack, **forms: Any) -> dict[str, Any]:
    return {
        "pack": pack,
        "figures": pack.figures,
        "month": date.fromisoformat(pack.figures["agreement"]["month"]),
        "can_build": has_role(request.user, Role.MANAGER),
    } | _items_context(request, pack, **forms)


def _items_context(
    request: HttpRequest,
    pack: MeetingPack,
    *,
    add_form: ActionItemForm | None = None,
    assign_forms: dict[int, AssignForm] | None = None,
    message: str = "",
    failed: bool = False,
) -> dict[str, Any]:
    choices = owner_choices()
    items = list(action_items_for_week(pack.week_start))
    manager = has_role(request.user, Role.MANAGER)
    for item in items:
        item.carried = item.opened_week < pack.week_start
        item.closable = item.is_open and may_close(request.user, item)
        if manager and item.is_open:
            initial = {"owner": item.owner_id or ""}
            item.assign_form = (assign_forms or {}).get(item.pk) or AssignForm(
                choices=choices, prefix=f"item-{item.pk}", initial=initial
            )
    return {
        "pack": pack,
        "items": items,
        "add_form": add_form or ActionItemForm(choices=choices),
        "items_message": message,
        "items_failed": failed,
    }


def _items_response(request: HttpRequest, pack: MeetingPack, *, status: int = 200, **forms: Any) -> HttpResponse:
    """The action items again (htmx), or the week's page (a plain post: redirected when it worked)."""
    if not request.htmx:
        if status < 400:
            messages.success(request, forms.get("message", ""))
            return redirect("reports:meeting-pack", week=pack.week)
        return render(request, PAGE, _week_context(request, pack, **forms), status=status)
    response = render(request, f"{PAGE}#action-items", _items_context(request, pack, **forms), status=status)
    if status >= 400:
        response["HX-Reswap"] = "outerHTML"  # static/js/pack.js swaps a refused form in place
    return response


def _owner(form: ActionItemForm | AssignForm) -> Any:
    owner_id = form.cleaned_data["owner"]
    return owners().filter(pk=owner_id).first() if owner_id else None


def _add_errors(form: Any, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


def _pack(week: str) -> MeetingPack:
    monday, problem = _week(week)
    if monday is None:
        raise Http404(problem)
    return pack_for_week(monday)


def _week(week: str) -> tuple[date | None, str]:
    """The week's Monday, or None and what is wrong with its name."""
    try:
        return week_parse(week), ""
    except ValueError as error:
        return None, str(error)


def _bad_week(request: HttpRequest, week: str, problem: str) -> HttpResponse:
    return render(request, "reports/pack/bad_week.html", {"week": week, "problem": problem}, status=400)
