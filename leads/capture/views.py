"""Capture's pages: the hosted form and its thank-you page (public), the marketer's form builder,
CSV imports (upload, column mapping with a preview, progress, rejected rows), and campaigns
(list, create and edit, a campaign's page with its costs, added and removed in place, and its leads).
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from leads.capture import campaigns
from leads.capture.forms import (
    CampaignForm,
    CampaignListForm,
    CaptureFormBuilderForm,
    CostForm,
    ImportMappingForm,
    ImportUploadForm,
)
from leads.capture.imports import (
    IMPORT_FIELDS,
    IMPORT_MAX_BYTES,
    ImportFileError,
    ImportRow,
    ImportUpload,
    import_enqueue,
    import_guess_mapping,
    import_path,
    import_preview,
    import_store_upload,
)
from leads.capture.ingest import TOUCH_KEYS
from leads.capture.selectors import (
    active_form,
    budget_use,
    campaign_costs,
    campaign_leads,
    campaign_totals,
    campaign_with_figures,
    campaigns_with_figures,
    capture_form_submissions,
)
from leads.capture.services import (
    FIELD_SPECS,
    HONEYPOT_FIELD,
    capture_form_create,
    capture_form_snippet,
    capture_form_update,
    field_rows,
)
from leads.jobs import job_for_user, jobs_visible_to
from leads.models import Campaign, CampaignCost, CaptureForm, Job
from leads.templatetags.sales_tags import money
from smarketing.lib.forms import posted_data
from smarketing.roles import Role, role_required


def _touch_values(source: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(source.get(key, ""))[:200] for key in TOUCH_KEYS}


def _page(
    request: HttpRequest, form: CaptureForm, *, values: Mapping, errors: Mapping, status: int, notice: str = ""
) -> HttpResponse:
    context = {
        "form": form,
        "fields": field_rows(form, values, errors),
        "touch": _touch_values(values),
        "consent_checked": str(values.get("consent", "")).lower() in ("on", "true", "1"),
        "consent_errors": errors.get("consent", []),
        "non_field_errors": errors.get("non_field_errors", []),
        "notice": notice,
        "honeypot": HONEYPOT_FIELD,
        "action_url": reverse("api-capture", args=[form.key]),
    }
    return render(request, "leads/capture/page.html", context, status=status)


def hosted_form(request: HttpRequest, key: str) -> HttpResponse:
    """The public form page; UTM and referral values in the query string ride along hidden."""
    form = active_form(key)
    return _page(request, form, values=request.GET, errors={}, status=200)


def thanks(request: HttpRequest, key: str) -> HttpResponse:
    form = active_form(key)
    return render(request, "leads/capture/thanks.html", {"form": form})


EDITORS = (Role.MARKETING, Role.MANAGER)


@role_required(*EDITORS)
def form_list(request: HttpRequest) -> HttpResponse:
    forms = list(CaptureForm.objects.select_related("campaign").order_by("-created_at", "-id"))
    counts = capture_form_submissions(forms)
    rows = [{"form": form, "submissions": counts.get(form.key, 0)} for form in forms]
    return render(request, "leads/capture/forms/list.html", {"rows": rows})


@role_required(*EDITORS)
def form_create(request: HttpRequest) -> HttpResponse:
    builder = CaptureFormBuilderForm(posted_data(request))
    if request.method == "POST" and builder.is_valid():
        form = capture_form_create(data=builder.cleaned_data, by=request.user)
        messages.success(request, f"Form “{form.name}” created. Share its page link or paste the snippet below.")
        return redirect("leads:form_detail", pk=form.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/capture/forms/edit.html", {"builder": builder, "form": None}, status=status)


@role_required(*EDITORS)
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(CaptureForm, pk=pk)
    builder = CaptureFormBuilderForm.for_instance(form, posted_data(request))
    if request.method == "POST" and builder.is_valid():
        capture_form_update(form=form, data=builder.cleaned_data)
        state = "It accepts submissions." if form.is_active else "It is inactive: submissions are refused."
        messages.success(request, f"Form “{form.name}” saved. {state}")
        return redirect("leads:form_detail", pk=form.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/capture/forms/edit.html", {"builder": builder, "form": form}, status=status)


@role_required(*EDITORS)
def form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(CaptureForm.objects.select_related("campaign"), pk=pk)
    action_url = request.build_absolute_uri(reverse("api-capture", args=[form.key]))
    context = {
        "form": form,
        "page_url": request.build_absolute_uri(reverse("capture-page", args=[form.key])),
        "snippet": capture_form_snippet(form=form, action_url=action_url),
        "submissions": capture_form_submissions([form]).get(form.key, 0),
        "field_labels": [FIELD_SPECS[name][0] for name in form.fields if name in FIELD_SPECS],
        "required_labels": [FIELD_SPECS[name][0] for name in form.required_fields if name in FIELD_SPECS],
    }
    return render(request, "leads/capture/forms/detail.html", context)


SESSION_KEY = "lead_import_drafts"


DRAFTS_KEPT = 5


IMPORTS_PER_PAGE = 25


@role_required(*EDITORS)
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = jobs_visible_to(request.user).filter(kind="import").select_related("created_by")
    jobs = jobs.order_by("-created_at", "-id")
    page = Paginator(jobs, IMPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "leads/capture/imports/import_list.html", {"page": page})


@role_required(*EDITORS)
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(posted_data(request), request.FILES or None, max_bytes=IMPORT_MAX_BYTES)
    if request.method == "POST":
        if form.is_valid():
            try:
                upload = import_store_upload(upload=form.cleaned_data["file"])
            except ImportFileError as error:
                form.add_error("file", str(error))
            else:
                _draft_keep(request, upload)
                return redirect("leads:import_map", token=UUID(upload.token))
        return render(request, "leads/capture/imports/import_new.html", {"form": form}, status=400)
    return render(request, "leads/capture/imports/import_new.html", {"form": form})


def _draft_keep(request: HttpRequest, upload: ImportUpload) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts[upload.token] = vars(upload)
    request.session[SESSION_KEY] = dict(list(drafts.items())[-DRAFTS_KEPT:])


def _draft(request: HttpRequest, token: UUID) -> ImportUpload:
    """The user's own uploaded draft; anyone else's token (or a finished one) is 404."""
    data = request.session.get(SESSION_KEY, {}).get(token.hex)
    if data is None:
        raise Http404("No such upload; upload the file again.")
    return ImportUpload(**data)


@role_required(*EDITORS)
def import_map(request: HttpRequest, token: UUID) -> HttpResponse:
    """Choose the lead field of each column; preview ten rows; start the import."""
    upload = _draft(request, token)
    guesses = import_guess_mapping(upload.headers)
    form = ImportMappingForm(posted_data(request), headers=upload.headers, fields=IMPORT_FIELDS, guesses=guesses)
    context: dict[str, Any] = {"upload": upload, "form": form}
    if request.method != "POST":
        mapping = {target: index for index, target in guesses.items()}
        status = _preview_into(context, upload, mapping) if "email" in mapping else 200
        return render(request, "leads/capture/imports/import_map.html", context, status=status)
    if not form.is_valid():
        return render(request, _map_template(request), context, status=400)
    if request.POST.get("action") == "import":
        job = import_enqueue(upload=upload, mapping=form.mapping(), by=request.user)
        request.session[SESSION_KEY].pop(upload.token, None)
        request.session.modified = True
        messages.success(request, f"Importing {upload.name}. You can leave this page; the import continues.")
        return redirect("leads:import_detail", pk=job.pk)
    status = _preview_into(context, upload, form.mapping())
    return render(request, _map_template(request), context, status=status)


def _map_template(request: HttpRequest) -> str:
    return "leads/capture/imports/import_map.html#preview" if request.htmx else "leads/capture/imports/import_map.html"


def _preview_into(context: dict[str, Any], upload: ImportUpload, mapping: dict[str, int]) -> int:
    """Put the preview in the context; a file that breaks while reading is a 400 with the reason."""
    try:
        context["preview"] = _preview(upload, mapping)
    except ImportFileError as error:
        context["preview_error"] = str(error)
        return 400
    return 200


def _preview(upload: ImportUpload, mapping: dict[str, int]) -> dict[str, Any]:
    rows = import_preview(path=import_path(f"{upload.token}.csv"), delimiter=upload.delimiter, mapping=mapping)
    fields = [name for name in IMPORT_FIELDS if name in mapping]
    table = [
        {
            "line": row.line,
            "cells": [_preview_value(row, name) for name in fields],
            "errors": row.errors,
        }
        for row in rows
    ]
    return {"fields": [IMPORT_FIELDS[name] for name in fields], "rows": table}


def _preview_value(row: ImportRow, name: str) -> Any:
    if name == "email":
        return row.email
    if name == "source":
        return row.source
    return row.touch.get(name, row.lead.get(name, ""))


def _import_job(request: HttpRequest, pk: int) -> Job:
    return job_for_user(request.user, pk, kinds=("import",))


@role_required(*EDITORS)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "leads/capture/imports/import_detail.html", {"job": _import_job(request, pk)})


@role_required(*EDITORS)
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress and outcome; htmx polls it until the import finishes."""
    return render(request, "leads/snippets/import_status.html", {"job": _import_job(request, pk)})


