"""Load checks (issue 17): many reps claiming at once, one address submitted by many at once,
and a capture soak that watches memory and connections.

Registered with bench/scenarios.py's `@scenario_named_only` when bench/run.py imports this
module: they take minutes, so they run only when `--only` names them:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/run.py --database smk_load_bench \\
        --leads 1000000 --events 1000000 --only load_claim load_same_email load_capture_soak --minutes 10

1. `load_claim`: 100 reps claim back to back through gunicorn for 60 s over 100,000 pooled
   handoffs; claims made, p50/p95, and in SQL: leads claimed twice, leads two replies gave to
   two reps, and replies whose lead the tables give another owner or holder (all 0).
2. `load_same_email`: 1,000 new addresses, each sent 20 times at once by 20 client threads
   through a gunicorn serving 20 requests at a time (10 form posts, 5 API upserts, 5 posts of
   one event with the same idempotency key, the address in mixed case); then, in SQL, the
   leads made (1,000), their creation entries, and their touches: one form_submitted event
   per accepted post and one event per retried key.
3. `load_capture_soak`: `--minutes` (10) of captures at 50 requests/s (3 form posts to 2
   event batches of 10) against gunicorn (2 workers) with a real Celery worker (2 children)
   and beat on Redis; every 30 s the RSS of each gunicorn worker, the Celery worker's main
   process and children and beat, and the bench database's PostgreSQL connections. The
   first minute is warm-up; each figure is the last minute's mean over the second minute's
   (target 1.10, flat; connections 1.0, no growth).
"""

import http.client
import json
import os
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.scenarios import Context, Result, percentile, scenario_named_only
from bench.scenarios_capture import EVENT_TYPES, _ensure_scoring, api_token, drive, gunicorn, sample_emails
from bench.scenarios_playbooks import CELERY, celery_worker, redis_broker
from bench.scenarios_sales import (
    CLAIM_WORKERS,
    bench_data,
    claim_tokens,
    claims_over_http,
    pool_fill,
    reported_latency,
)

ROOT = Path(__file__).resolve().parent.parent
FORM_KEY = "bench-form"

# --- 100 reps claiming for a minute -------------------------------------------------------

CLAIM_REPS = 100
CLAIM_SECONDS = 60

CLAIM_CHECKS = """
WITH replies AS (SELECT * FROM unnest(%(reps)s::bigint[], %(leads)s::bigint[]) AS r(rep_id, lead_id))
SELECT
    (SELECT count(*) FROM (SELECT lead_id FROM leads_assignmentlog
                           WHERE action = 'claimed' AND to_rep_id = ANY(%(bench_reps)s)
                           GROUP BY lead_id HAVING count(*) > 1) twice),
    (SELECT count(*) FROM (SELECT lead_id FROM replies GROUP BY lead_id HAVING count(DISTINCT rep_id) > 1) two),
    (SELECT count(*) FROM replies r JOIN leads_lead l ON l.id = r.lead_id WHERE l.owner_id IS DISTINCT FROM r.rep_id),
    (SELECT count(*) FROM replies r LEFT JOIN leads_handoff h ON h.lead_id = r.lead_id
     WHERE h.assigned_to_id IS DISTINCT FROM r.rep_id),
    (SELECT count(*) FROM leads_lead WHERE owner_id = ANY(%(bench_reps)s))
"""


def claim_checks(reps: list[Any], tokens: list[str], claimed_by: list[tuple[str, int]]) -> dict[str, int]:
    """What the tables say of the claims the replies reported."""
    from django.db import connection

    rep_of = {token: rep.pk for token, rep in zip(tokens, reps, strict=True)}
    params = {
        "reps": [rep_of[token] for token, _ in claimed_by],
        "leads": [lead for _, lead in claimed_by],
        "bench_reps": [rep.pk for rep in reps],
    }
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_CHECKS, params)
        twice, two_reps, owner_differs, holder_differs, owned = cursor.fetchone()
    return {
        "logged twice": twice,
        "given to two reps": two_reps,
        "owner differs": owner_differs,
        "holder differs": holder_differs,
        "owned": owned,
    }


