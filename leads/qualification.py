"""Qualification: the agreed MQL/SQL definitions, their lifecycle, requalification and backtests.

Stages move forward on their own, never back: a lead that satisfies the active MQL tree
goes lead → mql, and an MQL that satisfies the SQL tree goes mql → sql. Each move records
the definition version and the rules that held. A stricter definition demotes nobody.
"""

import difflib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from leads import rules
from leads.assignment import leads_hand_off
from leads.jobs import Advance, job_run
from leads.models import (
    ChangeSource,
    DefinitionStatus,
    Job,
    Lead,
    QualificationDefinition,
    Stage,
    StageChange,
)
from leads.rulebook import rulebook
from smarketing.lib import sql
from smarketing.roles import Role, user_roles

# Which stages each target promotes from. Recycled leads come back through a rep's revisit
# date, disqualified ones never automatically.
CANDIDATES = {Stage.MQL: [Stage.SUBSCRIBER, Stage.LEAD], Stage.SQL: [Stage.MQL]}
CHUNK = 1_000
WON_STAGES = [Stage.CUSTOMER, Stage.EVANGELIST]
OPPORTUNITY_STAGES = [Stage.OPPORTUNITY, *WON_STAGES]


class DefinitionError(Exception):
    """A lifecycle step that is not allowed now; the message says why."""


def active_definition() -> QualificationDefinition | None:
    return QualificationDefinition.objects.filter(status=DefinitionStatus.ACTIVE).first()


# --- Requalification --------------------------------------------------------------------


