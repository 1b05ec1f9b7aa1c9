"""Reads behind the sales pages that the services do not already give: a manager's team view
of queues and pools, the deal list's totals per stage, the owners a user may filter deals by,
what giving leads an owner will do, and the Teams pages (teams, their reps, the assignment
rules as sentences, a preview of placements).

Each read is a fixed number of queries whatever the data (the pages assert it).
"""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from leads.conditions import describe_condition
from leads.models import (
    OPEN_HANDOFF,
    Agreement,
    AssignmentRule,
    Deal,
    DealStage,
    Handoff,
    HandoffStatus,
    Lead,
    RepProfile,
    Stage,
    Team,
)
from leads.sales.assignment import LEAD_COLUMNS, placements_preview
from leads.sales.manual_handoff import BELOW_MQL
from leads.sales.queue import pools_of, rep_open_count, rep_profile
from smarketing.lib.periods import month_bounds, month_first
from smarketing.roles import Role, has_role

# --- Who may see what: one helper per object kind --------------------------------------
# Leads have theirs in leads.selectors (leads_visible_to, lead_for_user; open or work).
# Everything else a manager sees follows their teams; a superuser sees every team.


def teams_managed_by(user: Any) -> QuerySet[Team]:
    """The teams this user manages (every team for a superuser)."""
    if getattr(user, "is_superuser", False):
        return Team.objects.all()
    if not has_role(user, Role.MANAGER):
        return Team.objects.none()
    return Team.objects.filter(manager=user)


def team_for_user(user: Any, pk: int) -> Team:
    """The team if this user manages it, else 404."""
    team = teams_managed_by(user).filter(pk=pk).first()
    if team is None:
        raise Http404("No such team among yours.")
    return team


def profiles_managed_by(user: Any) -> QuerySet[RepProfile]:
    """The reps of the user's teams, as their profiles."""
    return RepProfile.objects.select_related("user", "team").filter(team__in=teams_managed_by(user))


def reps_managed_by(user: Any) -> QuerySet:
    """The active sales users of the user's teams: whom a manager may hand deals to or filter by."""
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES.value)
    return users.filter(rep_profile__team__in=teams_managed_by(user))


def rep_for_user(user: Any, rep_id: Any) -> Any:
    """The rep whose queue this user may read: a rep themself, a manager one of their teams' reps.

    Anyone else is 404 (another team's rep does not exist for you).
    """
    try:
        rep_pk = int(rep_id)
    except (TypeError, ValueError) as error:
        raise Http404("No such rep in your teams.") from error
    if rep_pk == user.pk and has_role(user, Role.SALES):
        return user
    profile = profiles_managed_by(user).filter(user_id=rep_pk).first()
    if profile is None:
        raise Http404("No such rep in your teams.")
    return profile.user


def handoffs_visible_to(user: Any) -> QuerySet[Handoff]:
    """A rep's own handoffs; a manager's teams' (held by their reps or in their pools)."""
    if getattr(user, "is_superuser", False):
        return Handoff.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.MANAGER):
        scope |= Q(team__manager=user) | Q(assigned_to__rep_profile__team__manager=user)
    if has_role(user, Role.SALES):
        scope |= Q(assigned_to=user)
    return Handoff.objects.filter(scope)


def deals_visible_to(user: Any) -> QuerySet[Deal]:
    """A rep sees their own deals; a manager their teams'; a superuser all."""
    if getattr(user, "is_superuser", False):
        return Deal.objects.all()
    scope = Q(pk__in=[])
    if has_role(user, Role.MANAGER):
        scope |= Q(owner__rep_profile__team__manager=user)
    if has_role(user, Role.SALES):
        scope |= Q(owner=user)
    return Deal.objects.filter(scope)


def deal_for_user(user: Any, pk: int) -> Deal:
    """The deal if this user may see it, else 404."""
    deals = deals_visible_to(user).select_related("stage", "owner", "lost_reason", "lead__scoring__persona")
    deal = deals.select_related("lead__owner", "lead__first_campaign").filter(pk=pk).first()
    if deal is None:
        raise Http404("No such deal.")
    return deal


TEAM_URGENT_LIMIT = 50