@scenario_named_only
def load_claim(ctx: Context) -> list[Result]:
    """100 reps claim back to back through gunicorn (4 sync workers) for 60 s; never one lead twice."""
    with bench_data(ctx, reps=CLAIM_REPS) as (reps, teams):
        pooled = pool_fill(teams)
        tokens = claim_tokens(reps)
        with gunicorn(workers=CLAIM_WORKERS) as port:
            drive(port, [("GET", "/api/v1/queue/", b"", {"Authorization": f"Token {t}"}) for t in tokens], 8)
            run = claims_over_http(port, tokens, 0, 0, seconds=CLAIM_SECONDS)
        checks = claim_checks(reps, tokens, run["claimed_by"])
    claims = len(run["leads"])
    refused = sum(n for status, n in run["statuses"].items() if status != 200)
    scale = f"{CLAIM_REPS} reps, {CLAIM_SECONDS} s, {pooled:,} pooled; gunicorn, {CLAIM_WORKERS} sync workers"
    double = checks["logged twice"] + checks["given to two reps"]
    disagree = checks["owner differs"] + checks["holder differs"]
    print(f"  {claims:,} claims; tables: {checks}; statuses {dict(run['statuses'])}")
    return [
        Result(f"claim, {CLAIM_REPS} reps for {CLAIM_SECONDS} s: claims made", claims, "claims", note=scale),
        Result(
            f"claim, {CLAIM_REPS} reps: rate", run["rate"], "claims/s", higher_is_better=True, note="while all claim"
        ),
        *reported_latency(f"claim, {CLAIM_REPS} reps: client", run["client"], "what the rep's HTTP client waits"),
        *reported_latency(f"claim, {CLAIM_REPS} reps: server", run["server"], "Server-Timing"),
        Result(
            f"claim, {CLAIM_REPS} reps: double owners (SQL)",
            double,
            "leads",
            0,
            note=f"claimed twice {checks['logged twice']}, given to two reps {checks['given to two reps']}",
        ),
        Result(
            f"claim, {CLAIM_REPS} reps: replies the tables contradict",
            disagree,
            "replies",
            0,
            note=f"owner differs {checks['owner differs']}, holder differs {checks['holder differs']}; "
            f"{checks['owned']:,} leads owned by the reps",
        ),
        Result(f"claim, {CLAIM_REPS} reps: non-200 replies", refused, "replies", 0, note=str(dict(run["statuses"]))),
    ]


# --- One address, twenty submitters at once -----------------------------------------------

RACE_EMAILS = 1_000
RACE_SUBMITTERS = 20
RACE_PREFIX = "bench-race-"
# Per address: 10 form posts, 5 API upserts, 5 sends of one event (a client retrying).
RACE_MIX = ["form", "upsert", "form", "event"] * 5
RACE_SERVER = {"workers": 4, "threads": 5}  # 20 requests served at once, as many as submitters


def race_clear() -> None:
    from leads.models import Lead

    Lead.objects.filter(email__istartswith=RACE_PREFIX).delete()  # however it was stored


def race_requests(token: str) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Each address's 20 requests side by side, so the 20 client threads take them together."""
    form_headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    api_headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    requests = []
    for n in range(RACE_EMAILS):
        address = f"{RACE_PREFIX}{n:04d}@example.org"
        for k, kind in enumerate(RACE_MIX):
            email = [address, address.upper(), address.title()][k % 3]  # one lead, however written
            if kind == "form":
                body = {"email": email, "first_name": "Ana", "company": "Acme", "utm_source": "race"}
                requests.append(("POST", f"/api/v1/capture/{FORM_KEY}/", urlencode(body).encode(), form_headers))
            elif kind == "upsert":
                body = {"email": email, "company": "Acme", "utm_source": "race"}
                requests.append(("POST", "/api/v1/leads/", json.dumps(body).encode(), api_headers))
            else:
                event = {
                    "idempotency_key": f"{RACE_PREFIX}{n:04d}",
                    "email": email,
                    "type": "webinar_registered",
                    "occurred_at": "2026-01-05T10:00:00Z",
                    "properties": {"utm_source": "race"},
                }
                requests.append(("POST", "/api/v1/events/", json.dumps(event).encode(), api_headers))
    return requests


# Leads found however their address was stored, so one stored in another case counts too.
RACE_COUNTS = """
WITH race AS (SELECT id, email FROM leads_lead WHERE lower(email) LIKE %(prefix)s)
SELECT
    (SELECT count(*) FROM race),
    (SELECT count(DISTINCT lower(email)) FROM race),
    (SELECT count(*) FROM leads_stagechange WHERE lead_id IN (SELECT id FROM race) AND from_stage = ''),
    (SELECT count(*) FROM leads_leadscore WHERE lead_id IN (SELECT id FROM race)),
    (SELECT count(*) FROM leads_event WHERE lead_id IN (SELECT id FROM race) AND type = 'form_submitted'),
    (SELECT count(*) FROM leads_event WHERE lead_id IN (SELECT id FROM race) AND idempotency_key LIKE %(prefix)s),
    (SELECT count(*) FROM (SELECT lead_id FROM leads_event WHERE lead_id IN (SELECT id FROM race)
                           GROUP BY lead_id HAVING count(*) <> %(touches)s) off)
"""


