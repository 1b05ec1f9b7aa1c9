"""Scoring's hand-written SQL: the state row, the engagement rollups (added to, rebuilt, analysed)
and the rescore, one UPDATE whose columns follow the rulebook.

Values are named and bound with `sql.bind`. The statements built from the rulebook name each
value after what it belongs to (`fit2c0_1`: the second value of persona 2's first condition,
`label17`: rule 17's name in the breakdown), and format into the text only what the code
computed: ids and points through int(), column names of its own, and conditions whose field
names `condition_sql` checks against the lead's fields.
"""

from typing import Any

from leads.conditions import condition_sql
from leads.models import Persona, ScoringRule
from leads.rulebook import Rulebook
from smarketing.lib import sql

# The breakdown's key for the fit.
FIT_KEY = "fit"

# Capture reads the decay moment and the rulebook version FOR SHARE: a decay or rollup rebuild
# holds the row FOR UPDATE (STATE_LOCK), so capture waits for it, then reads the edited rules.
CAPTURE_STATE = "SELECT decayed_at, rulebook_version FROM leads_scoringstate WHERE id = 1 FOR SHARE"
STATE_LOCK = "SELECT id FROM leads_scoringstate WHERE id = 1 FOR UPDATE"


# --- Rollups ------------------------------------------------------------------------------

ROLLUP_COLUMNS = [("lead_id", "bigint"), ("rule_id", "bigint"), ("value", "double precision")]


def rollups_add(rows: list[tuple[int, int, float]]) -> tuple[str, dict[str, Any]]:
    """Adds each (lead, rule, value) row to its rollup, creating the rollups not there yet."""
    cte, params = sql.named("v", sql.values_cte("v", ROLLUP_COLUMNS, rows))
    # WHERE true: SQLite would read ON CONFLICT as a join's ON without it.
    statement = (
        f"{cte} INSERT INTO leads_engagementrollup (lead_id, rule_id, value) "
        "SELECT lead_id, rule_id, value FROM v WHERE true ON CONFLICT (lead_id, rule_id) DO UPDATE "
        "SET value = leads_engagementrollup.value + excluded.value"
    )
    return statement, params


def rollups_rebuild(rules: list[ScoringRule], *, bounded: bool) -> tuple[str, dict[str, Any]]:
    """Inserts these engagement rules' rollups from their events, decayed to %(decayed_at)s (of
    the leads with ids %(first)s to %(last)s when `bounded`).

    The events are read once for all the rules: each rule's decayed sum is a column of one
    GROUP BY lead, and the columns are unfolded into (lead, rule, value) rows.
    """
    columns, params = [], {}
    for rule in rules:
        pk = int(rule.pk)
        where, where_params = sql.named(f"rule{pk}_where", sql.json_has("e.properties", rule.property_filter or {}))
        points = f"%(rule{pk}_points)s"
        if rule.half_life_days:
            age = sql.days_between("%(decayed_at)s", "e.occurred_at")
            points += f" * POWER(CAST(0.5 AS DOUBLE PRECISION), {age} / %(rule{pk}_half_life)s)"
            params[f"rule{pk}_half_life"] = rule.half_life_days
        columns.append(f"SUM(CASE WHEN e.type = %(rule{pk}_type)s AND {where} THEN {points} END) AS rule{pk}")
        params |= where_params | {f"rule{pk}_type": rule.event_type, f"rule{pk}_points": rule.points}
    types = sorted({rule.event_type for rule in rules})
    of_types, type_params = sql.named("type", (sql.in_list(types), types))
    bounds = " AND e.lead_id BETWEEN %(first)s AND %(last)s" if bounded else ""
    unfold = " UNION ALL ".join(
        f"SELECT lead_id, {int(rule.pk)}, rule{int(rule.pk)} FROM agg WHERE rule{int(rule.pk)} IS NOT NULL"
        for rule in rules
    )
    statement = (
        f"WITH agg AS (SELECT e.lead_id, {', '.join(columns)} FROM leads_event e "
        f"WHERE e.type IN ({of_types}){bounds} GROUP BY e.lead_id) "
        f"INSERT INTO leads_engagementrollup (lead_id, rule_id, value) {unfold}"
    )
    return statement, params | type_params


# Refreshes PostgreSQL's statistics after rollups were rebuilt in bulk; outside a transaction
# it also vacuums away the dead row a rebuild leaves behind every live one.
ANALYZE = "ANALYZE leads_engagementrollup"
VACUUM_ANALYZE = "VACUUM ANALYZE leads_engagementrollup"


