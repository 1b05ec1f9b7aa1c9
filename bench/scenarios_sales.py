"""Benchmark scenarios for the sales side: claiming, the rep's queue, the speed-to-lead job.

Registered with bench/scenarios.py's `@scenario` when imported (bench/run.py imports this
module after Django is set up). Run alone:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/scenarios_sales.py --database smk_sales_bench --leads 1000000 --events 1000000

Each scenario builds its own handoffs with one INSERT … SELECT over the generated leads, and
removes them (and what claiming changed) afterwards, so the database is left as it was.
Claiming runs through a real gunicorn (bench/scenarios_capture.py's), timed by the server's
own Server-Timing header.
"""

import http.client
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
from bench.scenarios_capture import api_token, drive, gunicorn  # noqa: E402

REPS = 50
TEAMS = 2
POOLED = 100_000
CLAIMS_PER_REP = 100
QUEUE_SIZE = 25
OPEN_HANDOFFS = 100_000
REP_PREFIX = "bench-sales-rep"


# --- Fixtures, set-based ----------------------------------------------------------------


def sales_team(count: int = REPS) -> tuple[list[Any], list[Any]]:
    """`count` reps (50) in two teams with a manager each, capacity high enough never to refuse a claim."""
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
    for number in range(count):
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
FROM (SELECT id, stage, COALESCE(s.score, 0) AS score, row_number() OVER (ORDER BY id) AS n
      FROM leads_lead LEFT JOIN leads_leadscore s ON s.lead_id = id
      WHERE stage IN ('mql', 'sql') ORDER BY id LIMIT {count}) l
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
def bench_data(ctx: Context, reps: int = REPS) -> Iterator[tuple[list[Any], list[Any]]]:
    reps, teams = sales_team(reps)
    clear(reps)
    try:
        yield reps, teams
    finally:
        clear(reps)


# --- Claim: 50 reps at once, through a real server ----------------------------------------

CLAIM_PATH = "/api/v1/queue/claim/"
THINK_SECONDS = 0.5  # each rep claims about twice a second: ~100 claims/s from 50 reps
# 4 sync workers, not gthread (--threads): measured here on a quiet 2-core machine, 4 sync
# workers gave server p95 19 ms paced and 21 ms back to back, 2 workers x 4 threads 32 and
# 38 ms, at the same throughput (~215 claims/s). A sync worker runs one request at a time,
# so a request's server time is its own work plus the wait for a core; with threads, the
# requests in flight in one worker also take turns at its GIL, and that wait lands inside
# the server time.
CLAIM_WORKERS = 4
ALONE_CLAIMS = 200  # one rep claiming back to back before the others start: the path's own time
APP_DURATION = re.compile(r"(?:^|,)\s*app;dur=([0-9.]+)")


def server_ms(header: str | None) -> float | None:
    """The app's own time from `Server-Timing: app;dur=<ms>` (smarketing.middleware)."""
    match = APP_DURATION.search(header or "")
    return float(match.group(1)) if match else None


def _rep_claiming(
    port: int, token: str, claims: int, think: float, start: threading.Barrier, out: list, seconds: float = 0
) -> float:
    """One rep: claim `claims` times on one connection (or, given `seconds`, until that long
    after the start), pausing about `think` seconds between claims (exponentially
    distributed, as independent people do); one row per claim. Returns when (perf_counter)
    the rep finished."""
    pause = random.Random(token)
    headers = {"Authorization": f"Token {token}"}
    # A sync worker closes the connection after each reply; http.client reopens it on the next
    # request, and the connect (loopback) counts in the client's time only.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        start.wait(timeout=60)
        until = time.perf_counter() + seconds
        for _ in itertools.count() if seconds else range(claims):
            if seconds and time.perf_counter() >= until:
                break
            if think:
                time.sleep(pause.expovariate(1 / think))
            started = time.perf_counter()
            connection.request("POST", CLAIM_PATH, headers=headers)
            response = connection.getresponse()
            body = response.read()
            done = time.perf_counter()
            lead_id = json.loads(body)["lead"]["id"] if response.status == 200 else None
            server = server_ms(response.getheader("Server-Timing"))
            out.append((server, (done - started) * 1000, lead_id, response.status, done, token))
        return time.perf_counter()
    finally:
        connection.close()


def claims_over_http(port: int, tokens: list[str], claims: int, think: float, seconds: float = 0) -> dict[str, Any]:
    """Every rep a thread with its own connection and token, all started together, each making
    `claims` claims or claiming for `seconds`; returns server and client times, claimed lead
    ids (and by which token), reply statuses, and the rate while every rep was still claiming
    (the first rep to finish ends it: after that fewer reps load the server)."""
    rows: list[tuple] = []  # list.append is atomic: the threads share it without a lock
    finished: list[float] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(tokens) + 1)

    def rep(token: str) -> None:
        try:
            finished.append(_rep_claiming(port, token, claims, think, start, rows, seconds))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
            start.abort()

    threads = [threading.Thread(target=rep, args=(token,), daemon=True) for token in tokens]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):  # a client failed before the start: raised below
        start.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300 + seconds)
    if errors or any(thread.is_alive() for thread in threads):
        raise RuntimeError(f"claim clients failed: {errors[:3]}")
    if any(row[0] is None for row in rows):
        raise RuntimeError("a reply had no Server-Timing header: is smarketing.middleware in MIDDLEWARE?")
    all_claiming = min(finished)
    return {
        "server": [row[0] for row in rows],
        "client": [row[1] for row in rows],
        "leads": [row[2] for row in rows if row[2] is not None],
        "claimed_by": [(row[5], row[2]) for row in rows if row[2] is not None],
        "statuses": Counter(row[3] for row in rows),
        "rate": sum(1 for row in rows if row[4] <= all_claiming) / (all_claiming - started),
    }


