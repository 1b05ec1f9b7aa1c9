"""Scoring: persona fit, engagement with caps and decay, negative rules, and the breakdown.

Semantics (DESIGN.md): fit for a persona = matched weights ÷ all weights × 100, and a lead's
fit is its best persona's. Engagement = Σ over rules of min(cap, Σ points × 0.5^(age ÷
half-life)); negative rules subtract. Score = fit + engagement, and the breakdown lists
each contribution (rounded per rule) so that it sums to the score exactly.

How it stays fast:
1. Per (lead, engagement rule) an EngagementRollup holds the decayed sum as of one shared
   moment, ScoringState.decayed_at. New events add to it; nothing rereads old events.
2. The nightly decay multiplies each rule's rollups by one factor and moves the moment on.
3. Editing a rule rebuilds only that rule's rollups, from its event type, in one statement;
   capture waits meanwhile (seconds at 1M leads), so no event is missed or counted twice.
4. A rescore is one UPDATE … FROM over leads, personas and rollups that writes only the
   rows whose figures changed.
"""

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Value, When
from django.utils import timezone

from leads.conditions import condition_matches, condition_sql
from leads.jobs import Advance, job_queue, job_run
from leads.models import EngagementRollup, Job, Lead, Persona, ScoringRule, ScoringState
from leads.qualification.services import leads_qualify
from leads.rulebook import Rulebook, rulebook, rulebook_at
from smarketing.lib import sql

FIT_KEY = "fit"


ROLLUP_FLOOR = 0.005  # decayed below this a rollup no longer changes any rounded score


SCOPE_CHUNK = 500


def persona_fit(persona: Persona, lead: Lead) -> int:
    total = sum(c.get("weight", 0) for c in persona.conditions)
    if not total:
        return 0
    matched = sum(c.get("weight", 0) for c in persona.conditions if condition_matches(c, lead))
    return round(matched * 100 / total)


def _persona_fit_sql(persona: Persona) -> tuple[str, list[Any]]:
    total = sum(c.get("weight", 0) for c in persona.conditions)
    if not total:
        return "0", []
    parts, params = [], []
    for condition in persona.conditions:
        text, values = condition_sql(condition, vendor=sql.vendor())
        parts.append(f"CASE WHEN {text} THEN {int(condition.get('weight', 0))} ELSE 0 END")
        params.extend(values)
    # Rounded in integers, (2·100·matched + total) div (2·total), to stay out of numeric arithmetic.
    return f"((({' + '.join(parts)}) * 200 + {int(total)}) / {2 * int(total)})", params


def event_rule_matches(rule: ScoringRule, event_type: str, properties: dict[str, Any]) -> bool:
    if rule.event_type != event_type:
        return False
    return all(properties.get(key) == value for key, value in (rule.property_filter or {}).items())


def decay_factor(rule: ScoringRule, age_days: float) -> float:
    if not rule.half_life_days:
        return 1.0
    return math.pow(0.5, age_days / rule.half_life_days)


def capture_state() -> tuple[datetime, Rulebook]:
    """The shared decay moment and the rulebook in force, from one read of the state row, made
    so that a concurrent decay or rebuild waits for us (and we for it).

    FOR SHARE on PostgreSQL: the nightly decay and the rollup rebuilds take the row FOR UPDATE
    (`rollups_exclusive`), so no rollup is added to while they rewrite rollups, and the rules
    are read after the lock, so a rebuild's edit is seen.
    """
    if sql.is_postgres():
        with connection.cursor() as cursor:
            statement = "SELECT decayed_at, rulebook_version FROM leads_scoringstate WHERE id = 1 FOR SHARE"
            sql.execute_prepared(cursor, statement, [])
            row = cursor.fetchone()
        if row is not None:
            return row[0], rulebook_at(row[1])
    state = ScoringState.current()
    return state.decayed_at, rulebook_at(state.rulebook_version)


ROLLUP_COLUMNS = [("lead_id", "bigint"), ("rule_id", "bigint"), ("value", "double precision")]


