"""Teams, their reps' capacity and time away, and the assignment rules: the writes behind the
Teams pages and /api/v1/teams/ and /api/v1/assignment-rules/.

Who may do what:
- Teams and reps: a manager their own teams (leads.sales.selectors.teams_managed_by), a
  superuser every team. A team out of reach does not exist for you (404); a rep may join a
  team from no team, or from another team the same person manages.
- Assignment rules: any manager. The rules are one ordered list for every team (the first
  that matches wins), so a rule for one team decides what the rules below it, other teams'
  included, ever see; splitting them per manager would leave that order to nobody. Managers
  already settle such shared terms together (the agreement is set by any manager).

Each service checks who acts and what is asked, raising SalesError with the field at fault,
and writes in one transaction.
"""

import re
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, Max, Value, When

from leads.conditions import condition_errors
from leads.models import AssignmentRule, Persona, RepProfile, Team
from leads.sales.assignment import REGIONS, person
from leads.sales.selectors import rule_conditions, teams_managed_by
from leads.sales.services import SalesError
from smarketing.audit.services import (
    config_changed,
    config_changes_record,
    config_created,
    config_deleted,
    config_snapshot,
)
from smarketing.roles import Role, has_role

MAX_CAPACITY = 1_000


MAX_COMPANY_SIZE = 10_000_000


MAX_NAME = 100


MAX_VALUE = 100  # an industry or source named in a rule, as long as the lead's own field


RULE_LISTS = ("countries", "regions", "industries", "sources")


RULE_FIELDS = (
    "name",
    "is_active",
    *RULE_LISTS,
    "company_size_min",
    "company_size_max",
    "personas",
    "team",
    "rep",
)


COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


# --- Teams ----------------------------------------------------------------------------------


def team_create(*, by: AbstractBaseUser, name: str, manager: AbstractBaseUser | None = None) -> Team:
    """A new team. A manager's team is theirs; a superuser may name its manager or leave it without."""
    _manager_checked(by)
    name = _team_name(name)
    manager = _team_manager(by, manager, default=None if by.is_superuser else by)
    with transaction.atomic():
        team = _saved(lambda: Team.objects.create(name=name, manager=manager))
        config_created(team, by=by)
        return team


def team_update(*, team: Team, by: AbstractBaseUser, **changes: Any) -> Team:
    """Rename a team or (superusers) give it to another manager."""
    _team_checked(by, team)
    unknown = set(changes) - {"name", "manager"}
    if unknown:
        raise SalesError("A team has a name and a manager; nothing else changes here.", field=sorted(unknown)[0])
    name = _team_name(changes["name"], team=team) if "name" in changes else team.name
    manager = changes.get("manager", team.manager)
    if manager != team.manager:
        if not by.is_superuser:
            raise SalesError("Only an administrator gives a team to another manager.", field="manager")
        manager = _team_manager(by, manager, default=None)
    before = config_snapshot(team)
    team.name, team.manager = name, manager
    with transaction.atomic():
        _saved(lambda: team.save(update_fields=["name", "manager"]))
        config_changed(team, by=by, before=before)
    return team