# --- The rescore --------------------------------------------------------------------------

RESCORE_WORK_MEM = "64MB"  # the rollup pivot of a range aggregates in memory instead of sorting
WORK_MEM = f"SET LOCAL work_mem = '{RESCORE_WORK_MEM}'"
JIT_ON = "SET LOCAL jit = on"

# Which leads a rescore reaches: a condition naming the id column as {id}, so the same bound
# narrows the leads, their rollups and their score rows. "" is every lead.
SCOPE_RANGE = "AND {id} BETWEEN %(first)s AND %(last)s"


def scope_ids(ids: list[int]) -> tuple[str, dict[str, Any]]:
    condition, params = sql.named("id", sql.any_of("{id}", ids))
    return f"AND {condition}", params


def score_rows_ensure(scope: str) -> str:
    """Gives leads in scope that have none a zero LeadScore row, so the rescore's UPDATE reaches
    them. Every way in creates the row with the lead (Lead.save, leads_ensure, the bulk
    loaders); the full rescore runs this as a safety net, capture's scoped ones skip it."""
    return (
        "INSERT INTO leads_leadscore "
        "(lead_id, fit, engagement, score, persona_id, breakdown, created_at, last_touch_at) "
        "SELECT l.id, 0, 0, 0, NULL, '{}', l.created_at, l.last_touch_at FROM leads_lead l "
        f"WHERE NOT EXISTS (SELECT 1 FROM leads_leadscore s WHERE s.lead_id = l.id) {scope.format(id='l.id')}"
    )


def rescore(book: Rulebook, scope: str, *, guarded: bool) -> tuple[str, dict[str, Any]]:
    """The UPDATE for leads in `scope` (SCOPE_RANGE, `scope_ids`, or "" for every lead), with the
    values it names but the scope's: the same bound narrows both the leads and their rollups
    (the pivot never reads other leads).

    `guarded` (PostgreSQL): leave alone a score row that another transaction rewrote since
    this statement read it. A bulk rescore reads the rollups once, at its start; a capture
    that meanwhile adds an event and rescores its lead has the fresher figures, and without
    the guard the bulk statement, reaching that row after it, would put the stale ones back.
    """
    personas, rules = book.personas, book.rules
    engagement = [r for r in rules if r.kind == ScoringRule.Kind.ENGAGEMENT]
    negatives = [r for r in rules if r.is_negative]
    params: dict[str, Any] = {"label_fit": FIT_KEY}

    fit_columns = []
    for index, persona in enumerate(personas):
        text, values = _persona_fit_sql(persona, f"fit{index}")
        fit_columns.append(f"{text} AS fit{index}")
        params |= values
    fit_names = [f"s.fit{index}" for index in range(len(personas))]
    fit_expr = sql.greatest(fit_names) if personas else "0"
    persona_expr = _best_persona_sql(personas, fit_names, fit_expr)

    # Each rule's contribution, rounded, from a pivot of the lead's rollups.
    rule_columns, labels = [], [("label_fit", f"NULLIF({fit_expr}, 0)")]
    for rule in engagement:
        pk = int(rule.pk)
        capped = sql.least("r.value", str(int(rule.cap))) if rule.cap is not None else "r.value"
        rule_columns.append(
            f"CAST(COALESCE(ROUND(SUM(CASE WHEN r.rule_id = {pk} THEN {capped} END)), 0) AS INTEGER) AS rule{pk}"
        )
        labels.append((f"label{pk}", f"NULLIF(s.rule{pk}, 0)"))
        params[f"label{pk}"] = rule.name
    negative_columns = []
    for rule in negatives:
        pk = int(rule.pk)
        text, values = _negative_sql(rule, f"neg{pk}")
        negative_columns.append(f"CASE WHEN {text} THEN {-abs(int(rule.points))} ELSE 0 END AS neg{pk}")
        params |= values
        labels.append((f"label{pk}", f"NULLIF(s.neg{pk}, 0)"))
        params[f"label{pk}"] = rule.name
    engagement_terms = [f"s.rule{int(r.pk)}" for r in engagement] + [f"s.neg{int(r.pk)}" for r in negatives]
    engagement_expr = " + ".join(engagement_terms) if engagement_terms else "0"

    pivot = (
        # No filter on the rule: each column picks its own rule, and leaving the rule out lets
        # the (lead, rule) index serve a scoped rescore.
        f"SELECT r.lead_id, {', '.join(rule_columns)} FROM leads_engagementrollup r "
        f"WHERE 1=1 {scope.format(id='r.lead_id')} GROUP BY r.lead_id"
        if engagement
        else "SELECT CAST(NULL AS BIGINT) AS lead_id"
    )
    rollup_columns = [f"COALESCE(p.rule{int(r.pk)}, 0) AS rule{int(r.pk)}" for r in engagement]
    # The version of the score row this statement saw (its xmin), to write only that version.
    seen, seen_column, seen_join, seen_check = "", [], "", ""
    if guarded:
        seen, seen_column = ", s.seen", ["o.xmin AS seen"]
        seen_join = f" LEFT JOIN leads_leadscore o ON o.lead_id = l.id {scope.format(id='o.lead_id')}"
        seen_check = " AND leads_leadscore.xmin = n.seen"
    inner_columns = ", ".join(
        ["l.id", "l.created_at", "l.last_touch_at", *fit_columns, *negative_columns, *rollup_columns, *seen_column]
    )
    computed = (
        f"SELECT s.id, s.created_at, s.last_touch_at, CAST({fit_expr} AS INTEGER) AS fit, "
        f"{persona_expr} AS persona_id, "
        f"CAST({engagement_expr} AS INTEGER) AS engagement, {_breakdown_sql(labels)} AS breakdown{seen} "
        f"FROM (SELECT {inner_columns} FROM leads_lead l LEFT JOIN ({pivot}) p ON p.lead_id = l.id{seen_join} "
        # Fenced twice: each persona's fit and the breakdown are computed once per lead, not
        # once for every place the outer queries name them.
        f"WHERE 1=1 {scope.format(id='l.id')}{sql.fence()}) s{sql.fence()}"
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
        f"{scope.format(id='leads_leadscore.lead_id')} AND ({changed}){seen_check}"
    )
    return statement, params


