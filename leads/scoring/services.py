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
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Value, When
from django.utils import timezone

from leads.conditions import condition_matches
from leads.jobs import Advance, job_queue, job_run
from leads.models import EngagementRollup, Job, Lead, Persona, ScoringRule, ScoringState
from leads.qualification.services import leads_qualify
from leads.rulebook import Rulebook, rulebook, rulebook_at
from leads.scoring import sql as scoring_sql
from smarketing.lib import sql

ROLLUP_FLOOR = 0.005  # decayed below this a rollup no longer changes any rounded score


SCOPE_CHUNK = 500


def persona_fit(persona: Persona, lead: Lead) -> int:
    total = sum(c.get("weight", 0) for c in persona.conditions)
    if not total:
        return 0
    matched = sum(c.get("weight", 0) for c in persona.conditions if condition_matches(c, lead))
    return round(matched * 100 / total)


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
            sql.execute_prepared(cursor, *sql.bind(scoring_sql.CAPTURE_STATE))
            row = cursor.fetchone()
        if row is not None:
            return row[0], rulebook_at(row[1])
    state = ScoringState.current()
    return state.decayed_at, rulebook_at(state.rulebook_version)


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
            statement, params = scoring_sql.rollups_add(chunk)
            sql.execute_prepared(cursor, *sql.bind(statement, **params))
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
            cursor.execute(*sql.bind(scoring_sql.STATE_LOCK))


def rollups_rebuild(*, rules: Iterable[ScoringRule], leads: tuple[int, int] | None = None) -> None:
    """Recompute these rules' rollups from their events (of the leads with ids in the `leads`
    bounds, when given). Must run inside the caller's transaction, which holds capture off
    (`rollups_exclusive`) or runs while another transaction does. One statement reads the
    events once for all the rules (`scoring_sql.rollups_rebuild`).
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
    statement, params = scoring_sql.rollups_rebuild(live, bounded=leads is not None)
    bounds = {"first": leads[0], "last": leads[1]} if leads is not None else {}
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, decayed_at=decayed_at, **bounds, **params))


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
            statement = scoring_sql.ANALYZE if connection.in_atomic_block else scoring_sql.VACUUM_ANALYZE
            cursor.execute(*sql.bind(statement))


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


def leads_rescore(*, lead_ids: Iterable[int] | None = None, book: Rulebook | None = None) -> int:
    """Recompute fit, persona, engagement, score and breakdown, and copy the lead's creation
    and last touch times beside them (the lists sort by those there); returns the rows changed.

    One statement over every lead (or the given ones): personas' fits as CASE sums, the
    best persona by comparison, engagement from the rollups, negative rules as CASEs,
    and the breakdown built as JSON in the database. Rows whose figures are unchanged are
    not written.
    """
    if lead_ids is None:
        return _rescore_scope("", {}, bulk=True)
    changed = 0
    for chunk in sql.chunked(sorted(set(lead_ids)), SCOPE_CHUNK):
        changed += _rescore_scope(*scoring_sql.scope_ids(chunk), book=book)
    return changed


def _rescore_scope(
    scope: str, scope_params: dict[str, Any], *, bulk: bool = False, book: Rulebook | None = None
) -> int:
    """Rescore the leads in scope (`scoring_sql.rescore`). `bulk` (the whole table or a range of
    it) also gives leads without a score row theirs, and lets PostgreSQL JIT-compile the
    per-lead expressions, which pays off over tens of thousands of rows (connections have JIT
    off otherwise)."""
    guarded = bulk and sql.is_postgres()
    statement, params = _rescore_statement(scope, book or rulebook(), guarded=guarded)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if sql.is_postgres() and bulk:  # a capture's few leads need neither
            cursor.execute(*sql.bind(scoring_sql.WORK_MEM))
            cursor.execute(*sql.bind(scoring_sql.JIT_ON))
        if bulk:
            cursor.execute(*sql.bind(scoring_sql.score_rows_ensure(scope), **scope_params))
            cursor.execute(*sql.bind(statement, **params, **scope_params))
        else:  # a capture's: the same few statements over and over
            sql.execute_prepared(cursor, *sql.bind(statement, **params, **scope_params))
        return cursor.rowcount


# The rescore statement's text per (rulebook version, scope shape): building it takes longer
# than running it for the one lead of a form post, and it only changes with the rulebook.
# Swapped whole when the version changes, so threads sharing it never see it half cleared.
_statements: tuple[str, dict[tuple[str, bool], tuple[str, dict[str, Any]]]] = ("", {})


def _rescore_statement(scope: str, book: Rulebook, *, guarded: bool = False) -> tuple[str, dict[str, Any]]:
    """The rescore UPDATE for leads in scope and the values it names but the scope's, from the
    cache (`scoring_sql.rescore`)."""
    global _statements
    version, cache = _statements
    if not book.version:  # no state row yet: nothing tells when the rules change, so no cache
        cache = {}
    elif version != book.version:
        cache = {}
        _statements = (book.version, cache)
    built = cache.get((scope, guarded))
    if built is None:
        built = cache[(scope, guarded)] = scoring_sql.rescore(book, scope, guarded=guarded)
    return built


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
    changed = _rescore_scope(scoring_sql.SCOPE_RANGE, {"first": bounds[0], "last": bounds[1]}, bulk=True)
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
    """Rollups first (once), then the leads range by range: each range is set-based and
    idempotent, and the checkpoint is the last lead id below which every range is done, so a
    resumed run rebuilds nothing and rescores only what is left."""
    checkpoint = job.checkpoint
    if "after" not in checkpoint:
        rollups_rebuild_many(rules=ScoringRule.objects.filter(pk__in=job.params.get("rule_ids", [])))
        rollups_analyze()
        checkpoint = {"after": 0, "changed": 0}
        advance(0, checkpoint=checkpoint)
    after = checkpoint["after"]
    ranges = [(max(first, after + 1), last) for first, last in sql.id_ranges(Lead, size=RESCORE_RANGE) if last > after]
    ranges_done = RangesDone(ranges, checkpoint, advance)
    sql.each_in_parallel(ranges_done.rescore, ranges)
    return {"changed": ranges_done.changed, "promoted": leads_qualify()}


class RangesDone:
    """The rescore job's ranges as they finish, in any order (two run at once on PostgreSQL):
    the checkpoint moves past a range once every range before it is done too."""

    def __init__(self, ranges: list[tuple[int, int]], checkpoint: dict[str, Any], advance: Advance) -> None:
        self.waiting = list(ranges)
        self.finished: dict[tuple[int, int], int] = {}
        self.after, self.changed = checkpoint["after"], checkpoint["changed"]
        self.advance = advance
        self.lock = threading.Lock()

    def rescore(self, bounds: tuple[int, int]) -> None:
        changed = _rescore_scope(scoring_sql.SCOPE_RANGE, {"first": bounds[0], "last": bounds[1]}, bulk=True)
        count = Lead.objects.filter(id__gte=bounds[0], id__lte=bounds[1]).count()
        with self.lock:
            self.finished[bounds] = changed
            while self.waiting and self.waiting[0] in self.finished:
                done = self.waiting.pop(0)
                self.after, self.changed = done[1], self.changed + self.finished.pop(done)
            self.advance(count, checkpoint={"after": self.after, "changed": self.changed})


def scores_decay_nightly() -> dict[str, Any]:
    """Beat: decay the rollups to now, then rescore (only changed rows are written)."""
    outcome = rollups_decay()
    outcome["changed"] = leads_rescore_all()
    return outcome
