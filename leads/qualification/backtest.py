"""Backtests: what a draft definition would have qualified month by month over the past year,
beside the active version, and how those leads converted.

A tree is evaluated as of each month's end, so only events before that moment count; the
same compiled SQL as live qualification does the work, a month at a time.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from leads.jobs import Advance, job_queue, job_run
from leads.models import (
    Job,
    Lead,
    QualificationDefinition,
    Stage,
)
from leads.qualification import sql as qualification_sql
from leads.qualification.selectors import active_definition
from smarketing.lib import sql

BATCH = 1_000  # leads whose outcomes are read in one query
WON_STAGES = [Stage.CUSTOMER, Stage.EVANGELIST]


OPPORTUNITY_STAGES = [Stage.OPPORTUNITY, *WON_STAGES]


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
    compiled = qualification_sql.compile_tree(tree, as_of=moment, name="tree")
    statement = qualification_sql.qualified_as_of(compiled)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(statement, as_of=sql.db_datetime(moment), **compiled.params))
        return {row[0] for row in cursor.fetchall()}


def _outcomes(ids: set[int]) -> dict[str, int]:
    opportunities = won = 0
    for chunk in sql.chunked(sorted(ids), BATCH):
        stages = Lead.objects.filter(pk__in=chunk).values_list("stage", flat=True)
        for stage in stages:
            opportunities += stage in OPPORTUNITY_STAGES
            won += stage in WON_STAGES
    return {"opportunities": opportunities, "won": won}


def backtest_tree(
    tree: dict[str, Any], boundaries: list[datetime], progress: Callable[[], None] = lambda: None
) -> list[dict[str, Any]]:
    """Per month: leads the tree first qualifies that month, and how many went on to win
    (`progress()` after each month, so a job's lease is kept while months go by).

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
        progress()
    return out


def backtest(
    *,
    definition: QualificationDefinition,
    months: int = 12,
    now: datetime | None = None,
    progress: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """The draft beside the active version over the past `months` months (`progress()` after each
    month of each tree)."""
    boundaries = month_starts(months, now or timezone.now())
    active = active_definition()
    result: dict[str, Any] = {"months": [b.strftime("%Y-%m") for b in boundaries[:-1]], "version": definition.version}
    result["draft"] = {
        "mql": backtest_tree(definition.mql_rule, boundaries, progress),
        "sql": backtest_tree(definition.sql_rule, boundaries, progress),
    }
    if active and active.pk != definition.pk:
        result["active_version"] = active.version
        result["active"] = {
            "mql": backtest_tree(active.mql_rule, boundaries, progress),
            "sql": backtest_tree(active.sql_rule, boundaries, progress),
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
        # Each month counts as progress (none done): a long backtest is not taken for a hung one.
        months = job.params.get("months", 12)
        return backtest(definition=definition, months=months, progress=lambda: advance(0))

    return job_run(job=job, work=work)


def backtest_enqueue(*, definition: QualificationDefinition, by: AbstractBaseUser) -> Job:
    return job_queue(kind="backtest", params={"definition_id": definition.pk, "months": 12}, total=1, by=by)
