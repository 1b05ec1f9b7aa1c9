"""Qualification: the agreed MQL/SQL definitions, their lifecycle, requalification and backtests.

Stages move forward on their own, never back: a lead that satisfies the active MQL tree
goes lead → mql, and an MQL that satisfies the SQL tree goes mql → sql. Each move records
the definition version and the rules that held. A stricter definition demotes nobody.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from leads.history import leads_move_stage
from leads.jobs import Advance, job_queue, job_run
from leads.models import (
    ChangeSource,
    DefinitionStatus,
    Job,
    Lead,
    QualificationDefinition,
    Stage,
)
from leads.qualification import sql as qualification_sql
from leads.qualification import trees
from leads.qualification.backtest import backtest_enqueue
from leads.rulebook import rulebook
from smarketing.audit.services import config_changed, config_changes_record, config_created, config_snapshot
from smarketing.lib import sql
from smarketing.roles import Role, user_roles

# Which stages each target promotes from. Recycled leads come back through a rep's revisit
# date, disqualified ones never automatically.
CANDIDATES = {Stage.MQL: [Stage.SUBSCRIBER, Stage.LEAD], Stage.SQL: [Stage.MQL]}


CHUNK = 1_000


class DefinitionError(Exception):
    """A lifecycle step that is not allowed now; the message says why."""


def leads_qualify(
    *,
    lead_ids: Iterable[int] | None = None,
    definition: QualificationDefinition | None = None,
    progress: Callable[..., None] | None = None,
) -> dict[str, int]:
    """Promote every lead (or the given ones) that the active definition qualifies; `progress(n,
    promoted={stage: moved})` is called inside each chunk's transaction."""
    definition = definition or rulebook().definition  # capture calls this per event: cached
    if definition is None:
        return {}
    now = timezone.now()
    valid_trees = {
        target: tree
        for target, tree in ((Stage.MQL, definition.mql_rule), (Stage.SQL, definition.sql_rule))
        if tree and not trees.tree_errors(tree)
    }
    compiled = {
        target: qualification_sql.compile_tree(tree, as_of=now, name=str(target))
        for target, tree in valid_trees.items()
    }
    scope = None if lead_ids is None else sorted(set(lead_ids))
    qualifying = _qualifying(compiled, scope)
    return {
        str(target): _promote(
            target, qualifying[target], valid_trees[target], compiled[target], definition, now, progress
        )
        for target in compiled
    }


def _qualifying(
    compiled: dict[str, qualification_sql.Compiled], scope: list[int] | None
) -> dict[str, list[tuple[int, str]]]:
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

    def over(ids: list[int] | None) -> tuple[str, dict[str, Any]]:
        return qualification_sql.qualifying(mql, sql_tree, promotes_from=promotes_from, stages=stages, ids=ids)

    def check(statement: str, params: dict[str, Any]) -> list[tuple[int, str, int, int]]:
        with connection.cursor() as cursor:
            sql.execute_prepared(cursor, *sql.bind(statement, **params))
            return cursor.fetchall()

    if scope is None:  # every lead, a range of ids at a time, on two connections where it can
        every, params = over(None)
        found = sql.each_in_parallel(
            lambda limits: check(every, {**params, "first": limits[0], "last": limits[1]}),
            sql.id_ranges(Lead, size=sql.ID_RANGE),
        )
    else:
        found = [check(*over(chunk)) for chunk in sql.chunked(scope, CHUNK)]
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
    compiled: qualification_sql.Compiled,
    definition: QualificationDefinition,
    now: datetime,
    progress: Callable[..., None] | None,
) -> int:
    descriptions = [trees.describe(leaf) for leaf in trees.leaves(tree)]
    moved = 0
    for chunk in sql.chunked(qualifying, CHUNK):
        with transaction.atomic():
            matched = _matched_leaves(compiled, [lead_id for lead_id, _ in chunk])
            held = {
                lead_id: [descriptions[i] for i, ok in enumerate(flags) if ok] for lead_id, flags in matched.items()
            }
            by_stage: dict[str, list[int]] = {}
            for lead_id, stage in chunk:
                by_stage.setdefault(stage, []).append(lead_id)
            moved_now = 0
            for from_stage, ids in by_stage.items():
                promoted = leads_move_stage(
                    lead_ids=ids,
                    from_stage=from_stage,
                    to_stage=target,
                    source=ChangeSource.RULE,
                    at=now,
                    definition_version=definition.version,
                    matched_rules=held,
                )
                moved_now += len(promoted)
            moved += moved_now
            if progress:  # in the chunk's transaction: a job's checkpoint commits with its moves
                progress(len(chunk), promoted={str(target): moved_now})
    return moved


def _matched_leaves(compiled: qualification_sql.Compiled, ids: list[int]) -> dict[int, list[bool]]:
    if not compiled.leaf_columns:
        return {}
    statement, params = qualification_sql.matched_leaves(compiled, ids)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, **params))
        return {row[0]: [bool(x) for x in row[1:]] for row in cursor.fetchall()}