def team_queues(*, manager: Any) -> dict[str, Any]:
    """The manager's reps with their load and overdue leads, the pools they draw from, and the
    team's untouched leads by deadline (overdue first). Three queries."""
    now = timezone.now()
    assigned = Q(user__handoffs__status=HandoffStatus.ASSIGNED)
    untouched = assigned & Q(user__handoffs__first_touch_at__isnull=True)
    reps = list(
        profiles_managed_by(manager)
        .annotate(
            open=Count("user__handoffs", filter=assigned),
            overdue=Count("user__handoffs", filter=untouched & Q(user__handoffs__due_at__lt=now)),
        )
        .order_by("team__name", "user__first_name", "user__username")
    )
    return {"reps": reps, "pools": _pools(manager), "urgent": _urgent(manager, now)}


def _pools(manager: Any) -> list[dict[str, Any]]:
    """Waiting leads per pool: the manager's teams' and the general one (team None)."""
    pooled = Handoff.objects.filter(Q(team__in=teams_managed_by(manager)) | Q(team__isnull=True))
    pooled = pooled.filter(status=HandoffStatus.POOLED)
    rows = pooled.order_by().values("team_id", "team__name").annotate(waiting=Count("id"))
    return sorted(rows, key=lambda row: (row["team__name"] is None, row["team__name"] or ""))


def _urgent(manager: Any, now: Any) -> list[Handoff]:
    rows = handoffs_visible_to(manager).filter(status=HandoffStatus.ASSIGNED, first_touch_at__isnull=True)
    rows = rows.select_related("lead__scoring", "assigned_to").order_by("due_at", "id")[:TEAM_URGENT_LIMIT]
    return [handoff for handoff in rows if handoff.assigned_to_id]


def deal_owner_choices(user: Any) -> list[tuple[int, str]]:
    """Whom a manager may filter deals by (their reps); a rep sees only their own, so none."""
    if not has_role(user, Role.MANAGER):
        return []
    users = reps_managed_by(user).distinct().order_by("first_name", "last_name", "username")
    rows = users.values_list("pk", "first_name", "last_name", "username")
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]


def deal_totals_by_stage(deals: QuerySet[Deal], stages: list[DealStage]) -> list[dict[str, Any]]:
    """Count and value of the deals in each stage, every stage listed (one query)."""
    found = {
        row["stage_id"]: row
        for row in deals.order_by().values("stage_id").annotate(count=Count("id"), value=Sum("amount"))
    }
    empty = {"count": 0, "value": None}
    rows = [(stage, found.get(stage.pk, empty)) for stage in stages]
    return [{"stage": stage, "count": row["count"], "value": row["value"] or 0} for stage, row in rows]


def first_touch_figures(
    *, start: datetime, end: datetime, now: datetime, rep: AbstractBaseUser | None = None
) -> dict[str, Any]:
    handoffs = Handoff.objects.filter(handed_off_at__gte=start, handed_off_at__lt=end)
    if rep is not None:
        handoffs = handoffs.filter(assigned_to=rep)
    decided = Q(first_touch_at__isnull=False) | Q(deadline__lt=now)
    figures = handoffs.aggregate(
        handoffs=Count("id"),
        decided=Count("id", filter=decided),
        in_time=Count("id", filter=Q(first_touch_at__isnull=False, first_touch_at__lte=F("deadline"))),
    )
    decided_count = figures["decided"]
    figures["touched_in_time_pct"] = round(figures["in_time"] * 100 / decided_count) if decided_count else None
    return figures


def first_touch_this_month(*, rep: AbstractBaseUser, now: datetime | None = None) -> dict[str, Any]:
    """The rep's speed-to-lead this month against the agreement's target (the queue's banner)."""
    now = now or timezone.now()
    first = month_first(timezone.localdate(now))
    start, end = month_bounds(first)
    figures = first_touch_figures(start=start, end=end, now=now, rep=rep)
    return figures | {"first_touch_target_pct": Agreement.for_month(first).first_touch_target_pct}


