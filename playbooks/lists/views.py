"""Marketing's lists pages: the lists with their counts, a list's members (search, add by
address, remove, import a file, export), creating and editing lists and segments with a live
count of what a condition matches, and deleting a list.

Marketing builds the lists and managers oversee them; Sales is refused (403): a list names
leads of every rep and of none.
"""

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from leads.qualification.trees import outline, tree_errors
from playbooks.lists import selectors, services
from playbooks.lists.forms import (
    CONDITION_EXAMPLE,
    AddByEmailForm,
    ImportForm,
    ListForm,
    ListSearchForm,
    MemberSearchForm,
    PreviewForm,
)
from playbooks.models import LeadList, ListMembership
from smarketing.lib.forms import posted_data
from smarketing.roles import Role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)
LISTS_PER_PAGE = 25
MEMBERS_PER_PAGE = 50
UNKNOWN_SHOWN = 10  # unknown addresses named in a message; the import page lists more
UNKNOWN_LISTED = 200
Kind = LeadList.Kind


def _list_or_404(pk: int) -> LeadList:
    return get_object_or_404(LeadList.objects.select_related("created_by"), pk=pk)


# --- Lists ------------------------------------------------------------------------------


@role_required(*EDITORS)
def list_index(request: HttpRequest) -> HttpResponse:
    """Lists by name; static lists counted in one grouped query, each segment's count asked
    for by the page once it is shown (a segment is counted over its tree)."""
    form = ListSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "playbooks/lists/list_index.html", {"form": form, "page": None}, status=400)
    search, kind = form.cleaned_data["q"], form.cleaned_data["kind"]
    page = Paginator(selectors.lists_search(search=search, kind=kind), LISTS_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.static_counts(list(page.object_list))
    context = {
        "form": form,
        "page": page,
        "rows": [(lead_list, counts.get(lead_list.pk)) for lead_list in page.object_list],
        "filtered": bool(search or kind),
    }
    return render(request, "playbooks/lists/list_index.html", context)


def _edit_page(request: HttpRequest, form: ListForm, lead_list: LeadList | None) -> HttpResponse:
    context = {"form": form, "lead_list": lead_list, "example": json.dumps(CONDITION_EXAMPLE, indent=2)}
    return render(request, "playbooks/lists/list_edit.html", context, status=400 if form.errors else 200)


def _saved(request: HttpRequest, form: ListForm, lead_list: LeadList | None) -> LeadList | None:
    try:
        return services.list_save(data=form.cleaned_data, by=request.user, lead_list=lead_list)
    except ValidationError as error:
        form.add_error(None, error)
        return None


@role_required(*EDITORS)
def list_create(request: HttpRequest) -> HttpResponse:
    form = ListForm(posted_data(request))
    if request.method == "POST" and form.is_valid() and (lead_list := _saved(request, form, None)):
        what = "Segment" if lead_list.kind == Kind.SEGMENT else "List"
        messages.success(request, f"{what} “{lead_list.name}” created.")
        return redirect("playbooks:list", pk=lead_list.pk)
    return _edit_page(request, form, None)


@role_required(*EDITORS)
def list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead_list = _list_or_404(pk)
    form = ListForm.for_list(lead_list, posted_data(request))
    if request.method == "POST" and form.is_valid() and _saved(request, form, lead_list):
        messages.success(request, f"“{lead_list.name}” saved.")
        return redirect("playbooks:list", pk=lead_list.pk)
    return _edit_page(request, form, lead_list)


@role_required(*EDITORS)
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST deletes the list and its memberships (never the leads)."""
    lead_list = _list_or_404(pk)
    if request.method != "POST":
        context = {"lead_list": lead_list, "members": selectors.list_count(lead_list)}
        return render(request, "playbooks/lists/list_delete.html", context)
    services.list_delete(lead_list=lead_list, by=request.user)
    messages.success(request, f"“{lead_list.name}” deleted. Its leads are untouched.")
    return redirect("playbooks:lists")


@role_required(*EDITORS)
def list_preview(request: HttpRequest) -> HttpResponse:
    """How many leads a condition being written matches now (the edit page asks as one types)."""
    form = PreviewForm(request.POST if request.method == "POST" else request.GET)
    context: dict[str, Any] = {"problems": [], "count": None, "empty": False}
    if not form.is_valid():
        context["problems"] = form.errors["condition"]
    elif not form.cleaned_data["condition"]:
        context["empty"] = True
    elif problems := tree_errors(form.cleaned_data["condition"]):
        context["problems"] = problems
    else:
        context["count"] = selectors.condition_count(form.cleaned_data["condition"])
    # 200 either way: the answer to "how many now?" is the count or why there is none yet.
    return render(request, "playbooks/lists/snippets/preview.html", context)


# --- One list and its members -----------------------------------------------------------


@role_required(*EDITORS)
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead_list = _list_or_404(pk)
    if request.GET.get("part") == "count":  # the lists page, counting a segment after it shows
        context = {"count": selectors.list_count(lead_list), "lead_list": lead_list}
        return render(request, "playbooks/lists/snippets/count.html", context)
    form = MemberSearchForm(request.GET)
    problems = selectors.segment_problems(lead_list)
    context: dict[str, Any] = {
        "lead_list": lead_list,
        "form": form,
        "page": None,
        "problems": problems,
        "outline": outline(lead_list.condition) if lead_list.kind == Kind.SEGMENT and not problems else [],
        "add_form": AddByEmailForm(),
        "import_form": ImportForm(),
    }
    if not form.is_valid():
        return render(request, "playbooks/lists/list_detail.html", context, status=400)
    search = form.cleaned_data["q"]
    if lead_list.kind == Kind.STATIC:
        rows = selectors.static_members_page_rows(lead_list, search=search)
    else:
        rows = selectors.segment_members_page_rows(lead_list, search=search)
    paginator = Paginator(rows, MEMBERS_PER_PAGE)
    if lead_list.kind == Kind.SEGMENT and not search:
        # The tree counted over the leads once (as the lists page counts it), rather than the
        # page's query, which joins the leads with the segment's ids, counted.
        paginator.count = selectors.list_count(lead_list)
    context |= {"page": paginator.get_page(request.GET.get("page")), "search": search}
    return render(request, "playbooks/lists/list_detail.html", context)


def _unknown_words(unknown: list[Any]) -> str:
    if not unknown:
        return ""
    shown = ", ".join(str(item) for item in unknown[:UNKNOWN_SHOWN])
    more = f" and {len(unknown) - UNKNOWN_SHOWN} more" if len(unknown) > UNKNOWN_SHOWN else ""
    return f" {len(unknown)} match no lead (none was created): {shown}{more}."


def _outcome_words(outcome: dict[str, Any]) -> str:
    added, already = outcome["added"], outcome["already"]
    text = f"Added {added} lead{'s' if added != 1 else ''}."
    if already:
        text += f" {already} {'was' if already == 1 else 'were'} on the list already."
    return text + _unknown_words(outcome["unknown"])


@role_required(*EDITORS)
@require_POST
def members_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Put leads on a static list by their email addresses, typed or pasted."""
    lead_list = _list_or_404(pk)
    form = AddByEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["emails"]))
        return redirect("playbooks:list", pk=lead_list.pk)
    try:
        outcome = services.list_import(
            lead_list=lead_list, by=request.user, text=form.cleaned_data["emails"], source=ListMembership.Source.MANUAL
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _outcome_words(outcome))
    return redirect("playbooks:list", pk=lead_list.pk)