def leads_qualify(
    *,
    lead_ids: Iterable[int] | None = None,
    definition: QualificationDefinition | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Promote every lead (or the given ones) that the active definition qualifies."""
    definition = definition or rulebook().definition  # capture calls this per event: cached
    if definition is None:
        return {}
    now = timezone.now()
    trees = {
        target: tree
        for target, tree in ((Stage.MQL, definition.mql_rule), (Stage.SQL, definition.sql_rule))
        if tree and not rules.tree_errors(tree)
    }
    compiled = {target: rules.compile_tree(tree, as_of=now) for target, tree in trees.items()}
    scope = None if lead_ids is None else sorted(set(lead_ids))
    qualifying = _qualifying(compiled, scope)
    return {
        str(target): _promote(target, qualifying[target], trees[target], compiled[target], definition, now, progress)
        for target in compiled
    }


def _qualifying(compiled: dict[str, rules.Compiled], scope: list[int] | None) -> dict[str, list[tuple[int, str]]]:
    """The leads each tree promotes, as (id, stage it moves from), both trees in one pass.

    The SQL tree is checked on MQLs and on the leads the MQL tree is about to promote, so a
    lead can go lead → mql → sql at once. Its leaves read events, scores and attributes,
    never the stage, so checking it before the MQL move gives the answer after it.
    """
    mql, sql_tree = compiled.get(Stage.MQL), compiled.get(Stage.SQL)
    promotes_from = CANDIDATES[Stage.MQL] if mql else []
    stages = [*promotes_from, *([Stage.MQL] if sql_tree else [])]
    if not stages:
        return {}
    to_mql, mql_params = ("0", [])
    if mql:
        to_mql = f"CASE WHEN l.stage IN ({sql.in_list(promotes_from)}) AND {mql.condition} THEN 1 ELSE 0 END"
        mql_params = [*promotes_from, *mql.params]
    to_sql, sql_params = ("0", [])
    if sql_tree:
        to_sql = f"CASE WHEN (l.stage = %s OR l.to_mql = 1) AND {sql_tree.condition} THEN 1 ELSE 0 END"
        sql_params = [Stage.MQL, *sql_tree.params]

    def check(leads: str, ids: list[int], bounds: str, limits: list[int]) -> list[tuple[int, str, int, int]]:
        # Fenced so each tree's subqueries run once per lead, not wherever a flag is named.
        statement = (
            f"SELECT id, stage, to_mql, to_sql FROM ("
            f"SELECT l.id, l.stage, l.to_mql, {to_sql} AS to_sql FROM ("
            f"SELECT l.*, {to_mql} AS to_mql FROM {leads} l WHERE l.stage IN ({sql.in_list(stages)}){bounds}"
            f"{sql.fence()}) l{sql.fence()}) q WHERE to_mql = 1 OR to_sql = 1"
        )
        with connection.cursor() as cursor:
            sql.execute_prepared(cursor, statement, [*sql_params, *mql_params, *ids, *stages, *limits])
            return cursor.fetchall()

    if scope is None:  # every lead, a range of ids at a time, on two connections where it can
        found = sql.each_in_parallel(
            lambda limits: check("leads_lead", [], " AND l.id BETWEEN %s AND %s", list(limits)),
            sql.id_ranges(Lead, size=sql.ID_RANGE),
        )
    else:
        # Looked up by id first (fenced): left to itself, PostgreSQL ANDs the id list with a
        # bitmap of every lead at the stage, 180k entries for a thousand leads.
        found = []
        for chunk in sql.chunked(scope, CHUNK):
            condition, ids = sql.any_of("id", chunk)
            found.append(check(f"(SELECT * FROM leads_lead WHERE {condition}{sql.fence()})", ids, "", []))
    qualifying: dict[str, list[tuple[int, str]]] = {Stage.MQL: [], Stage.SQL: []}
    for rows in found:
        for lead_id, stage, moves_to_mql, moves_to_sql in rows:
            if moves_to_mql:
                qualifying[Stage.MQL].append((lead_id, stage))
            if moves_to_sql:
                qualifying[Stage.SQL].append((lead_id, Stage.MQL))
    return qualifying


def _promote(
    target: str,
    qualifying: list[tuple[int, str]],
    tree: dict[str, Any],
    compiled: rules.Compiled,
    definition: QualificationDefinition,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> int:
    descriptions = [rules.describe(leaf) for leaf in rules.leaves(tree)]
    moved = 0
    for chunk in sql.chunked(qualifying, CHUNK):
        with transaction.atomic():
            matched = _matched_leaves(compiled, [lead_id for lead_id, _ in chunk])
            by_stage: dict[str, list[int]] = {}
            for lead_id, stage in chunk:
                by_stage.setdefault(stage, []).append(lead_id)
            changes = []
            for from_stage, ids in by_stage.items():
                for lead_id in _move(ids, from_stage, target, definition.version, now):
                    held = [descriptions[i] for i, ok in enumerate(matched.get(lead_id, [])) if ok]
                    changes.append(
                        StageChange(
                            lead_id=lead_id,
                            from_stage=from_stage,
                            to_stage=target,
                            changed_at=now,
                            source=ChangeSource.RULE,
                            definition_version=definition.version,
                            matched_rules=held,
                        )
                    )
            StageChange.objects.bulk_create(changes, batch_size=CHUNK)
            leads_hand_off(lead_ids=[change.lead_id for change in changes], stage=target)
            moved += len(changes)
        if progress:
            progress(len(chunk))
    return moved


def _matched_leaves(compiled: rules.Compiled, ids: list[int]) -> dict[int, list[bool]]:
    if not compiled.leaf_columns:
        return {}
    columns = ", ".join(f"CASE WHEN {text} THEN 1 ELSE 0 END" for text, _ in compiled.leaf_columns)
    params = [p for _, values in compiled.leaf_columns for p in values]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT l.id, {columns} FROM leads_lead l WHERE l.id IN ({sql.in_list(ids)})", [*params, *ids])
        return {row[0]: [bool(x) for x in row[1:]] for row in cursor.fetchall()}


def _move(ids: list[int], from_stage: str, to_stage: str, version: int, now: datetime) -> list[int]:
    """Move the leads still at `from_stage` (a rep may have moved one meanwhile); returns those moved."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET stage = %s, stage_changed_at = %s, qualified_version = %s, updated_at = %s "
            f"WHERE id IN ({sql.in_list(ids)}) AND stage = %s RETURNING id",
            [to_stage, sql.db_datetime(now), version, sql.db_datetime(now), *ids, from_stage],
        )
        return [row[0] for row in cursor.fetchall()]