# --- Giving leads an owner (the lead list's bulk change) -------------------------------------


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def owner_change_forecast(*, lead_ids: list[int], owner_id: int | None) -> list[str]:
    """What giving these leads an owner does besides setting it, said before the job runs:
    which go to sales, and which keep their owner and why. At most four queries.

    The job decides again when it runs (leads.services.leads_set_owner_run); a lead may have
    moved on by then, and its result says what happened.
    """
    counts = {"in_sales": 0, "qualified": 0, "below": 0}
    for stage, status in Lead.objects.filter(pk__in=lead_ids).values_list("stage", "handoff__status"):
        if status in OPEN_HANDOFF:
            counts["in_sales"] += 1
        elif stage in (Stage.MQL, Stage.SQL):
            counts["qualified"] += 1
        elif stage in BELOW_MQL:
            counts["below"] += 1
    said = []
    if counts["in_sales"]:
        said.append(f"Already with sales, left as they are (whoever holds one owns it): {_leads(counts['in_sales'])}.")
    owner = get_user_model().objects.filter(pk=owner_id).first() if owner_id is not None else None
    if owner is None:
        return said
    if counts["qualified"]:
        said.append(_qualified_forecast(counts["qualified"], owner))
    if counts["below"]:
        said.append(
            f"Below MQL, given the owner but left with marketing (hand one over from its page to put it in "
            f"{_name(owner)}'s queue): {_leads(counts['below'])}."
        )
    return said


def _qualified_forecast(count: int, owner: Any) -> str:
    name = _name(owner)
    profile = rep_profile(owner)
    if profile.is_away():
        return f"Qualified but not handed over, nor given the owner, as {name} is away today: {_leads(count)}."
    room = max(profile.capacity - rep_open_count(rep=owner), 0)
    if room < count:
        return (
            f"Qualified (MQL or SQL), handed to sales into {name}'s queue: {room} of {_leads(count)}; "
            f"the rest keep their owner, as {name} has no room for more."
        )
    return f"Qualified (MQL or SQL), handed to sales into {name}'s queue, the clock starting now: {_leads(count)}."


def _leads(count: int) -> str:
    return f"{count} lead{'s' if count != 1 else ''}"


# --- Teams, their reps and the assignment rules (the Teams pages and API) -------------------


def teams_overview(user: Any) -> list[Team]:
    """The user's teams with their number of reps, open leads and leads in their pool. One query."""
    held = Handoff.objects.filter(status=HandoffStatus.ASSIGNED, assigned_to__rep_profile__team=OuterRef("pk"))
    pooled = Handoff.objects.filter(status=HandoffStatus.POOLED, team=OuterRef("pk"))
    return list(
        teams_managed_by(user)
        .select_related("manager")
        .annotate(
            rep_count=Count("reps", distinct=True),
            open_leads=_count_of(held),
            pooled=_count_of(pooled),
        )
        .order_by("name")
    )