def rollups_add_events(
    *,
    events: Iterable[tuple[int, str, datetime, dict[str, Any]]],
    book: Rulebook | None = None,
    decayed_at: datetime | None = None,
) -> set[int]:
    """Add new events' points to their (lead, rule) rollups; returns the leads touched.

    `events` are (lead_id, type, occurred_at, properties) of events just stored (never a
    repeat: the caller passes only rows its insert created). Must run inside the caller's
    transaction; a caller that read `capture_state()` passes the moment and rules it got.
    """
    if book is None or decayed_at is None:
        decayed_at, book = capture_state()
    by_type = book.engagement_by_type
    if not by_type:
        return set()
    sums: dict[tuple[int, int], float] = defaultdict(float)
    for lead_id, event_type, occurred_at, properties in events:
        for rule in by_type.get(event_type, ()):
            if event_rule_matches(rule, event_type, properties or {}):
                age = (decayed_at - occurred_at).total_seconds() / 86400
                sums[(lead_id, rule.pk)] += rule.points * decay_factor(rule, age)
    if not sums:
        return set()
    rows = sorted((lead_id, rule_id, value) for (lead_id, rule_id), value in sums.items())
    with connection.cursor() as cursor:
        for chunk in sql.chunked(rows, SCOPE_CHUNK):
            cte, params = sql.values_cte("v", ROLLUP_COLUMNS, chunk)
            # WHERE true: SQLite would read ON CONFLICT as a join's ON without it.
            sql.execute_prepared(
                cursor,
                f"{cte} INSERT INTO leads_engagementrollup (lead_id, rule_id, value) "
                "SELECT lead_id, rule_id, value FROM v WHERE true ON CONFLICT (lead_id, rule_id) DO UPDATE "
                "SET value = leads_engagementrollup.value + excluded.value",
                params,
            )
    return {lead_id for lead_id, _ in sums}


def rollups_exclusive() -> None:
    """Hold off capture's rollup writes until this transaction ends (PostgreSQL; SQLite has one
    writer at a time anyway).

    A rebuild deletes rollups and inserts them afresh from the events it sees. A capture
    meanwhile could add to a rollup the rebuild then replaces (its points lost), insert one the
    rebuild then clashes with (the job fails), or score with a rulebook from before the edit.
    Capture takes the state row FOR SHARE before it reads the rulebook, so with the row held
    FOR UPDATE it waits, then reads the edited rules; a capture already past that point
    commits first, and the rebuild, waiting for it, sees its events.
    """
    ScoringState.current()
    if sql.is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM leads_scoringstate WHERE id = 1 FOR UPDATE")


