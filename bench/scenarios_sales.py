"""Benchmark scenarios for the sales side: claiming, the rep's queue, the speed-to-lead job.

Registered with bench/scenarios.py's `@scenario` when imported (bench/run.py imports this
module after Django is set up). Run alone:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/scenarios_sales.py --database smk_sales_bench --leads 1000000 --events 1000000

Each scenario builds its own handoffs with one INSERT … SELECT over the generated leads, and
removes them (and what claiming changed) afterwards, so the database is left as it was.
"""

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def standalone_setup(argv: list[str]) -> tuple[Any, str]:
    """Run alone: create/migrate the bench database and set Django up before the imports below."""
    from bench import run

    args = run.parse_args(argv)
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    run.ensure_database(server_url, args.database, fresh=args.fresh)
    url = run.bench_url(server_url, args.database)
    run.setup_django(url)
    return args, url


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    STANDALONE = standalone_setup(sys.argv[1:])

from bench.scenarios import Context, Result, latency, percentile, scenario, timings  # noqa: E402

REPS = 50
TEAMS = 2
POOLED = 100_000
CLAIMS_PER_REP = 100
QUEUE_SIZE = 25
OPEN_HANDOFFS = 100_000
REP_PREFIX = "bench-sales-rep"


# --- Fixtures, set-based ----------------------------------------------------------------


def sales_team() -> tuple[list[Any], list[Any]]:
    """50 reps in two teams with a manager each, capacity high enough never to refuse a claim."""
    from django.contrib.auth.models import Group, User

    from leads.models import RepProfile, Team
    from smarketing.roles import Role

    sales = Group.objects.get_or_create(name=Role.SALES.value)[0]
    managers = Group.objects.get_or_create(name=Role.MANAGER.value)[0]
    teams = []
    for number in range(TEAMS):
        boss, _ = User.objects.get_or_create(username=f"bench-sales-manager{number}")
        boss.groups.add(managers)
        teams.append(Team.objects.get_or_create(name=f"Bench team {number}", defaults={"manager": boss})[0])
    reps = []
    for number in range(REPS):
        rep, _ = User.objects.get_or_create(username=f"{REP_PREFIX}{number}")
        rep.groups.add(sales)
        RepProfile.objects.update_or_create(user=rep, defaults={"team": teams[number % TEAMS], "capacity": 1_000_000})
        reps.append(rep)
    return reps, teams


def clear(reps: list[Any]) -> None:
    """Remove every handoff and what the bench's reps were given, in a few statements."""
    from django.db import connection

    rep_ids = [rep.pk for rep in reps]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_handoff, leads_assignmentlog, leads_notification, leads_assignmentrule_personas")
        cursor.execute("DELETE FROM leads_assignmentrule")
        cursor.execute("UPDATE leads_lead SET owner_id = NULL WHERE owner_id = ANY(%s)", [rep_ids])
        cursor.execute("UPDATE leads_repprofile SET last_assigned_at = NULL WHERE user_id = ANY(%s)", [rep_ids])


HANDOFF_INSERT = """
INSERT INTO leads_handoff (lead_id, stage, status, team_id, assigned_to_id, score, why, handed_off_at, deadline,
                           due_at, reassign_at, overdue_at, reassign_count, last_activity_kind)
SELECT l.id, l.stage, {status}, {team}, {rep}, l.score, '[]'::jsonb, h.at, h.due, h.due, h.reassign, {overdue}, 0, ''
FROM (SELECT id, stage, score, row_number() OVER (ORDER BY id) AS n
      FROM leads_lead WHERE stage IN ('mql', 'sql') ORDER BY id LIMIT {count}) l
CROSS JOIN LATERAL (SELECT {at} AS at, {due} AS due, {reassign} AS reassign) h
"""