@role_required(*EDITORS)
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    """The rows that were not imported, with their line and the reason."""
    job = _import_job(request, pk)
    name = job.result.get("errors_file")
    if not name or not import_path(name).exists():
        raise Http404("This import has no rejected rows.")
    filename = job.params.get("name", "leads.csv").removesuffix(".csv") + "-errors.csv"
    return FileResponse(import_path(name).open("rb"), as_attachment=True, filename=filename, content_type="text/csv")


# Campaigns: marketing runs them and managers weigh their return (DESIGN, Users); a rep's
# question about where a lead came from is answered on the lead's own page. Sales is refused
# (403) because a campaign's page lists its leads, most of them another rep's or nobody's.

CAMPAIGNS_PER_PAGE = 25


COSTS_PER_PAGE = 20


@role_required(*EDITORS)
def campaign_list(request: HttpRequest) -> HttpResponse:
    form = CampaignListForm(request.GET)
    if not form.is_valid():
        return render(request, "leads/capture/campaigns/list.html", {"form": form, "page": None}, status=400)
    search, channel = form.cleaned_data["q"], form.cleaned_data["channel"]
    rows = campaigns_with_figures(search=search, channel=channel)
    context = {
        "form": form,
        "page": Paginator(rows, CAMPAIGNS_PER_PAGE).get_page(request.GET.get("page")),
        "totals": campaign_totals(rows),
        "filtered": bool(search or channel),
    }
    return render(request, "leads/capture/campaigns/list.html", context)


