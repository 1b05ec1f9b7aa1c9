"""Benchmark scenarios: each measures one thing a user or a job does, against a target.

A scenario is a function taking the `Context` and returning `Result`s; the `@scenario`
decorator registers it, and `bench/run.py` runs them in the order they appear here. To add
one: write the function, decorate it, give each figure a target and say whether higher or
lower is better.
"""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from leads.selectors import leads_visible_to


@dataclass
class Result:
    scenario: str
    figure: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Above 1 beats the target, whichever direction is better."""
        if not self.target or not self.figure:
            return None
        return self.figure / self.target if self.higher_is_better else self.target / self.figure


@dataclass
class Context:
    """What the runner knows: options, the users scenarios act as, and what generation did."""

    runs: int
    stage: str
    marketer: User
    generate: dict[str, Any] | None = None  # generate_data's figures, None when it did not run
    counts: dict[str, int] = field(default_factory=dict)
    minutes: int = 10  # the capture soak's length (bench/scenarios_load.py)


Scenario = Callable[[Context], list[Result]]
SCENARIOS: dict[str, Scenario] = {}


NAMED_ONLY: set[str] = set()  # scenarios that run only when --only names them


def scenario(func: Scenario) -> Scenario:
    SCENARIOS[func.__name__] = func
    return func


def scenario_named_only(func: Scenario) -> Scenario:
    """Register a scenario that runs only when `--only` names it: the load checks take minutes."""
    NAMED_ONLY.add(func.__name__)
    return scenario(func)


def timings(func: Callable[[], object], *, runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds for each of `runs` calls, after a few warm-up calls fill the caches."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
        reset_queries()
    return times


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def latency(name: str, times: list[float], *, p50: float, p95: float) -> list[Result]:
    return [
        Result(f"{name} p50", percentile(times, 50), "ms", p50),
        Result(f"{name} p95", percentile(times, 95), "ms", p95),
    ]


# --- scenarios -------------------------------------------------------------------------

# 1M leads in a minute and 10M events in five, on 2 cores, in under 500 MB.
TARGET_LEADS_PER_SECOND = 1_000_000 / 60
TARGET_EVENTS_PER_SECOND = 10_000_000 / 300
TARGET_PEAK_MB = 500


@scenario
def generate_data(ctx: Context) -> list[Result]:
    """Fill rates of `manage.py generate_data` (COPY), from the run that filled this database."""
    if ctx.generate is None:
        return []
    load = ctx.generate.get("load_average_5min")
    note = ", ".join(filter(None, [ctx.generate.get("note", ""), f"load average {load} while filling" if load else ""]))
    rates = {table["table"]: table for table in ctx.generate["tables"]}
    targets = {"leads": TARGET_LEADS_PER_SECOND, "events": TARGET_EVENTS_PER_SECOND}
    results = [
        Result(f"generate {name}", table["rows_per_second"], "rows/s", targets.get(name), True, note)
        for name, table in rates.items()
    ]
    seconds = sum(table["seconds"] for table in rates.values())
    results.append(Result("generate elapsed", seconds, "s", 600, note=note))
    results.append(Result("generate peak RSS", ctx.generate["peak_rss_mb"], "MB", TARGET_PEAK_MB, note=note))
    return results


LEADS_PER_PAGE = 50  # the /leads/ page's size


def _lead_list_page(user: User, stage: str) -> tuple[int, list[Any]]:
    """What the /leads/ view does: visible leads, filtered, ordered, counted, first page."""
    leads = leads_visible_to(user).select_related("owner", "first_campaign")
    if stage:
        leads = leads.filter(stage=stage)
    page = Paginator(leads.order_by("-created_at", "-id"), LEADS_PER_PAGE).get_page(1)
    return page.paginator.count, list(page.object_list)


def _lead_list(ctx: Context, name: str, stage: str) -> list[Result]:
    user = User.objects.get(pk=ctx.marketer.pk)  # roles are cached per user object, as per request
    leads = leads_visible_to(user).select_related("owner", "first_campaign")
    if stage:
        leads = leads.filter(stage=stage)
    leads = leads.order_by("-created_at", "-id")
    count = timings(lambda: leads.count(), runs=ctx.runs)
    rows = timings(lambda: list(leads[:LEADS_PER_PAGE]), runs=ctx.runs)
    fresh = User.objects.get(pk=ctx.marketer.pk)
    with CaptureQueriesContext(connection) as queries:
        total, page = _lead_list_page(fresh, stage)
    note = f"{total:,} leads match"
    return [
        *latency(f"{name}: first {LEADS_PER_PAGE} rows", rows, p50=20, p95=50),
        *latency(f"{name}: count", count, p50=50, p95=100),
        Result(f"{name}: queries", len(queries), "queries", 3, note="role lookup, count, page"),
        Result(f"{name}: rows on page", len(page), "rows", note=note),
    ]


@scenario
def lead_list_filtered(ctx: Context) -> list[Result]:
    """The marketer's lead list filtered by one stage (default mql)."""
    return _lead_list(ctx, f"lead list stage={ctx.stage}", ctx.stage)


@scenario
def lead_list_all(ctx: Context) -> list[Result]:
    """The marketer's lead list with no filter: counting every lead is the worst case."""
    return _lead_list(ctx, "lead list all", "")


# The list's other filters and its score and last-touch sorts, as the page builds them (LeadFilter).
OTHER_FILTERS = [
    "ordering=-score",
    "ordering=score",
    "ordering=-last_touch_at",
    "score_min=90",
    "persona={persona}",
    "source=newsletter",
]


@scenario
def lead_list_other_filters(ctx: Context) -> list[Result]:
    """First pages of the lead list with the other filters and sorted by score or last touch: p95 each."""
    from django.http import QueryDict

    from leads.filters import LeadFilter
    from leads.models import LeadScore

    user = User.objects.get(pk=ctx.marketer.pk)
    # A persona some lead holds: generated scores have none until a rescore gives them theirs,
    # and an unknown persona is dropped by the filter, which would time the unfiltered list.
    persona = LeadScore.objects.filter(persona__isnull=False).values_list("persona_id", flat=True).first()
    results = []
    for query in OTHER_FILTERS:
        if "{persona}" in query and persona is None:
            print("  persona filter not timed: no lead has a persona yet (rescore_requalify gives them one)")
            continue
        query = query.format(persona=persona)
        rows = leads_visible_to(user).select_related("owner", "scoring__persona", "first_campaign")
        leads = LeadFilter(QueryDict(query), queryset=rows).qs  # ordered as the list orders it
        times = timings(lambda leads=leads: list(leads[:LEADS_PER_PAGE]), runs=ctx.runs)
        results.append(Result(f"lead list {query}: first {LEADS_PER_PAGE} rows p95", percentile(times, 95), "ms", 100))
    return results
