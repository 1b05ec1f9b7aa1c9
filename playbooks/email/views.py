"""Marketing's email pages: templates (list, create and edit, a preview as one lead would get
it, a test send to oneself) and the outbox every message goes through (list, one message, and
sending a failed or interrupted one again, by hand).

Marketing writes the messages and managers oversee them; Sales is refused (403): the outbox
names every lead that was mailed, most of them another rep's or nobody's.

A message's HTML is not put into its page: the preview and the outbox frame it from a view of
its own (`…/html/`), sandboxed, under a policy of its own. The page's Content-Security-Policy
allows no inline style, and a message is made of them (mail clients drop <style>).
"""

from typing import Any

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from playbooks.email import rendering, selectors, services
from playbooks.email.forms import LeadPickForm, OutboxListForm, TemplateForm, TemplateListForm
from playbooks.models import EmailTemplate, OutboundEmail
from smarketing.lib.forms import posted_data
from smarketing.roles import Role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)
TEMPLATES_PER_PAGE = 25
OUTBOX_PER_PAGE = 50
KEPT_IN_OUTBOX = "playbooks.email.backends.KeptInOutbox"
# What services.outbox_retry accepts; the page offers "Send again" only for these.
RETRYABLE = {OutboundEmail.Status.FAILED, OutboundEmail.Status.UNKNOWN}
# A message's HTML in its frame: its own inline styles and the pictures it links, as a mail client
# shows them; no script, form, plugin or navigation, and a sandbox even when opened on its own. Only
# our own pages may frame it.
EMAIL_FRAME_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:", "https:"],
    "font-src": [SELF, "data:", "https:"],
    "frame-ancestors": [SELF],
    "form-action": [NONE],
    "base-uri": [NONE],
    "sandbox": True,
}


def _email_frame(html: str) -> HttpResponse:
    return HttpResponse(html, content_type="text/html; charset=utf-8")


# --- Templates --------------------------------------------------------------------------


@role_required(*EDITORS)
def template_list(request: HttpRequest) -> HttpResponse:
    form = TemplateListForm(request.GET)
    if not form.is_valid():
        return render(request, "playbooks/email/template_list.html", {"form": form, "page": None}, status=400)
    search, kind = form.cleaned_data["q"], form.cleaned_data["kind"]
    rows = selectors.templates_list(search=search, kind=kind)
    context = {
        "form": form,
        "page": Paginator(rows, TEMPLATES_PER_PAGE).get_page(request.GET.get("page")),
        "filtered": bool(search or kind),
    }
    return render(request, "playbooks/email/template_list.html", context)


def _template_page(request: HttpRequest, form: TemplateForm, template: EmailTemplate | None) -> HttpResponse:
    context = {"form": form, "email_template": template, "variables": rendering.VARIABLES}
    status = 400 if form.errors else 200
    return render(request, "playbooks/email/template_edit.html", context, status=status)