def leads_no_longer_qualifying(*, definition: QualificationDefinition, limit: int = 200) -> list[Lead]:
    """MQLs and SQLs the definition would not qualify today: listed for review, never demoted."""
    now = timezone.now()
    found: list[Lead] = []
    for stage, tree in ((Stage.MQL, definition.mql_rule), (Stage.SQL, definition.sql_rule)):
        if not tree:
            continue
        compiled = rules.compile_tree(tree, as_of=now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT l.id FROM leads_lead l WHERE l.stage = %s AND NOT {compiled.condition} LIMIT %s",
                [stage, *compiled.params, limit],
            )
            ids = [row[0] for row in cursor.fetchall()]
        found.extend(Lead.objects.filter(pk__in=ids).select_related("scoring").order_by("-scoring__score", "id"))
    return found[:limit]


def why_qualified(lead: Lead) -> list[dict[str, Any]]:
    """For the lead page: each qualification move, its version and the rules that held."""
    changes = lead.stage_changes.filter(source=ChangeSource.RULE).order_by("changed_at", "id")
    return [
        {"to": c.get_to_stage_display(), "version": c.definition_version, "at": c.changed_at, "rules": c.matched_rules}
        for c in changes
    ]


# --- Lifecycle --------------------------------------------------------------------------


def signable_sides(user: AbstractBaseUser) -> set[str]:
    """The sides a user may sign for: their own team; a manager in neither team, either side."""
    roles = user_roles(user)
    sides = {side for side, role in (("marketing", Role.MARKETING), ("sales", Role.SALES)) if role in roles}
    if not sides and Role.MANAGER in roles:
        sides = {"marketing", "sales"}
    return sides


def _validated(mql_rule: dict[str, Any], sql_rule: dict[str, Any]) -> None:
    problems = [f"MQL {e}" for e in rules.tree_errors(mql_rule)] if mql_rule else []
    problems += [f"SQL {e}" for e in rules.tree_errors(sql_rule)] if sql_rule else []
    if problems:
        raise DefinitionError(" ".join(problems))


def definition_create(
    *,
    by: AbstractBaseUser,
    mql_rule: dict[str, Any],
    sql_rule: dict[str, Any],
    name: str = "",
    notes: str = "",
    based_on: QualificationDefinition | None = None,
) -> QualificationDefinition:
    _validated(mql_rule, sql_rule)
    with transaction.atomic():
        # Lock the table's last version so two drafts made at once get distinct numbers.
        last = QualificationDefinition.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
        return QualificationDefinition.objects.create(
            version=last + 1,
            name=name,
            notes=notes,
            mql_rule=mql_rule,
            sql_rule=sql_rule,
            based_on=based_on,
            created_by=by,
        )


def definition_edit(
    *, definition: QualificationDefinition, by: AbstractBaseUser, **changes: Any
) -> QualificationDefinition:
    """Change a draft in place; changing any later version starts a new draft based on it."""
    fields = {k: v for k, v in changes.items() if k in ("name", "notes", "mql_rule", "sql_rule")}
    if definition.status != DefinitionStatus.DRAFT:
        base = {"name": definition.name, "notes": definition.notes}
        base.update({"mql_rule": definition.mql_rule, "sql_rule": definition.sql_rule})
        return definition_create(by=by, based_on=definition, **{**base, **fields})
    _validated(fields.get("mql_rule", definition.mql_rule), fields.get("sql_rule", definition.sql_rule))
    for key, value in fields.items():
        setattr(definition, key, value)
    definition.save(update_fields=list(fields))
    return definition


def definition_propose(*, definition: QualificationDefinition, by: AbstractBaseUser) -> QualificationDefinition:
    if definition.status != DefinitionStatus.DRAFT:
        raise DefinitionError(f"Only a draft can be proposed; v{definition.version} is {definition.status}.")
    if not definition.mql_rule:
        raise DefinitionError("Give the MQL criteria before proposing.")
    _validated(definition.mql_rule, definition.sql_rule)
    with transaction.atomic():
        definition.status, definition.proposed_at = DefinitionStatus.PROPOSED, timezone.now()
        definition.save(update_fields=["status", "proposed_at"])
        # Both sides sign looking at what the version would have done: the backtest starts now.
        backtest_enqueue(definition=definition, by=by)
    return definition


