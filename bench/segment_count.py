"""How fast lists and segments count at production size (a million leads, ten million events).

The goal (the lists issue): a typical segment's count within 300 ms at p95, so the lists page,
a list's page and the API's member_count stay quick at 1M leads. Run it on a PostgreSQL server
you may fill, as the other benchmarks:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/segment_count.py

It uses bench/run.py's database and data: `smarketing_bench` on that server (`--database` for
another), filled by `manage.py generate_data` (COPY) up to --leads / --events when it holds
fewer leads, then VACUUM ANALYZE. Then

1. a static list of 200,000 leads (every fifth lead) is made once through `list_add_leads`,
   set-based, and kept for later runs (the time it took is printed the run that made it);
2. each typical segment below is counted `--runs` times (default 20) after 3 warm-up counts,
   with `list_count`, the selector every page and the API use: p50 and p95 against 300 ms;
3. the first page of each one's members, as the list's page reads it: p95 against 100 ms.

`--explain` prints each count's plan (EXPLAIN ANALYZE, BUFFERS): where a count misses, the plan
says why. The figures depend on the server's shared_buffers (bench/README.md); the header
prints it.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project importable

from bench import run  # noqa: E402

STATIC_NAME = "bench: every fifth lead"
STATIC_SIZE = 200_000
TARGET_COUNT_MS = 300
TARGET_PAGE_MS = 100
MEMBERS_PER_PAGE = 50

# Typical segments, as marketing writes them (the qualification tree's shape).
SEGMENTS: dict[str, dict[str, Any]] = {
    "country in ES/DE/FR and industry in Software/Healthcare": {
        "op": "all",
        "children": [
            {"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "DE", "FR"]},
            {"op": "attr", "field": "industry", "cmp": "in", "value": ["Software", "Healthcare"]},
        ],
    },
    "stage in mql/sql and country in US/GB": {
        "op": "all",
        "children": [
            {"op": "attr", "field": "stage", "cmp": "in", "value": ["mql", "sql"]},
            {"op": "attr", "field": "country", "cmp": "in", "value": ["US", "GB"]},
        ],
    },
    "fit >= 60": {"op": "fit_gte", "value": 60},
    "score >= 100": {"op": "score_gte", "value": 100},
    "webinar_attended within 90 days": {"op": "has_event", "event": "webinar_attended", "within_days": 90},
    "country in ES/DE and webinar_attended within 90 days": {
        "op": "all",
        "children": [
            {"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "DE"]},
            {"op": "has_event", "event": "webinar_attended", "within_days": 90},
        ],
    },
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20, help="Timed counts per segment.")
    parser.add_argument("--database", default=run.BENCH_DB, help="Name of the bench database on the server.")
    parser.add_argument("--explain", action="store_true", help="Print each count's plan.")
    return parser.parse_args(argv)


def static_list(*, size: int) -> tuple[Any, float | None]:
    """The kept static list of every fifth lead; made (and timed) when missing or short."""
    from leads.models import Lead
    from playbooks.lists import selectors, services
    from playbooks.models import LeadList

    lead_list = LeadList.objects.filter(name=STATIC_NAME).first()
    if lead_list and selectors.list_count(lead_list) >= size:
        return lead_list, None
    if lead_list is None:
        lead_list = services.list_save(data={"name": STATIC_NAME, "kind": "static"}, by=None)
    ids = list(Lead.objects.order_by("id").values_list("id", flat=True)[::5][:size])
    started = time.perf_counter()
    services.list_add_leads(lead_list=lead_list, lead_ids=ids, source="import")
    return lead_list, time.perf_counter() - started


def explain(lead_list: Any) -> str:
    """The plan of the count `list_count` runs."""
    from django.db import connection

    from playbooks.lists import selectors
    from smarketing.lib import sql

    if lead_list.kind == "static":
        statement = "SELECT COUNT(*) FROM playbooks_listmembership WHERE list_id = %(list)s"
        params = {"list": lead_list.pk}
    else:
        statement, params = selectors.condition_count_sql(lead_list.condition)
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", **params))
        return "\n".join(row[0] for row in cursor.fetchall())


def measure(name: str, lead_list: Any, *, runs: int, show_plan: bool) -> list[Any]:
    from bench.scenarios import Result, percentile, timings
    from playbooks.lists import selectors

    count = selectors.list_count(lead_list)
    counts = timings(lambda: selectors.list_count(lead_list), runs=runs)
    if lead_list.kind == "static":
        rows = selectors.static_members_page_rows(lead_list)
    else:
        rows = selectors.segment_members_page_rows(lead_list)
    pages = timings(lambda: list(rows[:MEMBERS_PER_PAGE]), runs=runs)
    note = f"{count:,} leads"
    print(f"  {name}: {note}; count p95 {percentile(counts, 95):,.0f} ms", flush=True)
    if show_plan:
        print(explain(lead_list), flush=True)
    return [
        Result(f"{name}: count p50", percentile(counts, 50), "ms", TARGET_COUNT_MS, note=note),
        Result(f"{name}: count p95", percentile(counts, 95), "ms", TARGET_COUNT_MS, note=note),
        Result(f"{name}: first {MEMBERS_PER_PAGE} members p95", percentile(pages, 95), "ms", TARGET_PAGE_MS),
    ]


def segment_counts(*, runs: int, show_plan: bool = False) -> list[Any]:
    """Every typical segment and the 200,000-lead static list, counted and paged."""
    from bench.scenarios import Result
    from leads.models import LEAD_ATTRIBUTE_FIELDS
    from playbooks.models import LeadList

    lead_list, took = static_list(size=STATIC_SIZE)
    results = []
    if took is not None:
        rate = STATIC_SIZE / took
        results.append(Result("static list: add 200,000 leads", rate, "rows/s", note=f"{took:.1f} s, set-based"))
    results += measure("static list of 200,000", lead_list, runs=runs, show_plan=show_plan)
    for name, tree in SEGMENTS.items():
        named = {leaf.get("field") for leaf in tree.get("children", [tree])}
        unknown = sorted(field for field in named if field and field not in LEAD_ATTRIBUTE_FIELDS)
        if unknown:
            print(f"  {name}: not timed, a tree cannot name {', '.join(unknown)} (leads.models.LEAD_ATTRIBUTE_FIELDS)")
            continue
        segment = LeadList(name=name, kind=LeadList.Kind.SEGMENT, condition=tree)  # counted, never saved
        results += measure(f"segment {name}", segment, runs=runs, show_plan=show_plan)
    return results


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if run.bench_ready(args) is None:
        return 2

    from leads.models import Event, Lead

    counts = {"leads": Lead.objects.count(), "events": Event.objects.count()}
    print("running segment_count …", flush=True)
    results = segment_counts(runs=args.runs, show_plan=args.explain)
    header = (
        f"{args.database}: {counts['leads']:,} leads, {counts['events']:,} events; {args.runs} runs per latency; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; PostgreSQL {run.server_settings()}"
    )
    run.print_table(results, header)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