def handoffs_insert(count: int, **sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        # No parameters: the text is ours, and `%` in it stays the modulo operator.
        cursor.execute(HANDOFF_INSERT.format(count=int(count), **sql))
        inserted = cursor.rowcount
        cursor.execute("ANALYZE leads_handoff")
    return inserted


def pool_fill(teams: list[Any]) -> int:
    """100,000 pooled leads: a third in each team's pool, a third in the general pool."""
    ids = ", ".join(str(team.pk) for team in teams)
    return handoffs_insert(
        POOLED,
        status="'pooled'",
        team=f"(ARRAY[NULL, {ids}]::bigint[])[1 + l.n % 3]",
        rep="NULL",
        overdue="NULL",
        at="now() - (l.n % 1440) * interval '1 minute'",
        due="now() + interval '1 day'",
        reassign="now() + interval '2 days'",
    )


@contextmanager
def bench_data(ctx: Context) -> Iterator[tuple[list[Any], list[Any]]]:
    reps, teams = sales_team()
    clear(reps)
    try:
        yield reps, teams
    finally:
        clear(reps)


# --- Claim: 50 reps at once -------------------------------------------------------------


def _claimer(rep_id: int, claims: int, think: float, start: Any, out: Any) -> None:
    """One rep's process: claim through the API `claims` times, pausing about `think` seconds
    between claims (exponentially distributed, as independent people do); report each claim."""
    import random

    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework.test import APIClient

    client = APIClient()
    pause = random.Random(rep_id)
    rows = []
    # Warm up (URL resolver, view imports, connection), as a running server already is; then start together.
    client.force_authenticate(User.objects.get(pk=rep_id))
    client.get("/api/v1/queue/", secure=True)
    start.wait()
    for _ in range(claims):
        if think:
            time.sleep(pause.expovariate(1 / think))
        started, cpu = time.perf_counter(), time.process_time()
        # As a request does: load the user (token auth), then the view checks roles and claims.
        client.force_authenticate(User.objects.get(pk=rep_id))
        response = client.post("/api/v1/queue/claim/", secure=True)
        elapsed, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
        lead_id = response.json()["lead"]["id"] if response.status_code == 200 else None
        rows.append((elapsed, cpu, lead_id, response.status_code))
    connection.close()
    out.put(rows)


def claims_concurrent(reps: list[Any], claims: int, think: float) -> dict[str, Any]:
    """Every rep in its own process (own connection), all started together; returns times,
    Python CPU per claim, claimed lead ids, reply statuses and the wall-clock seconds."""
    from django.db import connections

    connections.close_all()  # each forked process opens its own connection
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start = context.Barrier(len(reps) + 1)
    processes = [context.Process(target=_claimer, args=(rep.pk, claims, think, start, out)) for rep in reps]
    for process in processes:
        process.start()
    start.wait(timeout=300)
    started = time.perf_counter()
    rows = [row for _ in processes for row in out.get(timeout=900)]
    wall = time.perf_counter() - started
    for process in processes:
        process.join()
    return {
        "times": [row[0] for row in rows],
        "cpu": [row[1] for row in rows],
        "leads": [row[2] for row in rows if row[2] is not None],
        "statuses": Counter(row[3] for row in rows),
        "wall": wall,
    }


THINK_SECONDS = 0.5  # each rep claims about twice a second: ~100 claims/s from 50 reps


@scenario
def sales_claim(ctx: Context) -> list[Result]:
    """Claim next through the API: 50 reps at once over 100,000 pooled leads, never one lead twice.

    Two loads: each rep claiming about twice a second (~100 claims/s in all, far above what
    people do), where the time is the server's own; and every rep claiming back to back,
    which saturates the machine's two cores, so there the time is mostly the wait for a core
    (latency ≈ concurrency ÷ throughput) and throughput is the figure.
    """
    from leads.models import AssignmentLog, Handoff

    with bench_data(ctx) as (reps, teams):
        pooled = pool_fill(teams)
        paced = claims_concurrent(reps, CLAIMS_PER_REP // 2, THINK_SECONDS)
        burst = claims_concurrent(reps, CLAIMS_PER_REP, 0)
        leads = paced["leads"] + burst["leads"]
        twice = sum(1 for count in Counter(leads).values() if count > 1)
        held = Handoff.objects.filter(assigned_to__in=reps).count()
        logged = AssignmentLog.objects.filter(action="claimed").values("lead_id").distinct().count()
    scale = f"over {pooled:,} pooled of {ctx.counts.get('leads', 0):,} leads"
    refused = sum(n for s, n in (paced["statuses"] + burst["statuses"]).items() if s != 200)
    return [
        *latency(f"claim next, {REPS} reps ~2/s each", paced["times"], p50=10, p95=25),
        Result("claim next, paced: rate", len(paced["leads"]) / paced["wall"], "claims/s", note=scale),
        Result(
            "claim next: Python CPU per claim p50", percentile(paced["cpu"], 50), "ms", note="the request's own work"
        ),
        *latency(f"claim next, {REPS} reps back to back", burst["times"], p50=10, p95=25),
        Result(
            "claim next, back to back: rate", len(burst["leads"]) / burst["wall"], "claims/s", higher_is_better=True
        ),
        Result(
            "claim next: double claims", twice, "leads", note=f"{len(leads):,} claims; held {held:,}, logged {logged:,}"
        ),
        Result("claim next: non-200 replies", refused, "replies"),
    ]


# --- The rep's queue --------------------------------------------------------------------


def queue_assign(rep: Any, count: int, offset: int) -> None:
    """Give one rep `count` pooled leads, with deadlines from overdue to later."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_handoff SET status = 'assigned', assigned_to_id = %s, "
            "due_at = now() + (id %% 10 - 3) * interval '1 hour' "
            "WHERE id IN (SELECT id FROM leads_handoff WHERE status = 'pooled' ORDER BY id OFFSET %s LIMIT %s)",
            [rep.pk, offset, count],
        )


@scenario
def sales_queue(ctx: Context) -> list[Result]:
    """The rep's queue (GET /api/v1/queue/): its time, and queries that do not grow with it."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    with bench_data(ctx) as (reps, teams):
        pool_fill(teams)
        small, full = reps[0], reps[1]
        queue_assign(small, 3, 0)
        queue_assign(full, QUEUE_SIZE, 10)
        client = APIClient()

        def get(rep: Any) -> Any:
            client.force_authenticate(User.objects.get(pk=rep.pk))
            return client.get("/api/v1/queue/", secure=True)  # production settings redirect plain HTTP

        times = timings(lambda: get(full), runs=ctx.runs)
        counts = []
        for rep in (small, full):
            with CaptureQueriesContext(connection) as queries:
                reply = get(rep)
                assert reply.status_code == 200, (reply.status_code, reply.content[:300])
                body = reply.json()
            counts.append((len(queries), len(body["results"])))
    (few_queries, few_rows), (many_queries, many_rows) = counts
    note = f"{few_rows} rows: {few_queries} queries; {many_rows} rows: {many_queries} queries; pools hold {POOLED:,}"
    return [
        *latency(f"rep queue ({QUEUE_SIZE} leads, API)", times, p50=40, p95=100),
        Result("rep queue: queries", many_queries, "queries", few_queries, note=note),
    ]


# --- The speed-to-lead job --------------------------------------------------------------


def open_handoffs_fill(reps: list[Any]) -> dict[str, int]:
    """100,000 open handoffs held by the 50 reps: 75% running, 20% newly overdue, 5% past the second deadline."""
    rep_ids = ", ".join(str(rep.pk) for rep in reps)
    teams = ", ".join(str(rep.rep_profile.team_id) for rep in reps)
    phase = "(l.n % 20)"  # 0 → past the second deadline, 1-4 → overdue, 5-19 → running
    inserted = handoffs_insert(
        OPEN_HANDOFFS,
        status="'assigned'",
        team=f"(ARRAY[{teams}]::bigint[])[1 + l.n % {REPS}]",
        rep=f"(ARRAY[{rep_ids}]::bigint[])[1 + l.n % {REPS}]",
        overdue=f"CASE WHEN {phase} = 0 THEN now() - interval '5 hours' END",
        at="now() - interval '2 days'",
        due=f"CASE WHEN {phase} = 0 THEN now() - interval '30 hours' WHEN {phase} < 5 "
        "THEN now() - (l.n % 600) * interval '1 minute' ELSE now() + (l.n % 600) * interval '1 minute' END",
        reassign=f"CASE WHEN {phase} = 0 THEN now() - interval '6 hours' ELSE now() + interval '1 day' END",
    )
    return {"open": inserted, "overdue": inserted * 4 // 20, "reassign": inserted // 20}


def assignment_rules(teams: list[Any]) -> None:
    from leads.models import AssignmentRule

    AssignmentRule.objects.create(name="Bench NA", position=1, regions=["NA"], team=teams[0])
    AssignmentRule.objects.create(name="Bench rest", position=2, team=teams[1])


JOB = """
import json, os, resource, time
import django
django.setup()
from leads.sla import sla_check
started = time.perf_counter()
result = sla_check()
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "result": result}))
"""


def job_in_own_process() -> dict[str, Any]:
    """Run the beat job as a worker would, in a fresh process, so its peak memory is its own."""
    env = {**os.environ, "CELERY_BROKER_URL": "memory://"}
    done = subprocess.run(
        [sys.executable, "-c", JOB], cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=600
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@scenario
def sales_speed_to_lead_job(ctx: Context) -> list[Result]:
    """The speed-to-lead beat job over 100,000 open handoffs (flag overdue, notify, reassign)."""
    with bench_data(ctx) as (reps, teams):
        assignment_rules(teams)
        mix = open_handoffs_fill(reps)
        first = job_in_own_process()
        again = job_in_own_process()
    result = first["result"]
    note = f"{mix['open']:,} open; flagged {result['flagged']:,}, reassigned {result['reassigned']:,}"
    return [
        Result("speed-to-lead job: elapsed", first["seconds"], "s", 10, note=note),
        Result("speed-to-lead job: peak RSS", first["peak_mb"], "MB", 300, note="whole process, Django included"),
        Result("speed-to-lead job: rerun, nothing due", again["seconds"], "s", 10, note=json.dumps(again["result"])),
    ]


SALES_SCENARIOS = ["sales_claim", "sales_queue", "sales_speed_to_lead_job"]


def main(args: Any, url: str) -> int:
    """Fill (as bench/run.py does) and run only the sales scenarios."""
    from django.core.management import call_command

    from bench import run
    from leads.models import Event, Lead

    call_command("migrate", verbosity=0)
    marketer = run.ensure_users()
    stats = run.fill(url, args)
    counts = {"leads": Lead.objects.count(), "events": Event.objects.count()}
    ctx = Context(runs=args.runs, stage=args.stage, marketer=marketer, generate=stats, counts=counts)
    results = []
    for name in args.only or SALES_SCENARIOS:
        print(f"running {name} …", flush=True)
        results.extend(globals()[name](ctx))
    run.print_table(results, f"{args.database}: {counts['leads']:,} leads; {args.runs} runs per latency")
    if args.json:
        Path(args.json).write_text(json.dumps([{**vars(r), "ratio": r.ratio} for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(*STANDALONE))