def _saved(write: Any) -> Any:
    """Two managers naming a team alike at once: the second hears it as a field error."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as error:
        raise SalesError("Another team has this name; choose another.", field="name") from error


def _manager_checked(by: Any) -> None:
    if not has_role(by, Role.MANAGER):
        raise SalesError("Only a manager manages teams.", status=403)


def _team_checked(by: Any, team: Team) -> None:
    """The acting user manages this team (404 otherwise: another manager's team is not yours to see)."""
    _manager_checked(by)
    if not teams_managed_by(by).filter(pk=team.pk).exists():
        raise SalesError("No such team among yours.", status=404)


def _team_name(name: Any, *, team: Team | None = None) -> str:
    name = str(name or "").strip()
    if not name:
        raise SalesError("Give the team a name.", field="name")
    if len(name) > MAX_NAME:
        raise SalesError(f"Keep the name to {MAX_NAME} characters.", field="name")
    others = Team.objects.filter(name__iexact=name).exclude(pk=team.pk if team else None)
    if others.exists():
        raise SalesError(f"There is already a team called “{name}”; choose another name.", field="name")
    return name


def _team_manager(by: Any, manager: Any, *, default: Any) -> Any:
    if manager is None:
        return default
    if manager != by and not by.is_superuser:
        raise SalesError("You manage the teams you create; an administrator may name another manager.", field="manager")
    if not (manager.is_active and has_role(manager, Role.MANAGER)):
        raise SalesError(f"{person(manager)} is not an active manager.", field="manager")
    return manager


# --- Reps -----------------------------------------------------------------------------------


def team_rep_add(*, team: Team, rep: AbstractBaseUser, by: AbstractBaseUser, capacity: int | None = None) -> RepProfile:
    """Put a sales rep in this team (from no team, or from another team of yours), with a
    capacity if given; the rep's open leads stay theirs."""
    _team_checked(by, team)
    if not (rep.is_active and has_role(rep, Role.SALES)):
        raise SalesError(f"{person(rep)} is not an active sales rep: only Sales users join a team.", field="rep")
    _capacity_checked(capacity)
    with transaction.atomic():
        found = RepProfile.objects.select_for_update(of=("self",)).select_related("team", "user").filter(user=rep)
        profile = found.first() or RepProfile(user=rep)
        _rep_movable(by, profile, team)
        before = config_snapshot(profile) if profile.pk else None
        profile.team = team
        if capacity is not None:
            profile.capacity = capacity
        profile.save()
        if before is None:
            config_created(profile, by=by)
        else:
            config_changed(profile, by=by, before=before)
    return profile


def _rep_movable(by: Any, profile: RepProfile, team: Team) -> None:
    if profile.team_id == team.pk:
        raise SalesError(f"{person(profile.user)} is already in {team}.", field="rep")
    if profile.team_id and not teams_managed_by(by).filter(pk=profile.team_id).exists():
        raise SalesError(
            f"{person(profile.user)} is in {profile.team}; its manager takes them out of it first.", field="rep"
        )


def team_rep_remove(*, team: Team, rep: AbstractBaseUser, by: AbstractBaseUser) -> None:
    """Take a rep out of the team. They keep their open leads (and their capacity and time away);
    they stop getting the team's new leads and its pool."""
    _team_checked(by, team)
    with transaction.atomic():
        profiles = list(RepProfile.objects.select_for_update().filter(user=rep, team=team).values_list("pk", flat=True))
        RepProfile.objects.filter(pk__in=profiles).update(team=None)
        before, after = {"team": {"id": team.pk, "label": str(team)}}, {"team": None}
        config_changes_record(RepProfile, [(pk, f"{rep} (no team)", before, after) for pk in profiles], by=by)
    if not profiles:
        raise SalesError(f"{person(rep)} is not in {team}.", status=404)


def rep_profile_update(
    *,
    rep: AbstractBaseUser,
    by: AbstractBaseUser,
    capacity: int | None = None,
    away_from: date | None = None,
    away_until: date | None = None,
) -> RepProfile:
    """Set a rep's capacity and time away (a manager, for a rep of their teams).

    `capacity` None keeps it. The time away is one period, given whole: `away_from` and
    `away_until` are saved as given, None clearing that end (both None: not away).
    """
    _manager_checked(by)
    _capacity_checked(capacity)
    if away_from and away_until and away_until < away_from:
        raise SalesError("The last day away cannot come before the first.", field="away_until")
    with transaction.atomic():
        profile = RepProfile.objects.select_for_update().filter(user=rep, team__in=teams_managed_by(by)).first()
        if profile is None:
            raise SalesError("No such rep in your teams.", status=404)
        before = config_snapshot(profile)
        if capacity is not None:
            profile.capacity = capacity
        profile.away_from, profile.away_until = away_from, away_until
        profile.save(update_fields=["capacity", "away_from", "away_until"])
        config_changed(profile, by=by, before=before)
    return profile


def _capacity_checked(capacity: Any) -> None:
    if capacity is None:
        return
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
        raise SalesError(f"Give a capacity from 0 to {MAX_CAPACITY:,} open leads.", field="capacity")


# --- Assignment rules -----------------------------------------------------------------------


def assignment_rule_save(*, by: AbstractBaseUser, rule: AssignmentRule | None = None, **fields: Any) -> AssignmentRule:
    """Create a rule (last in the order) or change one; fields as the model names them
    (`personas` a list of personas). Every value is checked, the first fault said on its field."""
    _rules_editor_checked(by)
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise SalesError("Not a field of an assignment rule.", field=sorted(unknown)[0])
    values = _rule_values(rule) | fields
    values = _rule_checked(values, rule=rule)
    personas = values.pop("personas")
    with transaction.atomic():
        before = config_snapshot(rule) if rule else None
        if rule is None:
            position = AssignmentRule.objects.aggregate(last=Max("position"))["last"]
            rule = AssignmentRule(position=0 if position is None else position + 1)
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save()
        rule.personas.set(personas)
        if before is None:
            config_created(rule, by=by)
        else:
            config_changed(rule, by=by, before=before)
    return rule


def _rule_values(rule: AssignmentRule | None) -> dict[str, Any]:
    if rule is None:
        return (
            {"name": "", "is_active": True, "personas": [], "team": None, "rep": None}
            | {name: [] for name in RULE_LISTS}
            | {"company_size_min": None, "company_size_max": None}
        )
    values = {name: getattr(rule, name) for name in RULE_FIELDS if name != "personas"}
    return values | {"personas": list(rule.personas.all())}


def _rule_checked(values: dict[str, Any], *, rule: AssignmentRule | None) -> dict[str, Any]:
    values["name"] = _rule_name(values["name"], rule=rule)
    values["is_active"] = bool(values["is_active"])
    values["countries"] = _countries(values["countries"])
    values["regions"] = _regions(values["regions"])
    values["industries"] = _texts(values["industries"], "industries")
    values["sources"] = _texts(values["sources"], "sources")
    for name in ("company_size_min", "company_size_max"):
        values[name] = _size(values[name], name)
    low, high = values["company_size_min"], values["company_size_max"]
    if low is not None and high is not None and high < low:
        raise SalesError("The largest company size cannot be below the smallest.", field="company_size_max")
    for condition in rule_conditions(values):
        if errors := condition_errors(condition):
            raise SalesError(errors[0], field=condition["rule_field"])
    values["personas"] = _personas(values["personas"])
    _rule_target_checked(values["team"], values["rep"])
    return values


def _rule_name(name: Any, *, rule: AssignmentRule | None) -> str:
    name = str(name or "").strip()
    if not name:
        raise SalesError("Give the rule a name.", field="name")
    if len(name) > MAX_NAME:
        raise SalesError(f"Keep the name to {MAX_NAME} characters.", field="name")
    if AssignmentRule.objects.filter(name__iexact=name).exclude(pk=rule.pk if rule else None).exists():
        raise SalesError(f"There is already a rule called “{name}”; choose another name.", field="name")
    return name


def _listed(value: Any, field: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise SalesError("Give a list of values.", field=field)
    return [item.strip() for item in value if item.strip()]


def _countries(value: Any) -> list[str]:
    codes = [code.upper() for code in _listed(value, "countries")]
    wrong = [code for code in codes if not COUNTRY_CODE.match(code)]
    if wrong:
        raise SalesError(f"Give two-letter country codes (ES, MX, US); not {', '.join(wrong)}.", field="countries")
    return list(dict.fromkeys(codes))


def _regions(value: Any) -> list[str]:
    regions = [region.upper() for region in _listed(value, "regions")]
    wrong = [region for region in regions if region not in REGIONS]
    if wrong:
        raise SalesError(f"Choose regions from {', '.join(REGIONS)}; not {', '.join(wrong)}.", field="regions")
    return list(dict.fromkeys(regions))


def _texts(value: Any, field: str) -> list[str]:
    texts = _listed(value, field)
    if any(len(text) > MAX_VALUE for text in texts):
        raise SalesError(f"Keep each value to {MAX_VALUE} characters.", field=field)
    return list(dict.fromkeys(texts))


def _size(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COMPANY_SIZE:
        raise SalesError(f"Give a number of employees from 0 to {MAX_COMPANY_SIZE:,}.", field=field)
    return value


def _personas(value: Any) -> list[Persona]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, Persona | int) for item in value):
        raise SalesError("Choose personas from the list.", field="personas")
    ids = {item.pk if isinstance(item, Persona) else item for item in value}
    found = list(Persona.objects.filter(pk__in=ids))
    if len(found) != len(ids):
        raise SalesError("One of the personas no longer exists; choose from the list.", field="personas")
    return found


def _rule_target_checked(team: Team | None, rep: Any) -> None:
    if team is None and rep is None:
        raise SalesError("Choose the team or the rep this rule sends its leads to.", field="team")
    if team is not None and rep is not None:
        raise SalesError("Send the rule's leads to a team or to a rep, not both.", field="rep")
    if rep is not None and not (rep.is_active and has_role(rep, Role.SALES)):
        raise SalesError(f"{person(rep)} is not an active sales rep.", field="rep")


def assignment_rules_order(*, by: AbstractBaseUser, rule_ids: list[int]) -> None:
    """Put every rule in this order (the first that matches a lead wins). One UPDATE."""
    _rules_editor_checked(by)
    with transaction.atomic():
        rules = {pk: (position, name) for pk, position, name in _rules_locked()}
        existing = set(rules)
        if len(rule_ids) != len(set(rule_ids)) or set(rule_ids) != existing:
            raise SalesError(
                f"Give every rule once, in the new order ({len(existing)} rules; another manager may have "
                "added or deleted one: reload and try again).",
                field="rule_ids",
            )
        if rule_ids:
            positions = Case(*[When(pk=pk, then=Value(n)) for n, pk in enumerate(rule_ids)])
            AssignmentRule.objects.filter(pk__in=rule_ids).update(position=positions)
        moved = [
            (pk, f"{n}. {rules[pk][1]}", {"position": rules[pk][0]}, {"position": n})
            for n, pk in enumerate(rule_ids)
            if rules[pk][0] != n
        ]
        config_changes_record(AssignmentRule, moved, by=by)


def _rules_locked() -> list[tuple[int, int, str]]:
    return list(AssignmentRule.objects.select_for_update().values_list("pk", "position", "name"))


def assignment_rule_delete(*, rule: AssignmentRule, by: AbstractBaseUser) -> None:
    """Delete a rule; leads it placed keep their place, and their log rows keep saying so without it."""
    _rules_editor_checked(by)
    with transaction.atomic():
        config_deleted(rule, by=by)
        rule.delete()


def _rules_editor_checked(by: Any) -> None:
    if not has_role(by, Role.MANAGER):
        raise SalesError("Only managers change the assignment rules: they route leads between every team.", status=403)