def definition_sign(*, definition: QualificationDefinition, by: AbstractBaseUser, side: str) -> QualificationDefinition:
    """One signature per side; with both, the version is approved."""
    with transaction.atomic():
        definition = QualificationDefinition.objects.select_for_update().get(pk=definition.pk)
        if definition.status != DefinitionStatus.PROPOSED:
            raise DefinitionError(
                f"Only a proposed version can be signed; v{definition.version} is {definition.status}."
            )
        if side not in signable_sides(by):
            raise DefinitionError(f"You may not sign for {side}.")
        if getattr(definition, f"{side}_signed_by_id"):
            raise DefinitionError(f"{side.capitalize()} has already signed v{definition.version}.")
        other = "sales" if side == "marketing" else "marketing"
        if getattr(definition, f"{other}_signed_by_id") == by.pk:
            raise DefinitionError("One person cannot sign for both sides.")
        now = timezone.now()
        setattr(definition, f"{side}_signed_by", by)
        setattr(definition, f"{side}_signed_at", now)
        fields = [f"{side}_signed_by", f"{side}_signed_at"]
        if definition.marketing_signed_by_id and definition.sales_signed_by_id:
            definition.status, definition.approved_at = DefinitionStatus.APPROVED, now
            fields += ["status", "approved_at"]
        definition.save(update_fields=fields)
    return definition


def definition_activate(*, definition: QualificationDefinition, by: AbstractBaseUser) -> Job:
    """Make an approved version the active one, retire the previous, requalify every lead."""
    from leads.tasks import requalify_task

    with transaction.atomic():
        definition = QualificationDefinition.objects.select_for_update().get(pk=definition.pk)
        if definition.status != DefinitionStatus.APPROVED:
            raise DefinitionError(
                f"Only an approved version can be activated; v{definition.version} is {definition.status}."
            )
        now = timezone.now()
        QualificationDefinition.objects.filter(status=DefinitionStatus.ACTIVE).update(
            status=DefinitionStatus.RETIRED, retired_at=now
        )
        definition.status, definition.activated_at = DefinitionStatus.ACTIVE, now
        definition.save(update_fields=["status", "activated_at"])
        job = Job.objects.create(
            kind="requalify", params={"definition_id": definition.pk}, created_by=by, total=Lead.objects.count()
        )
        transaction.on_commit(lambda: requalify_task.delay(job.pk))
    return job


def definition_retire(*, definition: QualificationDefinition, by: AbstractBaseUser) -> QualificationDefinition:
    if definition.status not in (DefinitionStatus.ACTIVE, DefinitionStatus.APPROVED):
        raise DefinitionError(f"v{definition.version} is {definition.status}; only active or approved versions retire.")
    definition.status, definition.retired_at = DefinitionStatus.RETIRED, timezone.now()
    definition.save(update_fields=["status", "retired_at"])
    return definition


def requalify_run(*, job: Job) -> Job:
    """The activation job: requalify every lead under the job's definition, with progress."""

    def work(job: Job, advance: Advance) -> dict[str, Any]:
        definition = QualificationDefinition.objects.get(pk=job.params["definition_id"])
        return {"promoted": leads_qualify(definition=definition, progress=advance)}

    return job_run(job=job, work=work)


def definitions_diff(old: QualificationDefinition | None, new: QualificationDefinition) -> list[dict[str, Any]]:
    """Line-by-line comparison of two versions' rule trees, as readable sentences."""
    out = []
    for label, key in (("MQL", "mql_rule"), ("SQL", "sql_rule")):
        before = _lines(getattr(old, key) if old else {})
        after = _lines(getattr(new, key))
        for line in difflib.ndiff(before, after):
            if line.startswith("?"):
                continue
            out.append({"part": label, "change": {"+": "added", "-": "removed"}.get(line[0], "same"), "text": line[2:]})
    return out


def _lines(tree: dict[str, Any]) -> list[str]:
    return ["  " * depth + text for depth, text in rules.outline(tree)] if tree else []


