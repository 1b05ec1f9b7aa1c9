"""Capture-form builder pages (Marketing and Managers): list, create, edit, share."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from leads.capture import (
    FIELD_SPECS,
    capture_form_create,
    capture_form_snippet,
    capture_form_submissions,
    capture_form_update,
)
from leads.forms import CaptureFormBuilderForm
from leads.models import CaptureForm
from smarketing.roles import Role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)


@role_required(*EDITORS)
def form_list(request: HttpRequest) -> HttpResponse:
    forms = list(CaptureForm.objects.select_related("campaign").order_by("-created_at", "-id"))
    counts = capture_form_submissions(forms)
    rows = [{"form": form, "submissions": counts.get(form.key, 0)} for form in forms]
    return render(request, "leads/forms/list.html", {"rows": rows})


@role_required(*EDITORS)
def form_create(request: HttpRequest) -> HttpResponse:
    builder = CaptureFormBuilderForm(request.POST or None)
    if request.method == "POST" and builder.is_valid():
        form = capture_form_create(data=builder.cleaned_data, by=request.user)
        messages.success(request, f"Form “{form.name}” created. Share its page link or paste the snippet below.")
        return redirect("leads:form_detail", pk=form.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "leads/forms/edit.html", {"builder": builder, "form": None}, status=status)


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
    return render(request, "leads/forms/edit.html", {"builder": builder, "form": form}, status=status)


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
    return render(request, "leads/forms/detail.html", context)