def race_counts() -> dict[str, int]:
    from django.db import connection

    touches = RACE_MIX.count("form") + 1  # each form post, and the retried event once
    with connection.cursor() as cursor:
        cursor.execute(RACE_COUNTS, {"prefix": f"{RACE_PREFIX}%", "touches": touches})
        leads, addresses, created, scores, forms, keyed, off = cursor.fetchone()
    return {
        "leads": leads,
        "addresses": addresses,
        "creation entries": created,
        "score rows": scores,
        "form events": forms,
        "keyed events": keyed,
        "leads with other than one touch per send": off,
    }


@scenario_named_only
def load_same_email(ctx: Context) -> list[Result]:
    """1,000 new addresses, each sent by 20 submitters at once (forms, API upserts, one retried
    event): one lead per address, one creation entry, one touch per form post and per event."""
    from leads.models import CaptureForm

    _ensure_scoring(ctx)
    CaptureForm.objects.get_or_create(
        key=FORM_KEY, defaults={"name": "Bench form", "fields": ["email", "first_name", "company"]}
    )
    race_clear()
    requests = race_requests(api_token(ctx.marketer))
    try:
        with gunicorn(**RACE_SERVER) as port:
            outcome = drive(port, requests, RACE_SUBMITTERS)
        counts = race_counts()
    finally:
        race_clear()
    print(f"  {counts}; statuses {outcome['statuses']}")
    failed = sum(n for status, n in outcome["statuses"].items() if status >= 300)
    rate = len(requests) / outcome["seconds"]
    note = f"{RACE_EMAILS:,} addresses x {RACE_SUBMITTERS} submitters, {rate:,.0f} requests/s"
    # More stored than sent is a duplicate; fewer would show as failed replies.
    form_posts = RACE_EMAILS * RACE_MIX.count("form")
    duplicates = max(0, counts["form events"] - form_posts) + max(0, counts["keyed events"] - RACE_EMAILS)
    return [
        Result("same address x 20: leads made", counts["leads"], "leads", RACE_EMAILS, note=note),
        Result(
            "same address x 20: extra leads, creation entries or score rows",
            abs(counts["leads"] - counts["addresses"])
            + abs(counts["creation entries"] - counts["leads"])
            + abs(counts["score rows"] - counts["leads"]),
            "rows",
            0,
            note=f"{counts['addresses']:,} addresses, {counts['creation entries']:,} creation entries, "
            f"{counts['score rows']:,} score rows",
        ),
        Result(
            "same address x 20: duplicate touches",
            duplicates,
            "events",
            0,
            note=f"{counts['form events']:,} form events for {form_posts:,} posts, "
            f"{counts['keyed events']:,} events for {RACE_EMAILS:,} retried keys; "
            f"leads off {RACE_MIX.count('form') + 1} touches: {counts['leads with other than one touch per send']}",
        ),
        Result("same address x 20: failed replies", failed, "replies", 0, note=str(dict(outcome["statuses"]))),
        *[
            Result(f"same address x 20: p{pct}", percentile(outcome["latencies"], pct), "ms", note="20 at once")
            for pct in (50, 95)
        ],
    ]


# --- The soak -----------------------------------------------------------------------------

SOAK_RATE = 50  # requests per second
SOAK_CLIENTS = 8
SAMPLE_SECONDS = 30
SOAK_PREFIX = "bench-soak-"
EVENTS_PER_POST = 10
FLAT = 1.10  # the last minute within 10 % of the first after warm-up
ROLLUPS_TASK = "reports.rollups_update"


