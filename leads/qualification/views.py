"""Qualification-definition pages: versions, the rule-tree builder, sign-off, activation, backtest.

Marketing and managers build and run versions; sales reps read them and sign for sales.
Every lifecycle step is a POST to one service in leads.qualification; a DefinitionError comes
back as a page message with status 400 and the version unchanged.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from leads.conditions import OPERATORS
from leads.jobs import job_for_user
from leads.models import LEAD_ATTRIBUTE_FIELDS, DefinitionStatus, Job, Persona, QualificationDefinition
from leads.qualification import backtest, selectors, services, trees
from leads.qualification.forms import GROUP_OPS, LEAF_OPS, DefinitionMetaForm, TreeBuilder
from leads.qualification.services import DefinitionError
from smarketing.roles import Role, has_role, role_required

VIEWERS = (Role.MARKETING, Role.MANAGER, Role.SALES)


EDITORS = (Role.MARKETING, Role.MANAGER)


VERSIONS_PER_PAGE = 50


REVIEW_LIMIT = 50


SIGNERS = ("created_by", "marketing_signed_by", "sales_signed_by", "based_on")


BACKTESTABLE = (DefinitionStatus.DRAFT, DefinitionStatus.PROPOSED)


REVIEWABLE = (DefinitionStatus.DRAFT, DefinitionStatus.PROPOSED, DefinitionStatus.APPROVED)


def _definition(pk: int) -> QualificationDefinition:
    return get_object_or_404(QualificationDefinition.objects.select_related(*SIGNERS), pk=pk)


@role_required(*VIEWERS)
def definition_list(request: HttpRequest) -> HttpResponse:
    versions = QualificationDefinition.objects.select_related(*SIGNERS).order_by("-version")
    page = Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "active": selectors.active_definition(),
        "can_edit": has_role(request.user, *EDITORS),
    }
    return render(request, "leads/qualification/list.html", context)


@role_required(*VIEWERS)
def definition_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _definition(pk))


def _detail_page(request: HttpRequest, definition: QualificationDefinition, *, status: int = 200) -> HttpResponse:
    active = selectors.active_definition()
    backtest_job = _latest_job(definition, "backtest")
    context = {
        "definition": definition,
        "active": active,
        "outlines": [("MQL", _outline(definition.mql_rule)), ("SQL", _outline(definition.sql_rule))],
        "diff": _diff(active, definition) if active and active.pk != definition.pk else None,
        "actions": _actions(request.user, definition),
        "backtest_job": backtest_job,
        "chart": _chart(backtest_job),
        "requalify_job": _latest_job(definition, "requalify"),
        "reviewable": definition.status in REVIEWABLE and bool(definition.mql_rule or definition.sql_rule),
    }
    return render(request, "leads/qualification/detail.html", context, status=status)


def _outline(tree: dict[str, Any]) -> list[tuple[int, str]]:
    return trees.outline(tree) if tree else []


def _diff(active: QualificationDefinition, definition: QualificationDefinition) -> dict[str, Any]:
    """The diff's lines per part (MQL, SQL), with their depth, and whether anything changed."""
    parts: dict[str, list[dict[str, Any]]] = {"MQL": [], "SQL": []}
    for line in selectors.definitions_diff(active, definition):
        text = line["text"]
        depth = (len(text) - len(text.lstrip(" "))) // 2
        parts[line["part"]].append({"change": line["change"], "depth": depth, "text": text.strip()})
    changed = any(line["change"] != "same" for lines in parts.values() for line in lines)
    return {"parts": list(parts.items()), "changed": changed}


def _actions(user: Any, definition: QualificationDefinition) -> dict[str, Any]:
    """Which buttons this user gets on this version, by role and state."""
    editor = has_role(user, *EDITORS)
    status = definition.status
    sides = []
    if status == DefinitionStatus.PROPOSED:
        signed_by = {definition.marketing_signed_by_id, definition.sales_signed_by_id}
        for side in sorted(services.signable_sides(user)):
            if not getattr(definition, f"{side}_signed_by_id") and user.pk not in signed_by:
                sides.append(side)
    return {
        "edit": editor,
        "propose": editor and status == DefinitionStatus.DRAFT,
        "sign": sides,
        "activate": editor and status == DefinitionStatus.APPROVED,
        "retire": has_role(user, Role.MANAGER) and status in (DefinitionStatus.ACTIVE, DefinitionStatus.APPROVED),
        "backtest": editor and status in BACKTESTABLE,
    }