def signable_sides(user: AbstractBaseUser) -> set[str]:
    """The sides a user may sign for: their own team; a manager in neither team, either side."""
    roles = user_roles(user)
    sides = {side for side, role in (("marketing", Role.MARKETING), ("sales", Role.SALES)) if role in roles}
    if not sides and Role.MANAGER in roles:
        sides = {"marketing", "sales"}
    return sides


def _validated(mql_rule: dict[str, Any], sql_rule: dict[str, Any]) -> None:
    problems = [f"MQL {e}" for e in trees.tree_errors(mql_rule)] if mql_rule else []
    problems += [f"SQL {e}" for e in trees.tree_errors(sql_rule)] if sql_rule else []
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
        definition = QualificationDefinition.objects.create(
            version=last + 1,
            name=name,
            notes=notes,
            mql_rule=mql_rule,
            sql_rule=sql_rule,
            based_on=based_on,
            created_by=by,
        )
        config_created(definition, by=by)
        return definition


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
    before = config_snapshot(definition)
    for key, value in fields.items():
        setattr(definition, key, value)
    with transaction.atomic():
        definition.save(update_fields=list(fields))
        config_changed(definition, by=by, before=before)
    return definition


def definition_propose(*, definition: QualificationDefinition, by: AbstractBaseUser) -> QualificationDefinition:
    if definition.status != DefinitionStatus.DRAFT:
        raise DefinitionError(f"Only a draft can be proposed; v{definition.version} is {definition.status}.")
    if not definition.mql_rule:
        raise DefinitionError("Give the MQL criteria before proposing.")
    _validated(definition.mql_rule, definition.sql_rule)
    with transaction.atomic():
        before = config_snapshot(definition)
        definition.status, definition.proposed_at = DefinitionStatus.PROPOSED, timezone.now()
        definition.save(update_fields=["status", "proposed_at"])
        config_changed(definition, by=by, before=before)
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
        before = config_snapshot(definition)
        setattr(definition, f"{side}_signed_by", by)
        setattr(definition, f"{side}_signed_at", now)
        fields = [f"{side}_signed_by", f"{side}_signed_at"]
        if definition.marketing_signed_by_id and definition.sales_signed_by_id:
            definition.status, definition.approved_at = DefinitionStatus.APPROVED, now
            fields += ["status", "approved_at"]
        definition.save(update_fields=fields)
        config_changed(definition, by=by, before=before)
    return definition


def definition_activate(*, definition: QualificationDefinition, by: AbstractBaseUser) -> Job:
    """Make an approved version the active one, retire the previous, requalify every lead."""
    with transaction.atomic():
        definition = QualificationDefinition.objects.select_for_update().get(pk=definition.pk)
        if definition.status != DefinitionStatus.APPROVED:
            raise DefinitionError(
                f"Only an approved version can be activated; v{definition.version} is {definition.status}."
            )
        now = timezone.now()
        active = QualificationDefinition.objects.filter(status=DefinitionStatus.ACTIVE)
        retiring = [(old.pk, str(old)) for old in active.only("pk", "version", "name")]
        active.update(status=DefinitionStatus.RETIRED, retired_at=now)
        was, now_is = {"status": DefinitionStatus.ACTIVE}, {"status": DefinitionStatus.RETIRED}
        config_changes_record(QualificationDefinition, [(pk, label, was, now_is) for pk, label in retiring], by=by)
        before = config_snapshot(definition)
        definition.status, definition.activated_at = DefinitionStatus.ACTIVE, now
        definition.save(update_fields=["status", "activated_at"])
        config_changed(definition, by=by, before=before)
        return job_queue(kind="requalify", params={"definition_id": definition.pk}, total=Lead.objects.count(), by=by)


def definition_retire(*, definition: QualificationDefinition, by: AbstractBaseUser) -> QualificationDefinition:
    if definition.status not in (DefinitionStatus.ACTIVE, DefinitionStatus.APPROVED):
        raise DefinitionError(f"v{definition.version} is {definition.status}; only active or approved versions retire.")
    before = config_snapshot(definition)
    definition.status, definition.retired_at = DefinitionStatus.RETIRED, timezone.now()
    with transaction.atomic():
        definition.save(update_fields=["status", "retired_at"])
        config_changed(definition, by=by, before=before)
    return definition


def requalify_run(*, job: Job) -> Job:
    """The activation job: requalify every lead under the job's definition, with progress.

    Promotions only move leads forward, so a run resumed after its worker died finds only the
    leads still to promote; the count of those promoted before is its checkpoint."""

    def work(job: Job, advance: Advance) -> dict[str, Any]:
        definition = QualificationDefinition.objects.get(pk=job.params["definition_id"])
        so_far = Counter(job.checkpoint.get("promoted", {}))

        def progress(count: int, *, promoted: dict[str, int]) -> None:
            so_far.update(promoted)
            advance(count, checkpoint={"promoted": dict(so_far)})

        targets = leads_qualify(definition=definition, progress=progress)
        return {"promoted": {target: so_far.get(target, 0) for target in targets}}

    return job_run(job=job, work=work)
