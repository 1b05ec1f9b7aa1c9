"""Marketing's scoring pages: personas and scoring rules. Marketing and managers only.

Forms post back to themselves: "add a condition" and "remove" re-render the form (htmx swaps
it in place), "save" validates, saves through leads.scoring.rules and goes back to the list,
which follows the rescore job's progress.
"""

from typing import Any

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from leads.models import Job, Persona, ScoringRule
from leads.scoring.forms import (
    CONDITIONS_PREFIX,
    ConditionFormSet,
    PersonaForm,
    RuleForm,
    blank_condition,
    condition_rows,
    condition_rows_apply,
    posted_condition_rows,
)
from leads.scoring.rules import persona_save, persona_set_active, rule_save, rule_set_active
from leads.scoring.selectors import personas_overview, rescore_job_for_page, rules_overview
from smarketing.roles import Role, role_required

EDITORS = (Role.MARKETING, Role.MANAGER)


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """After a save: htmx is told to navigate, a plain form post is redirected."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _saved(request: HttpRequest, what: str, job: Job | None, list_name: str) -> HttpResponse:
    if job is None:
        messages.success(request, f"Saved {what}. Scores do not change, so no rescore was needed.")
        return _go(request, reverse(list_name))
    messages.success(
        request,
        f"Saved {what}. Rescoring {intcomma(job.total)} lead{pluralize(job.total)} in the background — "
        "follow it below; you can leave this page and come back.",
    )
    return _go(request, f"{reverse(list_name)}?job={job.pk}")


@role_required(*EDITORS)
def persona_list(request: HttpRequest) -> HttpResponse:
    context = {"rows": personas_overview(), "job": rescore_job_for_page(request.user, request.GET.get("job"))}
    return render(request, "leads/scoring/persona_list.html", context)


@role_required(*EDITORS)
def persona_create(request: HttpRequest) -> HttpResponse:
    return _persona_form(request, persona=None)


@role_required(*EDITORS)
def persona_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _persona_form(request, persona=get_object_or_404(Persona, pk=pk))


def _persona_form(request: HttpRequest, *, persona: Persona | None) -> HttpResponse:
    if request.method != "POST":
        rows = condition_rows(persona.conditions) if persona else [blank_condition()]
        formset = ConditionFormSet(initial=rows, prefix=CONDITIONS_PREFIX)
        return _persona_page(request, PersonaForm(persona=persona), formset, persona)
    action = request.POST.get("action", "save")
    if action != "save":
        rows, focus = condition_rows_apply(posted_condition_rows(request.POST), action)
        form = PersonaForm(persona=persona, initial={k: request.POST.get(k, "") for k in ("name", "description")})
        formset = ConditionFormSet(initial=rows, prefix=CONDITIONS_PREFIX)
        return _persona_page(request, form, formset, persona, focus=focus)
    form = PersonaForm(request.POST, persona=persona)
    formset = ConditionFormSet(request.POST, prefix=CONDITIONS_PREFIX)
    if not (form.is_valid() and formset.is_valid()):
        return _persona_page(request, form, formset, persona, status=400)
    try:
        saved, job = persona_save(
            by=request.user,
            persona=persona,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            conditions=formset.conditions(),
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _persona_page(request, form, formset, persona, status=400)
    return _saved(request, f"persona “{saved.name}”", job, "leads:personas")


def _persona_page(
    request: HttpRequest,
    form: PersonaForm,
    formset: Any,
    persona: Persona | None,
    *,
    focus: str = "",
    status: int = 200,
) -> HttpResponse:
    template = "leads/scoring/persona_form.html"
    if request.htmx:
        template += "#persona-form"
    context = {"form": form, "formset": formset, "persona": persona, "focus": focus}
    return render(request, template, context, status=status)


@role_required(*EDITORS)
def persona_active(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm a deactivation; POST switches the persona off or back on."""
    persona = get_object_or_404(Persona, pk=pk)
    if request.method != "POST":
        return _confirm_deactivate(request, persona.name, "persona", reverse("leads:personas"))
    is_active = request.POST.get("is_active") == "1"
    job = persona_set_active(persona=persona, is_active=is_active, by=request.user)
    state = "reactivated" if is_active else "deactivated"
    return _switched(request, f"Persona “{persona.name}” {state}", job, "leads:personas")


@role_required(*EDITORS)
def rule_list(request: HttpRequest) -> HttpResponse:
    context = {**rules_overview(), "job": rescore_job_for_page(request.user, request.GET.get("job"))}
    return render(request, "leads/scoring/rule_list.html", context)


@role_required(*EDITORS)
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, rule=None)


@role_required(*EDITORS)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form(request, rule=get_object_or_404(ScoringRule, pk=pk))


def _rule_form(request: HttpRequest, *, rule: ScoringRule | None) -> HttpResponse:
    if request.method != "POST":
        kind = request.GET.get("kind", ScoringRule.Kind.ENGAGEMENT)
        initial = None if rule else {"kind": kind if kind in ScoringRule.Kind.values else ScoringRule.Kind.ENGAGEMENT}
        return _rule_page(request, RuleForm(rule=rule, initial=initial) if initial else RuleForm(rule=rule), rule)
    if request.POST.get("action") == "refresh":
        # The kind changed: show the fields that kind uses, keeping what was typed.
        return _rule_page(request, RuleForm(rule=rule, initial=request.POST.dict()), rule, focus="id_kind")
    form = RuleForm(request.POST, rule=rule)
    if not form.is_valid():
        return _rule_page(request, form, rule, status=400)
    try:
        saved, job = rule_save(by=request.user, rule=rule, fields=form.rule_fields())
    except ValidationError as error:
        form.add_error(None, error)
        return _rule_page(request, form, rule, status=400)
    return _saved(request, f"rule “{saved.name}”", job, "leads:scoring")


def _rule_page(
    request: HttpRequest, form: RuleForm, rule: ScoringRule | None, *, focus: str = "", status: int = 200
) -> HttpResponse:
    template = "leads/scoring/rule_form.html"
    if request.htmx:
        template += "#rule-form"
    context = {"form": form, "rule": rule, "kind": form.current_kind, "focus": focus}
    return render(request, template, context, status=status)


@role_required(*EDITORS)
def rule_active(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm a deactivation; POST switches the rule off or back on."""
    rule = get_object_or_404(ScoringRule, pk=pk)
    if request.method != "POST":
        return _confirm_deactivate(request, rule.name, "rule", reverse("leads:scoring"))
    is_active = request.POST.get("is_active") == "1"
    job = rule_set_active(rule=rule, is_active=is_active, by=request.user)
    state = "reactivated" if is_active else "deactivated"
    return _switched(request, f"Rule “{rule.name}” {state}", job, "leads:scoring")


def _confirm_deactivate(request: HttpRequest, name: str, noun: str, cancel_url: str) -> HttpResponse:
    context = {"name": name, "noun": noun, "cancel_url": cancel_url}
    return render(request, "leads/scoring/confirm_deactivate.html", context)


def _switched(request: HttpRequest, what: str, job: Job | None, list_name: str) -> HttpResponse:
    if job is None:
        messages.info(request, f"{what}: it already was, so nothing changed.")
        return redirect(list_name)
    messages.success(
        request,
        f"{what}. Rescoring {intcomma(job.total)} lead{pluralize(job.total)} in the background — follow it below.",
    )
    return redirect(f"{reverse(list_name)}?job={job.pk}")