def rollups_rebuild(*, rules: Iterable[ScoringRule], leads: tuple[int, int] | None = None) -> None:
    """Recompute these rules' rollups from their events (of the leads with ids in the `leads`
    bounds, when given). Must run inside the caller's transaction, which holds capture off
    (`rollups_exclusive`) or runs while another transaction does.

    The events are read once for all the rules: each rule's decayed sum is a column of one
    GROUP BY lead, and the columns are unfolded into (lead, rule, value) rows.
    """
    rules = list(rules)
    stale = EngagementRollup.objects.filter(rule__in=rules)
    if leads is not None:
        stale = stale.filter(lead__gte=leads[0], lead__lte=leads[1])
    stale.delete()
    live = [rule for rule in rules if rule.is_active and rule.kind == ScoringRule.Kind.ENGAGEMENT]
    if not live:
        return
    decayed_at = sql.db_datetime(ScoringState.current().decayed_at)
    columns, params = [], []
    for rule in live:
        where, where_params = sql.json_has("e.properties", rule.property_filter or {})
        if rule.half_life_days:
            age = sql.days_between("%s", "e.occurred_at")
            points = f"%s * POWER(CAST(0.5 AS DOUBLE PRECISION), {age} / %s)"
            point_params = [rule.points, decayed_at, rule.half_life_days]
        else:
            points, point_params = "%s", [rule.points]
        columns.append(f"SUM(CASE WHEN e.type = %s AND {where} THEN {points} END) AS rule{int(rule.pk)}")
        params.extend([rule.event_type, *where_params, *point_params])
    types = sorted({rule.event_type for rule in live})
    params.extend(types)  # placeholders in order: each column's, the types, then the bounds
    scope = ""
    if leads is not None:
        scope = " AND e.lead_id BETWEEN %s AND %s"
        params.extend(leads)
    unfold = " UNION ALL ".join(
        f"SELECT lead_id, {int(rule.pk)}, rule{int(rule.pk)} FROM agg WHERE rule{int(rule.pk)} IS NOT NULL"
        for rule in live
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH agg AS (SELECT e.lead_id, {', '.join(columns)} FROM leads_event e "
            f"WHERE e.type IN ({sql.in_list(types)}){scope} GROUP BY e.lead_id) "
            f"INSERT INTO leads_engagementrollup (lead_id, rule_id, value) {unfold}",
            params,
        )


REBUILD_RANGES = 8  # enough pieces to keep both connections busy to the end


def rollups_rebuild_many(*, rules: Iterable[ScoringRule]) -> None:
    """Rebuild these rules' rollups.

    On PostgreSQL, outside a transaction, the leads are split into id ranges, each rebuilt in
    its own transaction, on two connections at once (`sql.each_in_parallel`): the aggregate
    is CPU in the database, one core per backend. Elsewhere, one transaction does it all.
    """
    rules = list(rules)
    if not rules:
        return
    parallel = sql.parallel_possible()  # decided before this transaction starts
    # This transaction holds capture off while the rollups are rewritten, the ranges' own
    # transactions included (a few seconds at 1M leads; a rule edit is rare).
    with transaction.atomic():
        rollups_exclusive()
        if not parallel:
            rollups_rebuild(rules=rules)
            return
        sql.each_in_parallel(
            lambda leads: _rebuild_range(rules, leads), sql.id_ranges(Lead, pieces=REBUILD_RANGES), parallel=True
        )


def _rebuild_range(rules: list[ScoringRule], leads: tuple[int, int]) -> None:
    with transaction.atomic():
        rollups_rebuild(rules=rules, leads=leads)


def rollups_analyze() -> None:
    """Refresh PostgreSQL's statistics after rebuilding rollups in bulk, so the next scoped
    rescore reads a lead's rollups through the (lead, rule) index, not the whole table.

    Outside a transaction it also vacuums: a rebuild leaves a dead row behind every live one,
    and the full rescore that follows would step over each (1.7 s to save about 3 at 1M leads).
    """
    if sql.is_postgres():
        with connection.cursor() as cursor:
            vacuum = "" if connection.in_atomic_block else "VACUUM "
            cursor.execute(f"{vacuum}ANALYZE leads_engagementrollup")


def rollups_decay(*, now: datetime | None = None) -> dict[str, Any]:
    """Nightly: age every decaying rollup to `now` by one multiplication per rule."""
    now = now or timezone.now()
    with transaction.atomic():
        state = ScoringState.objects.select_for_update().get(pk=ScoringState.current().pk)
        days = max((now - state.decayed_at).total_seconds() / 86400, 0.0)
        decaying = ScoringRule.objects.filter(kind=ScoringRule.Kind.ENGAGEMENT, half_life_days__isnull=False)
        factors = {rule.pk: math.pow(0.5, days / rule.half_life_days) for rule in decaying}
        if factors:
            # One pass over the table for every rule (rollups have no index by rule).
            factor = Case(*[When(rule=pk, then=Value(f)) for pk, f in factors.items()], output_field=FloatField())
            rollups = EngagementRollup.objects.filter(rule__in=list(factors))
            rollups.update(value=F("value") * factor)
            rollups.filter(value__gt=-ROLLUP_FLOOR, value__lt=ROLLUP_FLOOR).delete()
        state.decayed_at = now
        state.save(update_fields=["decayed_at"])
    return {"days": days}


def _negative_sql(rule: ScoringRule) -> tuple[str, list[Any]]:
    values = [str(v).lower() for v in rule.values or [] if str(v).strip()]
    if rule.kind == ScoringRule.Kind.UNSUBSCRIBED:
        return "l.unsubscribed_at IS NOT NULL", []
    if not values:
        return "1=0", []
    domain, domain_params = condition_sql({"field": "email_domain", "op": "in", "value": values}, vendor=sql.vendor())
    if rule.kind == ScoringRule.Kind.FREE_MAIL:
        return domain, domain_params
    company, company_params = condition_sql({"field": "company", "op": "in", "value": values}, vendor=sql.vendor())
    return f"({domain} OR {company})", [*domain_params, *company_params]


def _breakdown_sql(parts: list[tuple[str, str, list[Any]]]) -> tuple[str, list[Any]]:
    """A JSON object {name: points} from (name, points SQL, params), dropping null points."""
    params: list[Any] = []
    pieces = []
    for name, points_sql, values in parts:
        pieces.append(f"%s, {points_sql}")
        params.extend([name, *values])
    if sql.is_postgres():
        return f"jsonb_strip_nulls(jsonb_build_object({', '.join(pieces)}))", params
    # json_patch drops the keys whose value is null (RFC 7396 merge patch).
    return f"json_patch('{{}}', json_object({', '.join(pieces)}))", params


def leads_rescore(*, lead_ids: Iterable[int] | None = None, book: Rulebook | None = None) -> int:
    """Recompute fit, persona, engagement, score and breakdown, and copy the lead's creation
    and last touch times beside them (the lists sort by those there); returns the rows changed.

    One statement over every lead (or the given ones): personas' fits as CASE sums, the
    best persona by comparison, engagement from the rollups, negative rules as CASEs,
    and the breakdown built as JSON in the database. Rows whose figures are unchanged are
    not written.
    """
    if lead_ids is None:
        return _rescore_scope("", [], bulk=True)
    changed = 0
    for chunk in sql.chunked(sorted(set(lead_ids)), SCOPE_CHUNK):
        condition, params = sql.any_of("{id}", chunk)
        changed += _rescore_scope(f"AND {condition}", params, book=book)
    return changed


RESCORE_WORK_MEM = "64MB"  # the rollup pivot of a range aggregates in memory instead of sorting


def _rescore_scope(scope_sql: str, scope_params: list[Any], *, bulk: bool = False, book: Rulebook | None = None) -> int:
    """Rescore the leads in scope. `bulk` (the whole table or a range of it) also gives leads
    without a score row theirs, and lets PostgreSQL JIT-compile the per-lead expressions,
    which pays off over tens of thousands of rows (connections have JIT off otherwise)."""
    guarded = bulk and sql.is_postgres()
    statement, params = _rescore_statement(scope_sql, scope_params, book or rulebook(), guarded=guarded)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if sql.is_postgres() and bulk:  # a capture's few leads need neither
            cursor.execute(f"SET LOCAL work_mem = '{RESCORE_WORK_MEM}'")
            cursor.execute("SET LOCAL jit = on")
        if bulk:
            cursor.execute(*_score_rows_ensure_statement(scope_sql, scope_params))
            cursor.execute(statement, params)
        else:  # a capture's: the same few statements over and over
            sql.execute_prepared(cursor, statement, params)
        return cursor.rowcount


def _score_rows_ensure_statement(scope_sql: str, scope_params: list[Any]) -> tuple[str, list[Any]]:
    """Give leads in scope that have none a zero LeadScore row, so the rescore's UPDATE reaches
    them. Every way in creates the row with the lead (Lead.save, leads_ensure, the bulk
    loaders); the full rescore runs this as a safety net, capture's scoped ones skip it."""
    return (
        "INSERT INTO leads_leadscore "
        "(lead_id, fit, engagement, score, persona_id, breakdown, created_at, last_touch_at) "
        "SELECT l.id, 0, 0, 0, NULL, '{}', l.created_at, l.last_touch_at FROM leads_lead l "
        f"WHERE NOT EXISTS (SELECT 1 FROM leads_leadscore s WHERE s.lead_id = l.id) {scope_sql.format(id='l.id')}",
        scope_params,
    )


# The rescore statement's text per (rulebook version, scope shape): building it takes longer
# than running it for the one lead of a form post, and it only changes with the rulebook.
# Swapped whole when the version changes, so threads sharing it never see it half cleared.
_statements: tuple[str, dict[tuple[str, bool], tuple[str, list[Any], int]]] = ("", {})


def _rescore_statement(
    scope_sql: str, scope_params: list[Any], book: Rulebook, *, guarded: bool = False
) -> tuple[str, list[Any]]:
    """The UPDATE for leads in scope; `scope_sql` names the id column as {id}, so the same
    bound narrows both the leads and their rollups (the pivot never reads other leads).

    `guarded` (PostgreSQL): leave alone a score row that another transaction rewrote since
    this statement read it. A bulk rescore reads the rollups once, at its start; a capture
    that meanwhile adds an event and rescores its lead has the fresher figures, and without
    the guard the bulk statement, reaching that row after it, would put the stale ones back.
    """
    global _statements
    version, cache = _statements
    if not book.version:  # no state row yet: nothing tells when the rules change, so no cache
        cache = {}
    elif version != book.version:
        cache = {}
        _statements = (book.version, cache)
    built = cache.get((scope_sql, guarded))
    if built is None:
        built = cache[(scope_sql, guarded)] = _rescore_template(scope_sql, book, guarded)
    statement, fixed_params, scope_uses = built
    # Placeholders appear in this order: the fixed ones (breakdown names, fits, negatives), then
    # the scope once for each place that names it (the pivot, the seen rows, the leads, the target).
    return statement, [*fixed_params, *scope_params * scope_uses]


def _rescore_template(scope_sql: str, book: Rulebook, guarded: bool) -> tuple[str, list[Any], int]:
    """The statement, its parameters before the scope's, and how many times it names the scope."""
    personas, rules = book.personas, book.rules
    engagement = [r for r in rules if r.kind == ScoringRule.Kind.ENGAGEMENT]
    negatives = [r for r in rules if r.is_negative]

    fit_columns, fit_params = [], []
    for index, persona in enumerate(personas):
        text, values = _persona_fit_sql(persona)
        fit_columns.append(f"{text} AS fit{index}")
        fit_params.extend(values)
    fit_names = [f"s.fit{index}" for index in range(len(personas))]
    fit_expr = sql.greatest(fit_names) if personas else "0"
    persona_expr = _best_persona_sql(personas, fit_names, fit_expr)

    # Each rule's contribution, rounded, from a pivot of the lead's rollups.
    rule_columns, rule_parts = [], []
    for rule in engagement:
        capped = sql.least("r.value", str(int(rule.cap))) if rule.cap is not None else "r.value"
        rule_columns.append(
            f"CAST(COALESCE(ROUND(SUM(CASE WHEN r.rule_id = {int(rule.pk)} THEN {capped} END)), 0) AS INTEGER)"
            f" AS rule{rule.pk}"
        )
        rule_parts.append((rule.name, f"NULLIF(s.rule{rule.pk}, 0)", []))
    negative_columns, negative_params = [], []
    for rule in negatives:
        text, values = _negative_sql(rule)
        negative_columns.append(f"CASE WHEN {text} THEN {-abs(int(rule.points))} ELSE 0 END AS neg{rule.pk}")
        negative_params.extend(values)
        rule_parts.append((rule.name, f"NULLIF(s.neg{rule.pk}, 0)", []))
    engagement_terms = [f"s.rule{r.pk}" for r in engagement] + [f"s.neg{r.pk}" for r in negatives]
    engagement_expr = " + ".join(engagement_terms) if engagement_terms else "0"
    breakdown_expr, breakdown_params = _breakdown_sql([(FIT_KEY, f"NULLIF({fit_expr}, 0)", []), *rule_parts])

    pivot = (
        # No filter on the rule: each column picks its own rule, and leaving the rule out lets
        # the (lead, rule) index serve a scoped rescore.
        f"SELECT r.lead_id, {', '.join(rule_columns)} FROM leads_engagementrollup r "
        f"WHERE 1=1 {scope_sql.format(id='r.lead_id')} GROUP BY r.lead_id"
        if engagement
        else "SELECT CAST(NULL AS BIGINT) AS lead_id"
    )
    rollup_columns = [f"COALESCE(p.rule{r.pk}, 0) AS rule{r.pk}" for r in engagement]
    # The version of the score row this statement saw (its xmin), to write only that version.
    seen, seen_column, seen_join, seen_check = "", [], "", ""
    if guarded:
        seen, seen_column = ", s.seen", ["o.xmin AS seen"]
        seen_join = f" LEFT JOIN leads_leadscore o ON o.lead_id = l.id {scope_sql.format(id='o.lead_id')}"
        seen_check = " AND leads_leadscore.xmin = n.seen"
    inner_columns = ", ".join(
        ["l.id", "l.created_at", "l.last_touch_at", *fit_columns, *negative_columns, *rollup_columns, *seen_column]
    )
    computed = (
        f"SELECT s.id, s.created_at, s.last_touch_at, CAST({fit_expr} AS INTEGER) AS fit, "
        f"{persona_expr} AS persona_id, "
        f"CAST({engagement_expr} AS INTEGER) AS engagement, {breakdown_expr} AS breakdown{seen} "
        f"FROM (SELECT {inner_columns} FROM leads_lead l LEFT JOIN ({pivot}) p ON p.lead_id = l.id{seen_join} "
        # Fenced twice: each persona's fit and the breakdown are computed once per lead, not
        # once for every place the outer queries name them.
        f"WHERE 1=1 {scope_sql.format(id='l.id')}{sql.fence()}) s{sql.fence()}"
    )
    changed = " OR ".join(
        [
            sql.distinct("leads_leadscore.fit", "n.fit"),
            sql.distinct("leads_leadscore.persona_id", "n.persona_id"),
            sql.distinct("leads_leadscore.engagement", "n.engagement"),
            sql.distinct("leads_leadscore.score", "n.fit + n.engagement"),
            sql.distinct("leads_leadscore.breakdown", "n.breakdown"),
            sql.distinct("leads_leadscore.created_at", "n.created_at"),
            sql.distinct("leads_leadscore.last_touch_at", "n.last_touch_at"),
        ]
    )
    statement = (
        "UPDATE leads_leadscore SET fit = n.fit, persona_id = n.persona_id, "
        "engagement = n.engagement, score = n.fit + n.engagement, breakdown = n.breakdown, "
        # The lists' sort copies ride along: capture rescores every lead it touches, a merge its survivor.
        "created_at = n.created_at, last_touch_at = n.last_touch_at "
        # The scope again on the target, so PostgreSQL reads only that id range of scores.
        f"FROM ({computed}) n WHERE leads_leadscore.lead_id = n.id "
        f"{scope_sql.format(id='leads_leadscore.lead_id')} AND ({changed}){seen_check}"
    )
    # The breakdown's names come first (outer select), then fits and negatives (inner select).
    return statement, [*breakdown_params, *fit_params, *negative_params], 2 + bool(engagement) + guarded


def _best_persona_sql(personas: list[Persona], fit_names: list[str], fit_expr: str) -> str:
    if not personas:
        return "CAST(NULL AS BIGINT)"
    whens = " ".join(f"WHEN {name} = {fit_expr} THEN {int(p.pk)}" for p, name in zip(personas, fit_names, strict=True))
    return f"CASE WHEN {fit_expr} <= 0 THEN NULL {whens} END"


def rules_changed(*, rules: Iterable[ScoringRule] = ()) -> int:
    """After personas or rules change: rebuild the edited rules' rollups, then rescore all."""
    rollups_rebuild_many(rules=rules)
    rollups_analyze()
    return leads_rescore()


RESCORE_RANGE = sql.ID_RANGE  # leads per range (tests make it small)


def leads_rescore_all(*, progress: Any = None) -> int:
    """Rescore every lead in id ranges: set-based within each range, progress between them,
    two ranges at once on PostgreSQL outside a transaction (`sql.each_in_parallel`)."""
    ranges = sql.id_ranges(Lead, size=RESCORE_RANGE)
    return sum(sql.each_in_parallel(lambda bounds: _rescore_range(bounds, progress), ranges))


def _rescore_range(bounds: tuple[int, int], progress: Any) -> int:
    changed = _rescore_scope("AND {id} BETWEEN %s AND %s", list(bounds), bulk=True)
    if progress:
        progress(Lead.objects.filter(id__gte=bounds[0], id__lte=bounds[1]).count())
    return changed


def rescore_enqueue(*, rule_ids: Iterable[int] = (), by: Any = None) -> Job:
    """Queue the background rescore that follows an edit of personas or rules."""
    return job_queue(kind="rescore", params={"rule_ids": sorted(set(rule_ids))}, total=Lead.objects.count(), by=by)


def rescore_run(*, job: Job) -> Job:
    """Rebuild the edited rules' rollups, rescore every lead, then requalify; with progress."""
    return job_run(job=job, work=_rescore_job)


def _rescore_job(job: Job, advance: Advance) -> dict[str, Any]:
    rollups_rebuild_many(rules=ScoringRule.objects.filter(pk__in=job.params.get("rule_ids", [])))
    rollups_analyze()
    changed = leads_rescore_all(progress=advance)
    return {"changed": changed, "promoted": leads_qualify()}


def scores_decay_nightly() -> dict[str, Any]:
    """Beat: decay the rollups to now, then rescore (only changed rows are written)."""
    outcome = rollups_decay()
    outcome["changed"] = leads_rescore_all()
    return outcome
