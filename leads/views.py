"""Pages of the Lead itself: the list (filters, saved views, bulk owner change, export), the lead
page with its timeline, edit, merge, and a background job's progress bar.

Thin views: parse and check permission here, read through leads.selectors, write through
leads.services; the lead page gathers each feature's part (score, why qualified, the rep's
workspace) from that feature's selectors.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from leads.capture.exports import leads_export_lines
from leads.conditions import condition_errors, condition_matches, describe_condition
from leads.filters import ORDERING_FIELDS
from leads.forms import (
    TIMELINE_KINDS,
    BulkOwnerForm,
    LeadEditForm,
    ListPageForm,
    MergeSearchForm,
    SavedViewForm,
    TimelineForm,
)
from leads.jobs import job_for_user
from leads.models import LEAD_PROFILE_FIELDS, Campaign, Job, Lead, Persona, SavedView, Stage
from leads.privacy.views import DATA_ROLES
from leads.qualification.selectors import why_qualified
from leads.sales.selectors import owner_change_forecast
from leads.sales.views.queue import lead_sales_context
from leads.scoring.selectors import score_explained
from leads.selectors import (
    DEFAULT_ORDERING,
    default_views,
    lead_filter,
    lead_for_user,
    lead_timeline,
    leads_filtered,
    leads_page,
    leads_visible_to,
    list_query,
    saved_views_for,
)
from leads.services import (
    MergeError,
    lead_edit,
    lead_merge,
    leads_set_owner_enqueue,
    saved_view_create,
    saved_view_delete,
)
from smarketing.lib.forms import posted_data
from smarketing.roles import Role, has_role, role_required

ANY_ROLE = (Role.MARKETING, Role.SALES, Role.MANAGER)


EDITORS = (Role.MARKETING, Role.MANAGER)


# Text columns sort A→Z first; numbers and dates biggest/newest first.
DESCENDING_FIRST = {"score", "created_at", "last_touch_at"}


@role_required(*ANY_ROLE)
def lead_list(request: HttpRequest) -> HttpResponse:
    return _list_response(request, request.GET)


def _list_response(
    request: HttpRequest, params: QueryDict, *, save_form: SavedViewForm | None = None, status: int = 200
) -> HttpResponse:
    filterset = lead_filter(params, leads_visible_to(request.user))
    page_form = ListPageForm(params)
    context = _list_context(request, params, save_form)
    if not (filterset.is_valid() & page_form.is_valid()):  # both run, so every message shows
        context["errors"] = _errors(filterset.form, page_form)
        return render(request, "leads/lead_list.html", context, status=400)
    context["page"] = leads_page(leads_filtered(filterset), number=page_form.cleaned_data.get("page") or 1)
    context["columns"] = _columns(params.get("ordering") or DEFAULT_ORDERING)
    return render(request, "leads/lead_list.html", context, status=status)


def _errors(*forms: Form) -> list[str]:
    """'Label: message' for every invalid field of the forms."""
    return [
        f"{form.fields[name].label or name}: {error}"
        for form in forms
        for name, errors in form.errors.items()
        for error in errors
    ]


def _list_context(request: HttpRequest, params: QueryDict, save_form: SavedViewForm | None) -> dict[str, Any]:
    editor = has_role(request.user, *EDITORS)
    query = list_query(params)
    return {
        "params": params,
        "query": query,
        "q": params.get("q", ""),
        "stages": Stage.choices,
        "chosen_stages": params.getlist("stage"),
        "personas": list(Persona.objects.order_by("name").values_list("pk", "name")),
        "campaigns": list(Campaign.objects.order_by("name").values_list("pk", "name")),
        "owners": list(_owner_choices()) if editor else [],
        "can_bulk": editor,
        "can_share": editor,
        "tabs": _tabs(request.user, query),
        "chips": _chips(params),
        "save_form": save_form or SavedViewForm(initial={"query": query}, user=request.user),
        "jobs": _running_jobs(request.user) if editor else [],
        "back": request.get_full_path(),
    }


def _owner_choices() -> QuerySet:
    """Who may own leads: active sales reps."""
    return (
        get_user_model()
        .objects.filter(groups__name=Role.SALES.value, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _tabs(user: Any, query: str) -> list[dict[str, Any]]:
    """'All leads', the default views, then the user's own and shared saved views."""
    tabs = [{"name": "All leads", "query": ""}, *default_views()]
    for view in saved_views_for(user):
        tabs.append({"name": view.name, "query": view.query, "view": view, "own": view.owner_id == user.pk})
    for tab in tabs:
        tab["active"] = tab["query"] == query
    return tabs