# --- Backtest ---------------------------------------------------------------------------


def month_starts(months: int, now: datetime) -> list[datetime]:
    """The first moment of each of the last `months` months (instance time zone), oldest first, plus now."""
    local = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = []
    for back in range(months - 1, -1, -1):
        year, month = local.year, local.month - back
        while month <= 0:
            month += 12
            year -= 1
        starts.append(local.replace(year=year, month=month))
    return [*starts, now]


def _qualified_as_of(tree: dict[str, Any], moment: datetime) -> set[int]:
    compiled = rules.compile_tree(tree, as_of=moment)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.id FROM leads_lead l WHERE l.created_at <= %s AND {compiled.condition}",
            [sql.db_datetime(moment), *compiled.params],
        )
        return {row[0] for row in cursor.fetchall()}


def _outcomes(ids: set[int]) -> dict[str, int]:
    opportunities = won = 0
    for chunk in sql.chunked(sorted(ids), CHUNK):
        stages = Lead.objects.filter(pk__in=chunk).values_list("stage", flat=True)
        for stage in stages:
            opportunities += stage in OPPORTUNITY_STAGES
            won += stage in WON_STAGES
    return {"opportunities": opportunities, "won": won}


def backtest_tree(tree: dict[str, Any], boundaries: list[datetime]) -> list[dict[str, Any]]:
    """Per month: leads the tree first qualifies that month, and how many went on to win.

    1. Evaluate the tree as of the window's start: those leads qualified before it.
    2. For each month's end (the next month's start, or now), evaluate again; leads not
       seen before are that month's new qualifiers.
    3. Look up where each month's qualifiers stand today: opportunity or later, won.
    """
    if not tree:
        return [{"month": b.strftime("%Y-%m"), "count": 0, "opportunities": 0, "won": 0} for b in boundaries[:-1]]
    seen = _qualified_as_of(tree, boundaries[0])
    out = []
    for start, end in zip(boundaries[:-1], boundaries[1:], strict=True):
        now_qualified = _qualified_as_of(tree, end)
        new = now_qualified - seen
        seen |= now_qualified
        out.append({"month": start.strftime("%Y-%m"), "count": len(new), **_outcomes(new)})
    return out


def backtest(*, definition: QualificationDefinition, months: int = 12, now: datetime | None = None) -> dict[str, Any]:
    """The draft beside the active version over the past `months` months."""
    boundaries = month_starts(months, now or timezone.now())
    active = active_definition()
    result: dict[str, Any] = {"months": [b.strftime("%Y-%m") for b in boundaries[:-1]], "version": definition.version}
    result["draft"] = {
        "mql": backtest_tree(definition.mql_rule, boundaries),
        "sql": backtest_tree(definition.sql_rule, boundaries),
    }
    if active and active.pk != definition.pk:
        result["active_version"] = active.version
        result["active"] = {
            "mql": backtest_tree(active.mql_rule, boundaries),
            "sql": backtest_tree(active.sql_rule, boundaries),
        }
    for side in ("draft", "active"):
        for stage in ("mql", "sql"):
            rows = result.get(side, {}).get(stage, [])
            total = sum(r["count"] for r in rows)
            won = sum(r["won"] for r in rows)
            result.setdefault(f"{side}_totals", {})[stage] = {
                "count": total,
                "won": won,
                "win_rate": round(won * 100 / total, 1) if total else None,
            }
    return result


def backtest_run(*, job: Job) -> Job:
    def work(job: Job, advance: Advance) -> dict[str, Any]:
        definition = QualificationDefinition.objects.get(pk=job.params["definition_id"])
        return backtest(definition=definition, months=job.params.get("months", 12))

    return job_run(job=job, work=work)


def backtest_enqueue(*, definition: QualificationDefinition, by: AbstractBaseUser) -> Job:
    from leads.tasks import backtest_task

    job = Job.objects.create(
        kind="backtest", params={"definition_id": definition.pk, "months": 12}, total=1, created_by=by
    )
    transaction.on_commit(lambda: backtest_task.delay(job.pk))
    return job