def claim_tokens(reps: list[Any]) -> list[str]:
    """Each rep's API token, as an integration or the rep's app would send it."""
    return [api_token(rep) for rep in reps]


def claims_in_tables(reps: list[Any]) -> dict[str, int]:
    """What the database says the reps claimed: held handoffs, owned leads, logged claims,
    and leads logged as claimed more than once."""
    from django.db.models import Count

    from leads.models import AssignmentLog, Handoff, Lead

    claimed = AssignmentLog.objects.filter(action=AssignmentLog.Action.CLAIMED, to_rep__in=reps)
    return {
        "held": Handoff.objects.filter(assigned_to__in=reps).count(),
        "owned": Lead.objects.filter(owner__in=reps).count(),
        "logged": claimed.count(),
        "twice": claimed.values("lead_id").annotate(n=Count("id")).filter(n__gt=1).count(),
    }


@scenario
def sales_claim(ctx: Context) -> list[Result]:
    """Claim next through gunicorn: 50 reps at once over 100,000 pooled leads, never one lead twice.

    The target is the server's time (the Server-Timing header: request in, response out of
    Django), under two loads: each rep claiming about twice a second (~100 claims/s in all,
    far above what people do), and every rep back to back, which saturates the machine's two
    cores and shows the throughput. What the clients see is reported beside it: it adds HTTP,
    the wait for a free worker, and the 50 client threads' own turns at this process's GIL.
    One rep claiming alone first gives the path's own time, with no other claim in flight.
    """
    with bench_data(ctx) as (reps, teams):
        pooled = pool_fill(teams)
        tokens = claim_tokens(reps)
        with gunicorn(workers=CLAIM_WORKERS) as port:
            # Warm every worker (imports, URL resolver, its database connection) as a running server is.
            drive(port, [("GET", "/api/v1/queue/", b"", {"Authorization": f"Token {t}"}) for t in tokens], 8)
            alone = claims_over_http(port, tokens[:1], ALONE_CLAIMS, 0)
            paced = claims_over_http(port, tokens, CLAIMS_PER_REP // 2, THINK_SECONDS)
            burst = claims_over_http(port, tokens, CLAIMS_PER_REP, 0)
        tables = claims_in_tables(reps)
    runs = (alone, paced, burst)
    leads = [lead for run in runs for lead in run["leads"]]
    statuses = sum((run["statuses"] for run in runs), Counter())
    twice = sum(1 for count in Counter(leads).values() if count > 1)
    refused = sum(n for status, n in statuses.items() if status != 200)
    scale = f"over {pooled:,} pooled of {ctx.counts.get('leads', 0):,} leads; gunicorn, {CLAIM_WORKERS} sync workers"
    client_note = "seen by the client: + HTTP, waiting for a worker, client threads"
    agree = len(leads) == tables["held"] == tables["owned"] == tables["logged"]
    counted = f"held {tables['held']:,}, owned {tables['owned']:,}, logged {tables['logged']:,}"
    return [
        *latency(f"claim next, {REPS} reps ~2/s each: server", paced["server"], p50=10, p95=25),
        *reported_latency("claim next, paced: client", paced["client"], client_note),
        Result("claim next, paced: rate", paced["rate"], "claims/s", note=f"while all {REPS} claim; {scale}"),
        *latency(f"claim next, {REPS} reps back to back: server", burst["server"], p50=10, p95=25),
        *reported_latency("claim next, back to back: client", burst["client"], client_note),
        Result("claim next, back to back: rate", burst["rate"], "claims/s", higher_is_better=True),
        *reported_latency(
            "claim next, one rep alone: server", alone["server"], "no other claim running: the path's own time"
        ),
        Result("claim next: double claims (replies)", twice, "leads", 0, note=f"{len(leads):,} leads claimed"),
        Result(
            "claim next: double claims (database)",
            tables["twice"],
            "leads",
            0,
            note=f"{counted}: {'as the replies say' if agree else 'DISAGREES with the replies'}",
        ),
        Result("claim next: non-200 replies", refused, "replies", 0, note=str(dict(statuses))),
    ]


def reported_latency(name: str, times: list[float], note: str) -> list[Result]:
    """p50 and p95 shown beside the targets, with none of their own."""
    return [Result(f"{name} p{pct}", percentile(times, pct), "ms", note=note) for pct in (50, 95)]


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
from leads.sales.speed_to_lead import sla_check
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