def _count_of(rows: QuerySet) -> Subquery:
    counted = rows.order_by().values(one=Value(1)).annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def team_reps(team: Team, *, now: datetime | None = None) -> list[RepProfile]:
    """The team's reps with open leads and this month's first touches in time. One query.

    `in_time_pct` is the rep's share of this month's handoffs touched within the deadline,
    among those decided (touched, or past their deadline): the queue banner's figure.
    """
    now = now or timezone.now()
    start, end = month_bounds(month_first(timezone.localdate(now)))
    handoffs = "user__handoffs__"
    month = Q(**{f"{handoffs}handed_off_at__gte": start, f"{handoffs}handed_off_at__lt": end})
    decided = Q(**{f"{handoffs}first_touch_at__isnull": False}) | Q(**{f"{handoffs}deadline__lt": now})
    in_time = Q(**{f"{handoffs}first_touch_at__lte": F(f"{handoffs}deadline")})
    reps = list(
        RepProfile.objects.filter(team=team)
        .select_related("user")
        .annotate(
            open=Count("user__handoffs", filter=Q(**{f"{handoffs}status": HandoffStatus.ASSIGNED})),
            decided=Count("user__handoffs", filter=month & decided),
            in_time=Count("user__handoffs", filter=month & in_time),
        )
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    today = timezone.localdate(now)
    for rep in reps:
        rep.in_time_pct = round(rep.in_time * 100 / rep.decided) if rep.decided else None
        rep.away_today = rep.is_away(today)
    return reps


def rep_choices(team: Team) -> list[Any]:
    """Sales reps who could join this team: active, not in it already (the service says whether
    one in another team may move)."""
    users = get_user_model().objects.filter(is_active=True, groups__name=Role.SALES.value)
    users = users.exclude(rep_profile__team=team).select_related("rep_profile__team").distinct()
    return list(users.order_by("first_name", "last_name", "username"))


def rule_conditions(values: Any) -> list[dict[str, Any]]:
    """A rule's lead-attribute conditions in leads.conditions' shape (so they are checked and
    described as personas' are), each with the rule field it came from. `values` is a rule or
    a dict of its fields. Regions and personas are not lead attributes: see `rule_sentence`."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    conditions = [
        ("countries", {"field": "country", "op": "in", "value": get("countries")}),
        ("company_size_min", {"field": "company_size", "op": "gte", "value": get("company_size_min")}),
        ("company_size_max", {"field": "company_size", "op": "lte", "value": get("company_size_max")}),
        ("industries", {"field": "industry", "op": "in", "value": get("industries")}),
        ("sources", {"field": "source", "op": "in", "value": get("sources")}),
    ]
    return [
        condition | {"rule_field": name} for name, condition in conditions if condition["value"] not in (None, [], "")
    ]


def rule_sentence(rule: AssignmentRule) -> str:
    """“Region is one of EMEA and Company size is at least 200 → Team Iberia”."""
    parts = []
    if rule.regions:
        parts.append(f"Region is one of {', '.join(rule.regions)}")
    parts += [describe_condition(condition) for condition in rule_conditions(rule)]
    personas = [persona.name for persona in rule.personas.all()]
    if personas:
        parts.append(f"Persona is one of {', '.join(personas)}")
    target = f"team {rule.team}" if rule.team_id else f"{_name(rule.rep)}"
    return f"{' and '.join(parts) if parts else 'Any lead'} → {target}"


def rules_described() -> list[dict[str, Any]]:
    """Every assignment rule in order, with its sentence. Two queries."""
    rules = AssignmentRule.objects.select_related("team", "rep").prefetch_related("personas")
    return [{"rule": rule, "sentence": rule_sentence(rule)} for rule in rules.order_by("position", "id")]


PREVIEW_SIZE = 10


def pool_preview(team: Team, *, size: int = PREVIEW_SIZE) -> list[dict[str, Any]]:
    """The next leads a rep of this team would claim (its pool and the general pool, best first)
    and where the rules would send each if it were handed off now. Writes nothing.

    A fixed number of queries: the leads, the rules, the roster, and the names it shows.
    """
    pooled = Handoff.objects.filter(pools_of(team.pk), status=HandoffStatus.POOLED)
    lead_ids = list(pooled.order_by("-score", "handed_off_at", "id").values_list("lead_id", flat=True)[:size])
    leads = Lead.objects.filter(pk__in=lead_ids).select_related("scoring")
    by_id = {lead.pk: lead for lead in leads}
    rows = [{**{c: getattr(by_id[i], c) for c in LEAD_COLUMNS}, "persona_id": by_id[i].persona_id} for i in lead_ids]
    placements = placements_preview(rows)
    names = _placement_names(placements)
    return [
        {"lead": by_id[p.lead_id], "team": names["teams"].get(p.team_id), "rep": names["reps"].get(p.rep_id)}
        | {"rule": names["rules"].get(p.rule_id)}
        for p in placements
    ]


def _placement_names(placements: list[Any]) -> dict[str, dict[int, str]]:
    teams = {p.team_id for p in placements if p.team_id}
    reps = {p.rep_id for p in placements if p.rep_id}
    rules = {p.rule_id for p in placements if p.rule_id}
    return {
        "teams": dict(Team.objects.filter(pk__in=teams).values_list("pk", "name")) if teams else {},
        "reps": {user.pk: _name(user) for user in get_user_model().objects.filter(pk__in=reps)} if reps else {},
        "rules": dict(AssignmentRule.objects.filter(pk__in=rules).values_list("pk", "name")) if rules else {},
    }
