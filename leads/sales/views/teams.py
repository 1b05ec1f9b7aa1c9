"""Teams (managers): their reps, capacity and time away, and the ordered assignment rules."""

from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from leads.models import AssignmentRule, RepProfile
from leads.sales import selectors, teams
from leads.sales.assignment import (
    person,
)
from leads.sales.forms import (
    RepAddForm,
    RepProfileForm,
    RuleForm,
    TeamForm,
    add_sales_error,
)
from leads.sales.services import SalesError
from leads.sales.views.common import day_text, partial_error
from smarketing.lib.forms import posted_data
from smarketing.roles import Role, role_required


@role_required(Role.MANAGER)
def team_list(request: HttpRequest) -> HttpResponse:
    """The manager's teams (every team for a superuser), a form for a new one, and the rules."""
    form = TeamForm(posted_data(request), user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                team = teams.team_create(by=request.user, **form.cleaned_data)
            except SalesError as error:
                add_sales_error(form, error)
            else:
                messages.success(request, f"Created {team}. Next: add its reps, then send it leads with a rule.")
                return redirect("leads:team", pk=team.pk)
        return _team_list_response(request, form, status=400)
    return _team_list_response(request, form)


def _team_list_response(request: HttpRequest, form: Form, *, status: int = 200) -> HttpResponse:
    context = {"teams": selectors.teams_overview(request.user), "form": form, "rules": selectors.rules_described()}
    return render(request, "leads/sales/teams/list.html", context, status=status)


@role_required(Role.MANAGER)
def team_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One team: its reps (capacity, open leads, time away, first touches in time), the rules,
    and where the next pooled leads would go. POST renames it."""
    team = selectors.team_for_user(request.user, pk)
    if request.GET.get("part") == "preview":  # reloaded in place after a change on the page
        return render(request, "leads/sales/teams/detail.html#preview", _preview_context(team))
    if request.method != "POST":
        return render(request, "leads/sales/teams/detail.html", _team_context(request, team))
    form = TeamForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            teams.team_update(team=team, by=request.user, **form.cleaned_data)
        except SalesError as error:
            add_sales_error(form, error)
        else:
            messages.success(request, f"Saved: the team is called {team}.")
            return redirect("leads:team", pk=team.pk)
    return render(request, "leads/sales/teams/detail.html", _team_context(request, team, team_form=form), status=400)


def _preview_context(team: Any) -> dict[str, Any]:
    return {"team": team, "preview": selectors.pool_preview(team), "preview_size": selectors.PREVIEW_SIZE}


def _team_context(request: HttpRequest, team: Any, **forms: Form) -> dict[str, Any]:
    return {
        **_reps_context(team, **forms),
        **_preview_context(team),
        "team_form": forms.get("team_form") or TeamForm(initial={"name": team.name}, user=request.user),
        "rules": selectors.rules_described(),
    }


def _reps_context(team: Any, *, message: str = "", **forms: Form) -> dict[str, Any]:
    reps = selectors.team_reps(team)
    for rep in reps:
        initial = {"capacity": rep.capacity, "away_from": rep.away_from, "away_until": rep.away_until}
        rep.form = forms.get(f"rep_{rep.user_id}") or RepProfileForm(rep_id=rep.user_id, initial=initial)
    add = forms.get("add_form") or RepAddForm(reps=selectors.rep_choices(team))
    return {"team": team, "reps": reps, "add_form": add, "reps_message": message}


def _reps_response(
    request: HttpRequest, team: Any, *, message: str = "", status: int = 200, **forms: Form
) -> HttpResponse:
    """The reps table again (htmx), or the team page (a plain post: redirected when it worked)."""
    if status < 400 and not request.htmx:
        messages.success(request, message)
        return redirect("leads:team", pk=team.pk)
    if not request.htmx:
        context = _team_context(request, team, **forms) | {"reps_message": message}
        return render(request, "leads/sales/teams/detail.html", context, status=status)
    response = render(request, "leads/sales/teams/detail.html#reps", _reps_context(team, message=message, **forms))
    response.status_code = status
    if status >= 400:
        return partial_error(response)
    response["HX-Trigger-After-Settle"] = "teamChanged"  # the preview reloads itself
    return response


@require_POST
@role_required(Role.MANAGER)
def team_rep_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, pk)
    form = RepAddForm(request.POST, reps=selectors.rep_choices(team))
    if not form.is_valid():
        return _reps_response(request, team, status=400, add_form=form)
    try:
        profile = teams.team_rep_add(team=team, by=request.user, **form.cleaned_data)
    except SalesError as error:
        add_sales_error(form, error)
        return _reps_response(request, team, status=error.status, add_form=form)
    text = f"{person(profile.user)} joined {team} with a capacity of {profile.capacity} open leads."
    return _reps_response(request, team, message=text)


@require_POST
@role_required(Role.MANAGER)
def team_rep_update(request: HttpRequest, pk: int, rep_id: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, pk)
    rep = _team_rep(team, rep_id)
    form = RepProfileForm(request.POST, rep_id=rep.pk)
    if not form.is_valid():
        return _reps_response(request, team, status=400, **{f"rep_{rep.pk}": form})
    try:
        profile = teams.rep_profile_update(rep=rep, by=request.user, **form.cleaned_data)
    except SalesError as error:
        add_sales_error(form, error)
        return _reps_response(request, team, status=error.status, **{f"rep_{rep.pk}": form})
    return _reps_response(request, team, message=_profile_text(profile))


def _profile_text(profile: Any) -> str:
    away = ""
    if profile.away_from or profile.away_until:
        start = day_text(profile.away_from) if profile.away_from else "now"
        end = day_text(profile.away_until) if profile.away_until else "further notice"
        away = f" Away from {start} until {end}: the rules pass them over on those days."
    return f"Saved {person(profile.user)}: capacity {profile.capacity} open leads.{away}"


@require_POST
@role_required(Role.MANAGER)
def team_rep_remove(request: HttpRequest, pk: int, rep_id: int) -> HttpResponse:
    team = selectors.team_for_user(request.user, pk)
    rep = _team_rep(team, rep_id)
    try:
        teams.team_rep_remove(team=team, rep=rep, by=request.user)
    except SalesError as error:  # taken out meanwhile, by another manager's click
        return _reps_response(request, team, message=error.message, status=error.status)
    text = (
        f"{person(rep)} left {team}. They keep the leads they hold; the team's new leads and pool are no longer theirs."
    )
    return _reps_response(request, team, message=text)


def _team_rep(team: Any, rep_id: int) -> Any:
    """A rep of this team, else 404."""
    profile = get_object_or_404(RepProfile.objects.select_related("user"), team=team, user_id=rep_id)
    return profile.user


def _back_to(request: HttpRequest) -> tuple[Any, str]:
    """The team page a rule form was opened from (a team of yours), else the teams list."""
    raw = request.POST.get("team") or request.GET.get("team") or ""
    if raw.isdigit():
        team = selectors.teams_managed_by(request.user).filter(pk=int(raw)).first()
        if team is not None:
            return team, reverse("leads:team", args=[team.pk])
    return None, reverse("leads:teams")


@role_required(Role.MANAGER)
def assignment_rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or change an assignment rule; any manager (the rules route every team's leads)."""
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk is not None else None
    initial = RuleForm.initial_for(rule) if rule else {"is_active": True}
    form = RuleForm(posted_data(request), initial=initial)
    team, back = _back_to(request)
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = teams.assignment_rule_save(by=request.user, rule=rule, **form.rule_fields())
            except SalesError as error:
                add_sales_error(form, error)
            else:
                where = "kept its place" if rule else "is last in the order: move it up where it belongs"
                messages.success(request, f"Saved the rule “{saved.name}”; it {where}.")
                return redirect(back)
        context = {"form": form, "rule": rule, "team": team, "back": back}
        return render(request, "leads/sales/teams/rule_form.html", context, status=400)
    return render(request, "leads/sales/teams/rule_form.html", {"form": form, "rule": rule, "team": team, "back": back})


@require_POST
@role_required(Role.MANAGER)
def assignment_rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk)
    teams.assignment_rule_delete(rule=rule, by=request.user)
    messages.success(request, f"Deleted the rule “{rule.name}”. Leads it placed stay where they are.")
    return redirect(_back_to(request)[1])


