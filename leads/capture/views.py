"""Capture's pages: the hosted form and its thank-you page (public), the marketer's form builder,
CSV imports (upload, column mapping with a preview, progress, rejected rows), and campaigns.
"""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from leads.capture.forms import CaptureFormBuilderForm, ImportMappingForm, ImportUploadForm
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
from leads.capture.selectors import active_form, capture_form_submissions
from leads.capture.services import (
    FIELD_SPECS,
    HONEYPOT_FIELD,
    capture_form_create,
    capture_form_snippet,
    capture_form_update,
    field_rows,
)
from leads.jobs import job_for_user, jobs_visible_to
from leads.models import Campaign, CaptureForm, Job
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
    builder = CaptureFormBuilderForm(request.POST or None)
    if request.method == "POST" and builder.is_valid():
        form = capture_form_create(data=builder.cleaned_data, by=request.user)
        messages.success(request, f"Form “{form.name}” created. Share its page link or paste the snippet below.")
        return redirect("leads:form_detail", pk=form.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/capture/forms/edit.html", {"builder": builder, "form": None}, status=status)


@role_required(*EDITORS)
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(CaptureForm, pk=pk)
    builder = CaptureFormBuilderForm.for_instance(form, request.POST or None)
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
    form = ImportUploadForm(request.POST or None, request.FILES or None, max_bytes=IMPORT_MAX_BYTES)
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
    form = ImportMappingForm(request.POST or None, headers=upload.headers, fields=IMPORT_FIELDS, guesses=guesses)
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


@role_required(Role.MARKETING, Role.MANAGER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.annotate(
        lead_count=Count("first_touch_leads", distinct=True),
    ).order_by("name")
    spend = dict(Campaign.objects.values_list("pk").annotate(total=Sum("costs__amount")))
    rows = [{"campaign": c, "spend": spend.get(c.pk) or 0} for c in campaigns]
    return render(request, "leads/capture/campaign_list.html", {"rows": rows})