def _chips(params: QueryDict) -> list[dict[str, str]]:
    """One removable chip per active filter: its label and the list without it."""
    labels = {"q": "Search", "owner": "Owner", "score_min": "Score from", "score_max": "Score to"}
    labels |= {"persona": "Persona", "source": "Source", "campaign": "Campaign", "stage": "Stage"}
    labels |= {"created_after": "Created from", "created_before": "Created until"}
    chips = []
    for key, label in labels.items():
        values = [value for value in params.getlist(key) if value.strip()]
        if not values:
            continue
        rest = params.copy()
        rest.pop(key, None)
        rest.pop("page", None)
        chips.append({"label": label, "value": ", ".join(values), "url": "?" + rest.urlencode()})
    return chips


# The table's columns and the ordering each sorts by (sortable when LeadFilter allows it).
COLUMNS = [
    ("Name", "last_name"),
    ("Email", "email"),
    ("Company", "company"),
    ("Stage", "stage"),
    ("Owner", ""),
    ("Source", "source"),
    ("Persona", ""),
    ("Score", "score"),
    ("Created", "created_at"),
    ("Last touch", "last_touch_at"),
]


def _columns(ordering: str) -> list[dict[str, Any]]:
    """Headers: the ordering each sortable one links to and how it is sorted now (aria-sort)."""
    columns = []
    for label, key in COLUMNS:
        column = {"label": label, "key": key, "sort": "", "ordering": ""}
        if key in ORDERING_FIELDS:
            if ordering == key:
                column["sort"], column["ordering"] = "ascending", f"-{key}"
            elif ordering == f"-{key}":
                column["sort"], column["ordering"] = "descending", key
            else:
                column["ordering"] = f"-{key}" if key in DESCENDING_FIRST else key
        columns.append(column)
    return columns


def _running_jobs(user: Any) -> list[Job]:
    running = (Job.Status.QUEUED, Job.Status.RUNNING)
    return list(Job.objects.filter(created_by=user, kind="set_owner", status__in=running).order_by("-created_at")[:3])


@role_required(*ANY_ROLE)
def lead_export(request: HttpRequest) -> HttpResponse:
    """Every lead the list's filters match (not only the page), as CSV, streamed."""
    filterset = lead_filter(request.GET, leads_visible_to(request.user))
    if not filterset.is_valid():
        return _list_response(request, request.GET)
    leads = leads_filtered(filterset)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(leads_export_lines(leads), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


@require_POST
@role_required(*EDITORS)
def lead_bulk_owner(request: HttpRequest) -> HttpResponse:
    """Give the selected leads a new owner, as a background job with a progress bar."""
    form = BulkOwnerForm(request.POST, owners=_owner_choices())
    back = _safe_back(request)
    if not form.is_valid():
        if request.htmx:
            return render(request, "leads/snippets/lead_bulk_status.html", {"form": form}, status=400)
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect(back)
    ids, owner_id = form.cleaned_data["lead"], form.cleaned_data["owner"]
    # What else the change does (handing MQLs to sales) and what it will not do, said now.
    forecast = owner_change_forecast(lead_ids=ids, owner_id=owner_id)
    job = leads_set_owner_enqueue(lead_ids=ids, owner_id=owner_id, by=request.user)
    text = f"Changing the owner of {len(ids)} lead{'s' if len(ids) != 1 else ''}. The list shows them when it is done."
    text = " ".join([text, *forecast])
    if request.htmx:
        return render(request, "leads/snippets/lead_bulk_status.html", {"job": job, "text": text})
    messages.success(request, text)
    return redirect(back)


def _safe_back(request: HttpRequest) -> str:
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return reverse("leads:list")


@require_POST
@role_required(*ANY_ROLE)
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST, user=request.user)
    if not form.is_valid():
        return _list_response(request, QueryDict(request.POST.get("query", "")), save_form=form, status=400)
    view = saved_view_create(owner=request.user, **form.cleaned_data)
    messages.success(request, f"Saved the view “{view.name}”. It is now a tab above the list.")
    return redirect(reverse("leads:list") + (f"?{view.query}" if view.query else ""))


@require_POST
@role_required(*ANY_ROLE)
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of your own views (someone else's, even shared, is 404)."""
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    saved_view_delete(view=view)
    messages.success(request, f"Deleted the view “{view.name}”. The leads themselves are untouched.")
    return redirect("leads:list")


@role_required(*ANY_ROLE)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk)
    timeline_form = TimelineForm(request.GET)
    status = 200 if timeline_form.is_valid() else 400
    context = _timeline_context(lead, timeline_form)
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "leads/lead_detail.html#timeline", context, status=status)
    context |= _lead_context(request, lead)
    return render(request, "leads/lead_detail.html", context, status=status)


def _timeline_context(lead: Lead, form: TimelineForm) -> dict[str, Any]:
    context: dict[str, Any] = {"lead": lead, "kinds": TIMELINE_KINDS, "kind": "all", "timeline": [], "more": False}
    if form.errors:  # the lead page still shows, with the reason instead of the timeline
        context["timeline_errors"] = [error for errors in form.errors.values() for error in errors]
        return context
    kind = form.cleaned_data.get("kind") or "all"
    page = form.cleaned_data.get("page") or 1
    items, more = lead_timeline(lead, kind=kind, page=page)
    return context | {"timeline": items, "kind": kind, "more": more, "next": page + 1}