def _latest_job(definition: QualificationDefinition, kind: str) -> Job | None:
    return Job.objects.filter(kind=kind, params__definition_id=definition.pk).order_by("-created_at", "-id").first()


def _chart(job: Job | None) -> dict[str, Any] | None:
    if job is None or job.kind != "backtest" or job.status != Job.Status.DONE or not job.result:
        return None
    return backtest_chart(job.result)


@role_required(*VIEWERS)
def definition_job(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    """A version's requalification or backtest job; htmx polls it, a finished backtest shows its chart."""
    definition = get_object_or_404(QualificationDefinition, pk=pk)
    job = job_for_user(request.user, job_pk, kinds=("backtest", "requalify"))
    if job.params.get("definition_id") != definition.pk:
        raise Http404("This job is not this version's.")
    context = {"definition": definition, "job": job, "chart": _chart(job)}
    return render(request, "leads/qualification/snippets/job.html", context)


@role_required(*VIEWERS)
def definition_review(request: HttpRequest, pk: int) -> HttpResponse:
    """MQLs and SQLs this version would not qualify today: listed for review, nobody is demoted."""
    definition = get_object_or_404(QualificationDefinition, pk=pk)
    leads = selectors.leads_no_longer_qualifying(definition=definition, limit=REVIEW_LIMIT)
    editor = has_role(request.user, *EDITORS)
    if not editor:
        leads = [lead for lead in leads if lead.owner_id == request.user.pk]  # a rep sees only their own
    template = "leads/qualification/review.html" + ("#review" if request.htmx else "")
    context = {"definition": definition, "leads": leads, "limit": REVIEW_LIMIT, "mine_only": not editor}
    return render(request, template, context)


@role_required(*EDITORS)
def definition_new(request: HttpRequest) -> HttpResponse:
    """A new draft, from scratch or (``?copy=<id>``) starting from another version's trees."""
    source = request.POST.get("based_on") if request.method == "POST" else request.GET.get("copy")
    base = get_object_or_404(QualificationDefinition, pk=source) if source and source.isdigit() else None
    return _builder(request, definition=None, base=base)


@role_required(*EDITORS)
def definition_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft's trees; saving any later version starts a new draft based on it."""
    return _builder(request, definition=_definition(pk), base=None)


def _builder(
    request: HttpRequest, *, definition: QualificationDefinition | None, base: QualificationDefinition | None
) -> HttpResponse:
    source = definition or base
    if request.method != "POST":
        builder = TreeBuilder.from_trees(mql=source.mql_rule if source else {}, sql=source.sql_rule if source else {})
        initial = {"name": source.name, "notes": source.notes} if definition else {}
        return _builder_page(request, DefinitionMetaForm(initial=initial), builder, definition, base)
    builder = TreeBuilder.from_post(request.POST)
    action = request.POST.get("action", "save")
    if action != "save":
        builder.apply(action, request.POST)
        form = DefinitionMetaForm(initial={k: request.POST.get(k, "") for k in ("name", "notes")})
        return _builder_page(request, form, builder, definition, base)
    form = DefinitionMetaForm(request.POST)
    trees_ok = builder.validate()
    if not (form.is_valid() and trees_ok):
        return _builder_page(request, form, builder, definition, base, status=400)
    fields = {**form.cleaned_data, "mql_rule": builder.trees["mql"], "sql_rule": builder.trees["sql"]}
    try:
        saved = _save_draft(request, definition, base, fields)
    except DefinitionError as error:
        form.add_error(None, str(error))
        return _builder_page(request, form, builder, definition, base, status=400)
    url = reverse("leads:definition", args=[saved.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _save_draft(
    request: HttpRequest,
    definition: QualificationDefinition | None,
    base: QualificationDefinition | None,
    fields: dict[str, Any],
) -> QualificationDefinition:
    """Create the draft, change it in place, or (for a later version) start a new draft from it."""
    if definition is None:
        saved = services.definition_create(by=request.user, based_on=base, **fields)
        messages.success(request, f"Created draft v{saved.version}. Run a backtest, then propose it for sign-off.")
    elif definition.status == DefinitionStatus.DRAFT:
        saved = services.definition_edit(definition=definition, by=request.user, **fields)
        messages.success(request, f"Saved draft v{saved.version}.")
    else:
        saved = services.definition_edit(definition=definition, by=request.user, **fields)
        messages.success(
            request,
            f"v{definition.version} is {definition.get_status_display().lower()}, so your changes became "
            f"a new draft, v{saved.version}, based on it.",
        )
    return saved


def _builder_page(
    request: HttpRequest,
    form: DefinitionMetaForm,
    builder: TreeBuilder,
    definition: QualificationDefinition | None,
    base: QualificationDefinition | None,
    *,
    status: int = 200,
) -> HttpResponse:
    template = "leads/qualification/builder.html" + ("#builder-form" if request.htmx else "")
    context = {
        "form": form,
        "builder": builder,
        "sections": _with_suggestions(builder.sections()),
        "event_types": selectors.event_types_seen(),
        "personas": list(Persona.objects.filter(is_active=True).order_by("name").values_list("name", flat=True)),
        "errors": builder.error_list(),
        "definition": definition,
        "base": base,
        "group_ops": GROUP_OPS,
        "leaf_ops": LEAF_OPS,
        "fields": LEAD_ATTRIBUTE_FIELDS,
        "operators": OPERATORS,
    }
    return render(request, template, context, status=status)


def _with_suggestions(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event rule offers the property filters seen on its event type's latest events."""

    def visit(node: dict[str, Any] | None) -> None:
        if not node:
            return
        for child in node.get("children", []):
            visit(child)
        event = node.get("values", {}).get("event", "")
        if node.get("op") in ("has_event", "event_after") and event:
            node["where_options"] = selectors.event_properties_seen(event)

    for section in sections:
        visit(section["root"])
    return sections


def _step(
    request: HttpRequest, definition: QualificationDefinition, run: Callable[[], Any], done: Callable[[Any], str]
) -> HttpResponse:
    """Run one lifecycle service; on DefinitionError show the version again with the reason (400)."""
    try:
        outcome = run()
    except DefinitionError as error:
        messages.error(request, str(error))
        return _detail_page(request, definition, status=400)
    messages.success(request, done(outcome))
    return redirect("leads:definition", pk=definition.pk)


@role_required(*EDITORS)
@require_POST
def definition_propose(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _definition(pk)
    return _step(
        request,
        definition,
        lambda: services.definition_propose(definition=definition, by=request.user),
        lambda d: f"Proposed v{d.version}. It needs one marketing and one sales signature before activation.",
    )


@role_required(*VIEWERS)
@require_POST
def definition_sign(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _definition(pk)
    side = request.POST.get("side", "")

    def sign() -> QualificationDefinition:
        if side not in ("marketing", "sales"):
            raise DefinitionError("Choose the side you sign for: marketing or sales.")
        return services.definition_sign(definition=definition, by=request.user, side=side)

    def done(signed: QualificationDefinition) -> str:
        if signed.status == DefinitionStatus.APPROVED:
            return f"Signed v{signed.version} for {side}. Both sides have signed: it is approved and can be activated."
        return f"Signed v{signed.version} for {side}. It now waits for the other side's signature."

    return _step(request, definition, sign, done)


@role_required(*EDITORS)
@require_POST
def definition_activate(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _definition(pk)
    return _step(
        request,
        definition,
        lambda: services.definition_activate(definition=definition, by=request.user),
        lambda job: (
            f"Activated v{definition.version}. Requalifying {intcomma(job.total)} lead{pluralize(job.total)} "
            "in the background; nobody is demoted: leads that no longer qualify keep their stage for review."
        ),
    )


@role_required(Role.MANAGER)
def definition_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm; POST retires the version."""
    definition = _definition(pk)
    if request.method != "POST":
        return render(request, "leads/qualification/confirm_retire.html", {"definition": definition})
    after = " No version is active now: activate an approved one." if definition.status == "active" else ""
    return _step(
        request,
        definition,
        lambda: services.definition_retire(definition=definition, by=request.user),
        lambda retired: f"Retired v{retired.version}.{after}",
    )


@role_required(*EDITORS)
@require_POST
def definition_backtest(request: HttpRequest, pk: int) -> HttpResponse:
    definition = _definition(pk)

    def run() -> Job:
        if definition.status not in BACKTESTABLE:
            raise DefinitionError(
                f"Backtests run on drafts and proposed versions; v{definition.version} is {definition.status}."
            )
        return backtest.backtest_enqueue(definition=definition, by=request.user)

    return _step(
        request,
        definition,
        run,
        lambda job: f"Backtesting v{definition.version} over the past 12 months; the chart appears when it is done.",
    )


CHART_HEIGHT = 160


CHART_TOP = 10


GROUP_WIDTH = 64


BAR_WIDTH = 12


LEFT = 36


SERIES = [
    ("draft", "mql", "MQLs, this version"),
    ("active", "mql", "MQLs, active version"),
    ("draft", "sql", "SQLs, this version"),
    ("active", "sql", "SQLs, active version"),
]


def backtest_chart(result: dict[str, Any]) -> dict[str, Any]:
    """Bars per month for MQLs and SQLs (this version beside the active one) and a win-rate line.

    1. Take the series present in the result (the active ones only when a version is active).
    2. Scale every bar to the largest monthly count, so heights compare across series.
    3. The line joins each month's win rate of this version's MQLs (0–100 % on the same height).
    """
    months = result.get("months", [])
    series = [(side, stage, label) for side, stage, label in SERIES if result.get(side, {}).get(stage)]
    peak = max([row["count"] for side, stage, _ in series for row in result[side][stage]] + [1])
    base = CHART_TOP + CHART_HEIGHT
    bars, labels, points, rows = [], [], [], []
    for index, month in enumerate(months):
        left = LEFT + index * GROUP_WIDTH
        for position, (side, stage, label) in enumerate(series):
            count = result[side][stage][index]["count"]
            height = round(count * CHART_HEIGHT / peak, 1)
            bars.append(
                {
                    "x": left + 4 + position * BAR_WIDTH,
                    "y": round(base - height, 1),
                    "height": height,
                    "series": f"{side}-{stage}",
                    "title": f"{label}, {_month_label(month)}: {count}",
                }
            )
        labels.append({"x": left + GROUP_WIDTH / 2, "text": _month_label(month, short=True)})
        draft_mql = result.get("draft", {}).get("mql", [])
        if index < len(draft_mql) and draft_mql[index]["count"]:
            rate = draft_mql[index]["won"] / draft_mql[index]["count"]
            points.append(f"{left + GROUP_WIDTH / 2},{round(base - rate * CHART_HEIGHT, 1)}")
        rows.append({"month": _month_label(month), "cells": [result[s][t][index] for s, t, _ in series]})
    return {
        "width": LEFT + GROUP_WIDTH * max(len(months), 1) + 8,
        "height": base + 24,
        "base": base,
        "left": LEFT,
        "label_y": base + 16,
        "top": CHART_TOP,
        "peak": peak,
        "bars": bars,
        "labels": labels,
        "line": " ".join(points),
        "series": [{"key": f"{side}-{stage}", "label": label} for side, stage, label in series],
        "rows": rows,
        "totals": _totals(result),
    }


def _totals(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for side, title in (("draft", f"v{result.get('version')}"), ("active", f"v{result.get('active_version')}")):
        if side not in result:
            continue
        for stage in ("mql", "sql"):
            figures = result.get(f"{side}_totals", {}).get(stage, {})
            out.append({"version": title, "side": side, "stage": stage.upper(), **figures})
    return out


def _month_label(month: str, *, short: bool = False) -> str:
    try:
        moment = datetime.strptime(month, "%Y-%m")  # noqa: DTZ007 — a calendar month, not a moment
    except ValueError:
        return month
    return moment.strftime("%b" if short else "%b %Y")