@role_required(*EDITORS)
def template_create(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_save(data=form.cleaned_data, by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Template “{template.name}” created. Preview it as a lead would get it, or send yourself a test.",
            )
            return redirect("playbooks:email-template", pk=template.pk)
    return _template_page(request, form, None)


@role_required(*EDITORS)
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    form = TemplateForm.for_template(template, posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.template_save(data=form.cleaned_data, by=request.user, template=template)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("playbooks:email-template", pk=template.pk)
    return _template_page(request, form, template)


@role_required(*EDITORS)
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The message as one lead would get it (?lead=<id or email>; the newest lead by default)."""
    template = get_object_or_404(EmailTemplate, pk=pk)
    form = LeadPickForm(request.GET)
    context: dict[str, Any] = {"email_template": template, "form": form, "lead": None, "rendered": None}
    if form.is_valid():
        ref = form.cleaned_data["lead"]
        lead = selectors.preview_lead(user=request.user, ref=ref)
        if lead is None and ref:
            form.add_error("lead", f"No lead has the id or email address “{ref}”.")
        elif lead is not None:
            context |= {"lead": lead, "rendered": services.template_preview(template=template, lead=lead)}
    status = 400 if form.errors else 200
    return render(request, "playbooks/email/template_preview.html", context, status=status)


@role_required(*EDITORS)
@xframe_options_sameorigin
@csp(EMAIL_FRAME_POLICY)
def template_preview_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview's HTML alone (?lead= as the preview's), for the preview page's frame."""
    template = get_object_or_404(EmailTemplate, pk=pk)
    form = LeadPickForm(request.GET)
    lead = selectors.preview_lead(user=request.user, ref=form.cleaned_data["lead"]) if form.is_valid() else None
    if lead is None:
        raise Http404("No such lead.")
    return _email_frame(services.template_preview(template=template, lead=lead).html)


@role_required(*EDITORS)
@require_POST
def template_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the message as the chosen lead would get it to the person asking (never to the lead)."""
    template = get_object_or_404(EmailTemplate, pk=pk)
    form = LeadPickForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Lead: {' '.join(form.errors['lead'])} The test was not sent.")
        return redirect("playbooks:email-template", pk=template.pk)
    ref = form.cleaned_data["lead"]
    lead = selectors.preview_lead(user=request.user, ref=ref)
    if lead is None:
        messages.error(request, _no_lead(ref))
        return redirect("playbooks:email-template", pk=template.pk)
    try:
        email = services.email_test_send(template=template, lead=lead, to=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Test sent to {email.to_email}; see it in the outbox.")
    return redirect("playbooks:email-template", pk=template.pk)


def _no_lead(ref: str) -> str:
    if ref:
        return f"No lead has the id or email address “{ref}”: the test was not sent."
    return "There are no leads yet: a test shows the message as a lead would get it, so add a lead first."


# --- The outbox -------------------------------------------------------------------------


@role_required(*EDITORS)
def outbox_list(request: HttpRequest) -> HttpResponse:
    form = OutboxListForm(request.GET)
    context: dict[str, Any] = {"form": form, "page": None, "kept_here": settings.EMAIL_BACKEND == KEPT_IN_OUTBOX}
    if not form.is_valid():
        return render(request, "playbooks/email/outbox_list.html", context, status=400)
    filters = form.cleaned_data
    rows = selectors.outbox_list(search=filters["q"], status=filters["status"], kind=filters["kind"])
    context |= {
        "page": Paginator(rows, OUTBOX_PER_PAGE).get_page(request.GET.get("page")),
        "filtered": any(filters.values()),
    }
    return render(request, "playbooks/email/outbox_list.html", context)


def _outbox_html(email: OutboundEmail) -> str:
    """What the outbox shows of a message's HTML (its page and its frame alike)."""
    return "" if email.is_confidential() else selectors.outbox_html_untracked(email)


def _outbox_page(request: HttpRequest, email: OutboundEmail, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "email": email,
        "html": _outbox_html(email),
        "retryable": email.status in RETRYABLE,
        "error": error,
        "kept_here": settings.EMAIL_BACKEND == KEPT_IN_OUTBOX,
    }
    return render(request, "playbooks/email/outbox_detail.html", context, status=status)


@role_required(*EDITORS)
def outbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _outbox_page(request, selectors.outbox_email(pk))


@role_required(*EDITORS)
@xframe_options_sameorigin
@csp(EMAIL_FRAME_POLICY)
def outbox_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The message's HTML alone, for its page's frame (none: 404)."""
    html = _outbox_html(selectors.outbox_email(pk))
    if not html:
        raise Http404("This message has no HTML to show.")
    return _email_frame(html)


@role_required(*EDITORS)
@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    email = selectors.outbox_email(pk)
    try:
        services.outbox_retry(email=email)
    except ValidationError as error:
        return _outbox_page(request, email, error=" ".join(error.messages), status=400)
    messages.success(request, f"Queued again: the message to {email.to_email} is sent in a moment.")
    return redirect("playbooks:outbox-email", pk=email.pk)