def _lead_context(request: HttpRequest, lead: Lead) -> dict[str, Any]:
    score_rows = score_explained(lead)
    return {
        "persona_conditions": _persona_conditions(lead),
        "score_rows": score_rows,
        "score_total": sum(row["points"] for row in score_rows),
        "why": why_qualified(lead),
        "can_edit": has_role(request.user, *EDITORS),
        "can_manage_data": has_role(request.user, *DATA_ROLES),
        # The rep's actions panel and the open deal, for those who work this lead.
        **lead_sales_context(request, lead),
    }


def _persona_conditions(lead: Lead) -> list[dict[str, Any]]:
    """The matched persona's conditions, each marked matched or not (as the fit score counted them)."""
    if lead.persona is None:
        return []
    rows = []
    for condition in lead.persona.conditions:
        if condition_errors(condition):
            continue
        rows.append(
            {
                "text": describe_condition(condition),
                "matched": condition_matches(condition, lead),
                "weight": condition.get("weight", 0),
            }
        )
    return rows


@role_required(*EDITORS)
def lead_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk)
    form = LeadEditForm(posted_data(request), instance=lead)
    if request.method == "POST":
        if form.is_valid():
            changed = lead_edit(lead=lead, changes={name: form.cleaned_data[name] for name in form.changed_data})
            text = f"Saved {', '.join(changed)}; the score was recalculated." if changed else "Nothing changed."
            messages.success(request, text)
            return redirect("leads:detail", pk=lead.pk)
        return render(request, "leads/lead_edit.html", {"lead": lead, "form": form}, status=400)
    return render(request, "leads/lead_edit.html", {"lead": lead, "form": form})


MERGE_CANDIDATES = 10


@role_required(*EDITORS)
def lead_merge_pick(request: HttpRequest, pk: int) -> HttpResponse:
    """Find the lead to merge into this one, by email."""
    lead = lead_for_user(request.user, pk)
    form = MergeSearchForm(request.GET or None)
    candidates: list[Lead] = []
    status = 200
    if form.is_bound:
        if form.is_valid():
            candidates = list(
                leads_visible_to(request.user)
                .filter(email__icontains=form.cleaned_data["email"].casefold())
                .exclude(pk=lead.pk)
                .select_related("owner")
                .order_by("email")[:MERGE_CANDIDATES]
            )
        else:
            status = 400
    context = {"lead": lead, "form": form, "candidates": candidates, "searched": form.is_bound}
    return render(request, "leads/lead_merge.html", context, status=status)


MERGE_ROWS = ["email", *LEAD_PROFILE_FIELDS]


MERGE_ROWS += ["phone", "website", "stage", "owner", "score", "source", "created_at"]


@role_required(*EDITORS)
def lead_merge_confirm(request: HttpRequest, pk: int, other_pk: int) -> HttpResponse:
    """Both leads side by side; POST merges the other into this one, which survives."""
    survivor = lead_for_user(request.user, pk)
    other = lead_for_user(request.user, other_pk)
    if survivor.pk == other.pk:
        messages.error(request, "A lead cannot be merged into itself; search for the other lead.")
        context = {"lead": survivor, "form": MergeSearchForm(), "candidates": [], "searched": False}
        return render(request, "leads/lead_merge.html", context, status=400)
    if request.method == "POST":
        try:
            lead_merge(survivor=survivor, other=other, by=request.user)
        except MergeError as error:
            messages.error(request, str(error))
            return redirect("leads:detail", pk=survivor.pk)
        messages.success(request, f"Merged {other.email} into this lead: its history is now here.")
        return redirect("leads:detail", pk=survivor.pk)
    rows = [_merge_row(name, survivor, other) for name in MERGE_ROWS]
    context = {"lead": survivor, "survivor": survivor, "other": other, "rows": rows}
    return render(request, "leads/lead_merge.html", context)


def _merge_row(name: str, survivor: Lead, other: Lead) -> dict[str, Any]:
    label = "score" if name == "score" else Lead._meta.get_field(name).verbose_name  # scores live in LeadScore
    mine, theirs = _shown(survivor, name), _shown(other, name)
    fills = name not in ("email", "stage", "score", "created_at") and not mine and bool(theirs)
    return {"label": label, "survivor": mine, "other": theirs, "fills": fills}


def _shown(lead: Lead, name: str) -> Any:
    if name == "stage":
        return lead.get_stage_display()
    value = getattr(lead, name)
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%d %b %Y")
    return "" if value is None else value


@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's progress bar; htmx polls it until the job finishes."""
    job = job_for_user(request.user, pk)
    # An owner change says, once done, what it handed to sales and what it left and why.
    template = "leads/sales/snippets/owner_job.html" if job.kind == "set_owner" else "snippets/job_progress.html"
    return render(request, template, {"job": job})