def _persona_fit_sql(persona: Persona, name: str) -> tuple[str, dict[str, Any]]:
    """The persona's fit for lead `l`: matched weights ÷ all weights × 100, rounded."""
    total = sum(c.get("weight", 0) for c in persona.conditions)
    if not total:
        return "0", {}
    parts, params = [], {}
    for index, condition in enumerate(persona.conditions):
        text, values = sql.named(f"{name}c{index}", condition_sql(condition, vendor=sql.vendor()))
        parts.append(f"CASE WHEN {text} THEN {int(condition.get('weight', 0))} ELSE 0 END")
        params |= values
    # Rounded in integers, (2·100·matched + total) div (2·total), to stay out of numeric arithmetic.
    return f"((({' + '.join(parts)}) * 200 + {int(total)}) / {2 * int(total)})", params


def _negative_sql(rule: ScoringRule, name: str) -> tuple[str, dict[str, Any]]:
    """Whether a negative rule holds for lead `l`."""
    values = [str(v).lower() for v in rule.values or [] if str(v).strip()]
    if rule.kind == ScoringRule.Kind.UNSUBSCRIBED:
        return "l.unsubscribed_at IS NOT NULL", {}
    if not values:
        return "1=0", {}
    domain_condition = {"field": "email_domain", "op": "in", "value": values}
    domain, domain_params = sql.named(f"{name}d", condition_sql(domain_condition, vendor=sql.vendor()))
    if rule.kind == ScoringRule.Kind.FREE_MAIL:
        return domain, domain_params
    company_condition = {"field": "company", "op": "in", "value": values}
    company, company_params = sql.named(f"{name}c", condition_sql(company_condition, vendor=sql.vendor()))
    return f"({domain} OR {company})", domain_params | company_params


def _breakdown_sql(labels: list[tuple[str, str]]) -> str:
    """A JSON object {name: points} from (the name's parameter, points SQL), dropping null points."""
    pieces = ", ".join(f"%({label})s, {points}" for label, points in labels)
    if sql.is_postgres():
        return f"jsonb_strip_nulls(jsonb_build_object({pieces}))"
    # json_patch drops the keys whose value is null (RFC 7396 merge patch).
    return f"json_patch('{{}}', json_object({pieces}))"


def _best_persona_sql(personas: list[Persona], fit_names: list[str], fit_expr: str) -> str:
    if not personas:
        return "CAST(NULL AS BIGINT)"
    whens = " ".join(f"WHEN {name} = {fit_expr} THEN {int(p.pk)}" for p, name in zip(personas, fit_names, strict=True))
    return f"CASE WHEN {fit_expr} <= 0 THEN NULL {whens} END"