@role_required(*EDITORS)
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaigns.campaign_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Campaign “{campaign.name}” created. Add its costs as they come in.")
            return redirect("leads:campaign", pk=campaign.pk)
    status = 400 if form.errors else 200
    return render(request, "leads/capture/campaigns/edit.html", {"form": form, "campaign": None}, status=status)


@role_required(*EDITORS)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CampaignForm.for_campaign(campaign, posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            campaigns.campaign_update(campaign=campaign, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Campaign “{campaign.name}” saved.")
            return redirect("leads:campaign", pk=campaign.pk)
    status = 400 if form.errors else 200
    return render(request, "leads/capture/campaigns/edit.html", {"form": form, "campaign": campaign}, status=status)


def _page_number(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), 100_000)
    except ValueError:
        return 1


def _campaign_context(
    request: HttpRequest, campaign: Campaign, *, cost_form: CostForm | None = None, note: str = ""
) -> dict[str, Any]:
    """The campaign's page: its facts, spend against budget, its costs and its leads."""
    today = timezone.localdate()
    return {
        "campaign": campaign,
        "budget": budget_use(campaign),
        "costs": Paginator(campaign_costs(campaign), COSTS_PER_PAGE).get_page(request.GET.get("costs")),
        "cost_form": cost_form or CostForm(initial={"incurred_on": today}),
        "cost_day_max": today + timedelta(days=campaigns.COST_DAYS_AHEAD),
        "cost_note": note,  # what was just added or removed
        "leads": campaign_leads(campaign=campaign, user=request.user, page=_page_number(request.GET.get("page"))),
        "lead_list_url": f"{reverse('leads:list')}?{urlencode({'campaign': campaign.pk})}",
    }


@role_required(*EDITORS)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "leads/capture/campaigns/detail.html", _campaign_context(request, campaign_with_figures(pk)))


def _costs_answer(
    request: HttpRequest, pk: int, *, cost_form: CostForm | None = None, note: str = "", status: int = 200
) -> HttpResponse:
    """After adding or removing a cost: htmx gets the costs section again (spend included), a
    plain post goes back to the page; a refusal shows the form with its errors either way."""
    if status < 400 and not request.htmx:
        messages.success(request, note)
        return redirect("leads:campaign", pk=pk)
    if cost_form is not None:
        cost_form.focus_first_error()
    context = _campaign_context(request, campaign_with_figures(pk), cost_form=cost_form, note=note)
    template = "leads/capture/campaigns/detail.html" + ("#costs" if request.htmx else "")
    response = render(request, template, context, status=status)
    if status >= 400:
        response["HX-Reswap"] = "outerHTML"  # static/js/campaigns.js swaps it in like a success
    return response


def _cost_words(cost: CampaignCost) -> str:
    return f"{money(cost.amount)} on {date_format(cost.incurred_on, 'j M Y')}"


@role_required(*EDITORS)
@require_POST
def cost_add(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    form = CostForm(request.POST)
    if form.is_valid():
        try:
            cost = campaigns.campaign_cost_add(campaign=campaign, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _costs_answer(request, pk, note=f"Added {_cost_words(cost)}.")
    return _costs_answer(request, pk, cost_form=form, status=400)


@role_required(*EDITORS)
def cost_remove(request: HttpRequest, pk: int, cost_pk: int) -> HttpResponse:
    """GET asks to confirm (the page without scripts); POST removes the cost."""
    cost = get_object_or_404(CampaignCost.objects.select_related("campaign"), pk=cost_pk, campaign_id=pk)
    if request.method != "POST":
        return render(request, "leads/capture/campaigns/cost_remove.html", {"cost": cost, "words": _cost_words(cost)})
    campaigns.campaign_cost_remove(cost=cost, by=request.user)
    return _costs_answer(request, pk, note=f"Removed {_cost_words(cost)}.")