def soak_request(n: int, emails: list[str], returning: list[str], token: str) -> tuple[str, str, bytes, dict]:
    """Request n of the soak: of every 5, 3 form posts (a third from returning visitors) and
    2 batches of 10 events to known leads, a quarter of them with UTM."""
    if n % 5 < 3:
        email = random.choice(returning) if n % 3 == 0 else f"{SOAK_PREFIX}{uuid.uuid4().hex[:12]}@example.org"
        body = urlencode({"email": email, "first_name": "Ana", "company": "Acme", "utm_source": "ads"}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        return "POST", f"/api/v1/capture/{FORM_KEY}/", body, headers
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = [
        {
            "idempotency_key": uuid.uuid4().hex,
            "email": random.choice(emails),
            "type": random.choice(EVENT_TYPES),
            "occurred_at": now,
            "properties": {"utm_source": "newsletter"} if k % 4 == 0 else {},
        }
        for k in range(EVENTS_PER_POST)
    ]
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    return "POST", "/api/v1/events/", json.dumps(events).encode(), headers


def paced(port: int, make: Callable[[int], tuple], rate: float, seconds: float, clients: int) -> dict[str, Any]:
    """Open loop: request n is sent at start + n / rate (at once when the clients are behind),
    from `clients` threads on keep-alive connections, until `seconds` have passed."""
    lock = threading.Lock()
    counter = iter(range(10**9))
    rows: list[tuple[float, float, int, float]] = []  # (sent at, ms, status, late s)
    start = time.perf_counter()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                n = next(counter)
            due = start + n / rate
            if due - start >= seconds:
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            method, path, body, headers = make(n)
            sent = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            rows.append((sent - start, (time.perf_counter() - sent) * 1000, response.status, sent - due))
        connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return {"rows": rows, "seconds": time.perf_counter() - start}


@contextmanager
def celery_beat() -> Iterator[subprocess.Popen]:
    """`celery beat` with the product's schedule (kept in the bench database)."""
    command = [CELERY, "-A", "smarketing", "beat", "--loglevel=WARNING", "--pidfile="]
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def web_workers(port: int) -> list[int]:
    """The pids of the gunicorn serving `port`: its workers, not the master."""
    import psutil

    for child in psutil.Process().children():
        if any(f"127.0.0.1:{port}" in part for part in child.cmdline()):
            return sorted(worker.pid for worker in child.children())
    raise RuntimeError(f"no gunicorn on port {port}")


def processes_watched(port: int, worker: Any, beat: subprocess.Popen) -> dict[str, int]:
    import psutil

    watched = {f"web worker {n}": pid for n, pid in enumerate(web_workers(port), 1)}
    watched["celery main"] = worker.process.pid
    children = sorted(child.pid for child in psutil.Process(worker.process.pid).children())
    watched |= {f"celery child {n}": pid for n, pid in enumerate(children, 1)}
    watched["celery beat"] = beat.pid
    return watched


def rss_mb(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.NoSuchProcess:
        return None  # restarted: the series stops, and the figure says so


def pg_connections() -> int:
    """Backends connected to the bench database, the sampler's own left out."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def sampler(watched: dict[str, int], stop: threading.Event, series: list[dict[str, Any]]) -> None:
    """Every 30 s (the first at once): each process's RSS and the connection count."""
    from django.db import connection

    started = time.perf_counter()
    try:
        while True:
            sample = {"t": round(time.perf_counter() - started)}
            sample |= {name: rss_mb(pid) for name, pid in watched.items()}
            sample["pg connections"] = pg_connections()
            series.append(sample)
            if stop.wait(SAMPLE_SECONDS):
                return
    finally:
        connection.close()


def window(series: list[dict[str, Any]], name: str, start: float, end: float, most: bool) -> float | None:
    """The samples' mean between start and end (seconds), or their maximum when `most`."""
    values = [s[name] for s in series if start <= s["t"] <= end and s[name] is not None]
    if not values:
        return None
    return max(values) if most else sum(values) / len(values)


def growth(series: list[dict[str, Any]], name: str, minutes: int) -> tuple[float | None, float | None]:
    """(first, last): over the first minute after the warm-up minute (the first minute itself
    when the soak is shorter than three) and over the last minute, the mean of a process's
    RSS, the most connections (they come and go: CONN_MAX_AGE, workers between tasks)."""
    first = (60, 119) if minutes >= 3 else (0, 59)
    last = ((minutes - 1) * 60, minutes * 60)
    most = name == "pg connections"
    return window(series, name, *first, most), window(series, name, *last, most)


def print_series(series: list[dict[str, Any]]) -> None:
    names = [name for name in series[0] if name != "t"]
    print("  " + "  ".join(["t (s)", *names]))
    for sample in series:
        cells = [f"{sample['t']:>5}"] + [
            f"{sample[name]:>{len(name)}.0f}" if sample[name] is not None else "—".rjust(len(name)) for name in names
        ]
        print("  " + "  ".join(cells))


def catch_up() -> None:
    """Start the soak's worker with no backlog, as a running system's has none.

    generate_data writes a past no reader of the stage history saw, and a reader seen for the
    first time starts at the beginning: the handoff reader took 454 s over the 40,000 changes
    of 20,000 leads. So the history's readers are given their place at its end, as migration
    0020 gave the handoff reader when it arrived after the history, and the ROI rollups are
    built (a rebuild the first time) by running their task here.
    """
    from leads.models import HistoryReader, StageChange
    from leads.sales.assignment import HANDOFF_READER
    from playbooks.engine.triggers import HISTORY_READER as ENROLMENTS_READER
    from playbooks.referrals.services import READER as REFERRALS_READER
    from smarketing.celery import app

    end = StageChange.objects.order_by("-txid", "-id").values_list("txid", "id").first() or (0, 0)
    for name in (HANDOFF_READER, ENROLMENTS_READER, REFERRALS_READER):
        HistoryReader.objects.update_or_create(name=name, defaults={"txid": end[0], "last_id": end[1]})
    app.loader.import_default_modules()
    started = time.perf_counter()
    app.tasks[ROLLUPS_TASK].apply(throw=True)
    print(f"  {ROLLUPS_TASK} brought up to date in {time.perf_counter() - started:.1f} s", flush=True)


@scenario_named_only
def load_capture_soak(ctx: Context) -> list[Result]:
    """Captures at 50 requests/s for --minutes against gunicorn, with a real worker and beat:
    memory of every process and PostgreSQL connections, sampled every 30 s, stay flat."""
    from leads.models import CaptureForm, Lead
    from smarketing.celery import app

    if not redis_broker():
        return []
    _ensure_scoring(ctx)
    CaptureForm.objects.get_or_create(
        key=FORM_KEY, defaults={"name": "Bench form", "fields": ["email", "first_name", "company"]}
    )
    Lead.objects.filter(email__startswith=SOAK_PREFIX).delete()
    catch_up()
    app.control.purge()
    emails = sample_emails(20_000)
    returning = [f"{SOAK_PREFIX}returning-{n}@example.org" for n in range(50)]
    token = api_token(ctx.marketer)
    seconds = ctx.minutes * 60
    series: list[dict[str, Any]] = []
    stop = threading.Event()
    with gunicorn(workers=2) as port, celery_worker() as worker, celery_beat() as beat:
        watched = processes_watched(port, worker, beat)
        watch = threading.Thread(target=sampler, args=(watched, stop, series), daemon=True)
        watch.start()
        outcome = paced(port, lambda n: soak_request(n, emails, returning, token), SOAK_RATE, seconds, SOAK_CLIENTS)
        deadline = time.monotonic() + SAMPLE_SECONDS + 5
        while series[-1]["t"] < seconds - 1 and time.monotonic() < deadline:  # the sample at the end
            time.sleep(0.5)
        stop.set()
        watch.join(timeout=60)
        tasks = _tasks_succeeded(worker.log.read_text())
    made = Lead.objects.filter(email__startswith=SOAK_PREFIX).count()
    Lead.objects.filter(email__startswith=SOAK_PREFIX).delete()
    return soak_results(ctx.minutes, outcome, series, tasks, made)


def _tasks_succeeded(log: str) -> Counter:
    return Counter(line.split("Task ", 1)[1].split("[", 1)[0] for line in log.splitlines() if " succeeded in " in line)


def soak_results(
    minutes: int, outcome: dict[str, Any], series: list[dict[str, Any]], tasks: Counter, made: int
) -> list[Result]:
    rows = outcome["rows"]
    statuses = Counter(row[2] for row in rows)
    rate = len(rows) / outcome["seconds"]
    late = max((row[3] for row in rows), default=0)
    print_series(series)
    print(f"  worker tasks succeeded: {dict(tasks)}")
    note = f"{minutes} min, {SOAK_CLIENTS} clients, 3 form posts : 2 batches of {EVENTS_PER_POST} events"
    results = [
        Result("soak: captures", rate, "requests/s", SOAK_RATE, True, f"{note}; most behind schedule {late:.1f} s"),
        Result("soak: capture p50", percentile([row[1] for row in rows], 50), "ms", note=note),
        Result("soak: capture p95", percentile([row[1] for row in rows], 95), "ms", note=note),
        Result(
            "soak: failed replies",
            sum(n for s, n in statuses.items() if s >= 300),
            "replies",
            0,
            note=str(dict(statuses)),
        ),
        Result("soak: worker tasks run", sum(tasks.values()), "tasks", note=f"{made:,} new leads captured"),
    ]
    for name in [name for name in series[0] if name != "t"]:
        first, last = growth(series, name, minutes)
        if first is None or last is None:
            results.append(Result(f"soak: {name} last/first minute", 0, "x", note="stopped during the soak"))
            continue
        target = 1.0 if name == "pg connections" else FLAT
        unit = "connections" if name == "pg connections" else "MB"
        change = f"{first:,.1f} → {last:,.1f} {unit} ({(last / first - 1) * 100:+.1f} %)"
        results.append(Result(f"soak: {name} last/first minute", last / first, "x", target, note=change))
    return results
