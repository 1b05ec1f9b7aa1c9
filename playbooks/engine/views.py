"""Marketing's playbook pages: the list (with the stage policies that always apply), the
builder, a playbook's page (where its leads are, step by step, and what happened to those who
passed), activate and pause, the dry run, enrolling a list, and a lead's playbooks on its page.

Marketing builds and runs playbooks and managers oversee them; Sales is refused (403) except
for the panel on a lead it may open, which shows that lead's enrolments.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leads.models import FUNNEL, CaptureForm, Lead, Stage
from leads.selectors import lead_for_user
from playbooks.email.selectors import templates_list
from playbooks.engine import builder, policies, selectors, services, shape
from playbooks.engine.dry_run import playbook_dry_run
from playbooks.engine.forms import EnrolForm
from playbooks.lists.selectors import lists_of_lead
from playbooks.models import Enrollment, LeadList, Playbook
from smarketing.roles import Role, has_role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)
ANY_ROLE = (Role.MARKETING, Role.SALES, Role.MANAGER)  # a lead's panel: whoever may open the lead
PLAYBOOKS_PER_PAGE = 25
ENROLMENTS_PER_PAGE = 50


@role_required(*EDITORS)
def playbook_list(request: HttpRequest) -> HttpResponse:
    # No name holds a NUL (every form and the API refuse one), and PostgreSQL refuses it in a query.
    search = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    status = request.GET.get("status", "")
    status = status if status in Playbook.Status.values else ""
    rows = selectors.playbooks_listed(search=search, status=status)
    page = Paginator(rows, PLAYBOOKS_PER_PAGE).get_page(request.GET.get("page"))
    texts = selectors.triggers_described([playbook.trigger for playbook in page.object_list])
    for playbook, text in zip(page.object_list, texts, strict=True):
        playbook.trigger_text = text
    context = {
        "page": page,
        "q": search,
        "status": status,
        "statuses": Playbook.Status.choices,
        "filtered": bool(search or status),
        "policies": [(Stage(stage).label, policies.policy_lines(stage)) for stage in policies.STAGE_POLICIES],
        "triggers": shape.TRIGGERS,
    }
    return render(request, "playbooks/engine/playbook_list.html", context)


# --- The builder --------------------------------------------------------------------------


@role_required(*EDITORS)
def playbook_create(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@role_required(*EDITORS)
def playbook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _builder(request, get_object_or_404(Playbook, pk=pk))


def _builder(request: HttpRequest, playbook: Playbook | None) -> HttpResponse:
    if request.method != "POST":
        data = _definition_of(playbook)
        return _builder_page(request, playbook, data, {})
    data, errors = builder.definition_from_post(request.POST)
    action = request.POST.get("action", "save")
    if action != "save":
        data["steps"] = builder.steps_changed(data["steps"], action, request.POST.get("new_type", ""))
        return _builder_page(request, playbook, data, {})
    if not errors:
        try:
            playbook = services.playbook_save(data=data, by=request.user, playbook=playbook)
        except ValidationError as refused:
            errors = refused.message_dict
        else:
            messages.success(request, f"Playbook “{playbook.name}” saved.")
            return redirect("playbooks:playbook", playbook.pk)
    return _builder_page(request, playbook, data, errors, status=400)


def _definition_of(playbook: Playbook | None) -> dict[str, Any]:
    if playbook is None:
        return {
            "name": "",
            "description": "",
            "trigger": {"type": "stage_entered", "stage": Stage.MQL},
            "steps": [],
            "exits": [],
            "reentry": Playbook.Reentry.NEVER,
            "reentry_days": None,
        }
    fields = ("name", "description", "trigger", "steps", "exits", "reentry", "reentry_days")
    return {name: getattr(playbook, name) for name in fields}


def _builder_page(
    request: HttpRequest,
    playbook: Playbook | None,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    status: int = 200,
) -> HttpResponse:
    steps = []
    keys = [step.get("key") or "" for step in data["steps"]]
    for index, step in enumerate(data["steps"]):
        prefix = f"steps.{index}."
        step_errors = {key[len(prefix) :]: value for key, value in errors.items() if key.startswith(prefix)}
        fields = {name: builder.step_text(step, name) for name in builder.STEP_FIELDS.get(step.get("type"), ())}
        later = [key for key in keys[index + 1 :] if key]
        steps.append(
            {
                "index": index,
                "step": step,
                "fields": fields,
                "errors": step_errors,
                "later": later,
                "label": shape.STEPS.get(step.get("type"), step.get("type")),
            }
        )
    exits = {rule.get("type"): rule for rule in data["exits"] if isinstance(rule, dict)}
    goal = exits.get("goal", {}).get("condition")
    context = {
        "playbook": playbook,
        "data": data,
        "trigger": data["trigger"] if isinstance(data["trigger"], dict) else {},
        "trigger_where": builder.trigger_where_text(data["trigger"] if isinstance(data["trigger"], dict) else {}),
        "steps": steps,
        "step_count": len(steps),
        "errors": errors,
        "top_errors": {k: v for k, v in errors.items() if not k.startswith("steps.") or k == "steps"},
        "exit_stage": exits.get("stage_reached", {}).get("stage", ""),
        "exit_goal": builder.step_text({"condition": goal}, "condition") if goal is not None else "",
        "choices": _choices(),
    }
    return render(request, "playbooks/engine/builder.html", context, status=status)


def _choices() -> dict[str, Any]:
    return {
        "triggers": shape.TRIGGERS,
        "steps": shape.STEPS,
        "stages": Stage.choices,
        "funnel": [(stage.value, stage.label) for stage in FUNNEL],
        "templates": list(templates_list(search="", kind="").values_list("pk", "name", "kind")),
        "lists": list(LeadList.objects.filter(kind=LeadList.Kind.STATIC).values_list("pk", "name")),
        "forms": list(CaptureForm.objects.values_list("key", "name")),
        "fields": shape.SETTABLE_FIELDS,
        "weekdays": list(enumerate(shape.WEEKDAYS)),
        "reentry": Playbook.Reentry.choices,
    }


# --- A playbook ---------------------------------------------------------------------------


@role_required(*EDITORS)
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    status = request.GET.get("status", "")
    status = status if status in Enrollment.Status.values else ""
    enrolments = selectors.playbook_enrolments(playbook, status=status)
    context = {
        "playbook": playbook,
        "figures": selectors.playbook_step_figures(playbook),
        "page": Paginator(enrolments, ENROLMENTS_PER_PAGE).get_page(request.GET.get("page")),
        "status": status,
        "statuses": Enrollment.Status.choices,
        "lists": LeadList.objects.all(),
        "trigger_text": selectors.triggers_described([playbook.trigger])[0],
        "step_labels": shape.STEPS,
    }
    return render(request, "playbooks/engine/playbook_detail.html", context)


@require_POST
@role_required(*EDITORS)
def playbook_activate(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    try:
        services.playbook_activate(playbook=playbook, by=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, f"“{playbook.name}” is active: leads enter from now on.")
    return redirect("playbooks:playbook", playbook.pk)


@require_POST
@role_required(*EDITORS)
def playbook_pause(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = services.playbook_pause(playbook=get_object_or_404(Playbook, pk=pk), by=request.user)
    messages.success(request, f"“{playbook.name}” is paused: nobody enters and nothing is sent until you activate it.")
    return redirect("playbooks:playbook", playbook.pk)


@require_POST
@role_required(*EDITORS)
def playbook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    try:
        services.playbook_delete(playbook=playbook, by=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("playbooks:playbook", playbook.pk)
    messages.success(request, f"Playbook “{playbook.name}” deleted.")
    return redirect("playbooks:playbooks")


@role_required(*EDITORS)
def playbook_dry_run_page(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    return render(
        request, "playbooks/engine/dry_run.html", {"playbook": playbook, "run": playbook_dry_run(playbook=playbook)}
    )


@require_POST
@role_required(*EDITORS)
def playbook_enrol_list(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    lead_list = LeadList.objects.filter(pk=_int(request.POST.get("list"))).first()
    if lead_list is None:
        messages.error(request, "Choose a list to enrol.")
        return redirect("playbooks:playbook", playbook.pk)
    try:
        entered = services.list_enrol(playbook=playbook, lead_list=lead_list, by=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(
            request,
            f"{entered} leads of “{lead_list.name}” enrolled; the others are inside already or may not come back.",
        )
    return redirect("playbooks:playbook", playbook.pk)


@require_POST
@role_required(*EDITORS)
def enrolment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = get_object_or_404(Enrollment.objects.select_related("playbook", "lead"), pk=pk)
    if services.enrolment_remove(enrolment=enrolment, by=request.user):
        messages.success(request, f"{enrolment.lead.email} removed from “{enrolment.playbook.name}”.")
    return redirect(
        request.POST.get("next") if request.POST.get("next", "").startswith("/") else "playbooks:playbook",
        enrolment.playbook_id,
    )


# --- A lead's playbooks (a panel on the lead page) -------------------------------------------


@role_required(*ANY_ROLE)
def lead_playbooks(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_for_user(request.user, pk)
    may_enrol = has_role(request.user, *EDITORS)
    if request.method != "POST":
        return _lead_panel(request, lead, EnrolForm() if may_enrol else None)
    if not may_enrol:
        raise PermissionDenied("Only marketing and managers enrol a lead in a playbook.")
    form = EnrolForm(request.POST)
    if form.is_valid():
        playbook = form.cleaned_data["playbook"]
        try:
            entered = services.lead_enrol(playbook=playbook, lead=lead, by=request.user)
        except ValidationError as refused:
            form.add_error(None, refused)  # keyed "playbook": shown on its field
        else:
            if entered:
                messages.success(request, f"Enrolled in “{playbook.name}”.")
            else:
                messages.error(
                    request, f"Not enrolled: the lead is in “{playbook.name}” already, or may not enter it again."
                )
            return redirect("leads:detail", lead.pk)
    # The form is posted from the lead's page: its refusal comes back on a page of its own.
    return _lead_panel(request, lead, form, template="playbooks/engine/lead_enrol.html", status=400)


def _lead_panel(
    request: HttpRequest,
    lead: Lead,
    enrol_form: EnrolForm | None,
    *,
    template: str = "playbooks/engine/lead_panel.html",
    status: int = 200,
) -> HttpResponse:
    """The lead's enrolments and lists; the enrol form for marketing and managers, shown while
    an active playbook exists (or with its refusal)."""
    offer = enrol_form is not None and (enrol_form.errors or enrol_form.fields["playbook"].queryset.exists())
    context = {
        "lead": lead,
        "enrolments": selectors.lead_enrolments(lead),
        "lists": lists_of_lead(lead),
        "may_enrol": enrol_form is not None,
        "enrol_form": enrol_form if offer else None,
    }
    return render(request, template, context, status=status)


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0
