"""CSV import pages: upload, map columns with a preview, follow the job, history, error file.

An upload is kept as a draft in the user's session (the file under MEDIA_ROOT/imports/)
until "Import" queues the job; only then does it appear in the history.
"""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from leads.csv_io import (
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
from leads.forms_leads import ImportMappingForm, ImportUploadForm
from leads.models import Job
from smarketing.roles import Role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)
SESSION_KEY = "lead_import_drafts"
DRAFTS_KEPT = 5
IMPORTS_PER_PAGE = 25


@role_required(*EDITORS)
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = Job.objects.filter(kind="import").select_related("created_by").order_by("-created_at", "-id")
    page = Paginator(jobs, IMPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "leads/imports/import_list.html", {"page": page})


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
        return render(request, "leads/imports/import_new.html", {"form": form}, status=400)
    return render(request, "leads/imports/import_new.html", {"form": form})


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
        return render(request, "leads/imports/import_map.html", context, status=status)
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
    return "leads/imports/import_map.html#preview" if request.htmx else "leads/imports/import_map.html"


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


def _import_job(pk: int) -> Job:
    return get_object_or_404(Job.objects.select_related("created_by"), pk=pk, kind="import")


@role_required(*EDITORS)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "leads/imports/import_detail.html", {"job": _import_job(pk)})


@role_required(*EDITORS)
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's progress and outcome; htmx polls it until the import finishes."""
    return render(request, "leads/snippets/import_status.html", {"job": _import_job(pk)})


@role_required(*EDITORS)
def import_errors(request: HttpRequest, pk: int) -> FileResponse:
    """The rows that were not imported, with their line and the reason."""
    job = _import_job(pk)
    name = job.result.get("errors_file")
    if not name or not import_path(name).exists():
        raise Http404("This import has no rejected rows.")
    filename = job.params.get("name", "leads.csv").removesuffix(".csv") + "-errors.csv"
    return FileResponse(import_path(name).open("rb"), as_attachment=True, filename=filename, content_type="text/csv")