@role_required(*EDITORS)
def member_remove(request: HttpRequest, pk: int, lead_pk: int) -> HttpResponse:
    """GET asks to confirm; POST takes the lead off the list (the lead itself stays)."""
    membership = get_object_or_404(ListMembership.objects.select_related("list", "lead"), list_id=pk, lead_id=lead_pk)
    lead_list, lead = membership.list, membership.lead
    if request.method != "POST":
        return render(request, "playbooks/lists/member_remove.html", {"lead_list": lead_list, "lead": lead})
    services.list_remove_leads(lead_list=lead_list, lead_ids=[lead.pk])
    messages.success(request, f"{lead.email} is off “{lead_list.name}”.")
    return redirect("playbooks:list", pk=lead_list.pk)


@role_required(*EDITORS)
def list_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Put the leads a file names on a static list (a CSV with an email column, or addresses one
    per line); the page then says what was added and which addresses match no lead."""
    lead_list = _list_or_404(pk)
    form = ImportForm(posted_data(request), request.FILES or None)
    context: dict[str, Any] = {"lead_list": lead_list, "form": form, "outcome": None, "listed": UNKNOWN_LISTED}
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.list_import(lead_list=lead_list, by=request.user, file=form.cleaned_data["file"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            context["outcome"] = outcome
    return render(request, "playbooks/lists/list_import.html", context, status=400 if form.errors else 200)


@role_required(*EDITORS)
def list_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The members as CSV, streamed; no cell can run as a spreadsheet formula."""
    lead_list = _list_or_404(pk)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = slugify(lead_list.name) or "list"
    response = StreamingHttpResponse(selectors.members_export_lines(lead_list), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