@require_POST
@role_required(Role.MANAGER)
def assignment_rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a rule one place up or down (the buttons beside each rule's sentence)."""
    rule = get_object_or_404(AssignmentRule, pk=pk)
    direction = request.POST.get("direction")
    ids = list(AssignmentRule.objects.order_by("position", "id").values_list("pk", flat=True))
    at = ids.index(rule.pk)
    to = at - 1 if direction == "up" else at + 1 if direction == "down" else -1
    team, back = _back_to(request)
    if not 0 <= to < len(ids):
        text, status = "That rule cannot move further that way.", 400
    else:
        ids[at], ids[to] = ids[to], ids[at]
        text, status = f"Moved “{rule.name}” to place {to + 1}.", 200
        try:
            teams.assignment_rules_order(by=request.user, rule_ids=ids)
        except SalesError as error:  # a rule was added or deleted meanwhile
            text, status = error.message, 409
    if not request.htmx:
        (messages.success if status == 200 else messages.error)(request, text)
        return redirect(back + "#rules")
    context = {"rules": selectors.rules_described(), "team": team, "rules_message": text}
    context["focus"] = (rule.pk, _focus_after_move(direction, to, len(ids)))
    response = render(request, "leads/sales/teams/snippets/rules.html", context, status=status)
    if status >= 400:
        return partial_error(response)
    response["HX-Trigger-After-Settle"] = "teamChanged"
    return response


def _focus_after_move(direction: str | None, at: int, count: int) -> str:
    """Keep the keyboard on the button just pressed, unless the rule reached that end of the list."""
    if direction == "up":
        return "down" if at <= 0 else "up"
    return "up" if at >= count - 1 else "down"
