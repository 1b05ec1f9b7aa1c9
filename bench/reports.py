"""The reports at production size: the ROI rollups, the ROI page and the dashboard (issue 16).

The goals: the dashboard and the ROI page within 300 ms at p95 at 1M leads, 10M events and 50k
deals; the rollups no more than 60 s behind the data under the capture bench's load; a cold
rebuild of the rollups within 60 s. Run it on a PostgreSQL server you may fill:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/reports.py \
        --database smk_reports_bench

1. The database (`smarketing_bench` unless `--database` names another) is filled as bench/run.py
   fills it (`manage.py generate_data`, 1M leads and 10M events, then VACUUM ANALYZE), given the
   demo's scoring and active definition (as the capture bench does), then `--deals` deals
   (default 50,000) on leads that reached opportunity, set-based: opened when the lead became
   an opportunity, won when it became a customer, else lost or still open; and a year of daily
   costs for every campaign. Later runs reuse all of it.
2. Cold rebuild: `reports.attribution.services.rollups_rebuild`, what `manage.py reports_rebuild`
   runs, timed (target 60 s).
3. The ROI page, GET /reports/roi/ through Django's test client as a manager, cycling through
   the last twelve months, the six models and both groupings; the same for the API
   (/api/v1/reports/roi/): p50 and p95 against 300 ms, and the queries a page takes. First
   the tables the pages read are vacuumed and analysed, as autovacuum would have done.
4. The dashboard, GET reverse("reports:dashboard") the same way, a month of the last twelve
   each time (`--skip rebuild roi lag` times it alone); then with one filter, each campaign,
   channel, persona and definition version in turn, the months shuffled among them, each
   pair at least once.
5. Lag under capture load: the capture bench's event batches (1,000 events, nine known leads
   in ten, a quarter with UTM, here naming a generated campaign so the rollups have touches
   to follow) posted through gunicorn (2 workers, 4 client threads) while `rollups_update`
   runs every 15 s as beat runs it. Each second the lag is read: the newest event's
   `received_at` less the events cursor's (`RollupCursor.last_at`), and the same for the
   stage history (the newest change less the rollups' reader's place) and new leads. Max
   and p95 against 60 s, the runs' durations, and how long the last rows took to be read
   once the load stopped.
6. The weekly meeting pack of the last full week, built by `manage.py meeting_pack_build
   --no-email` in a process of its own as the worker's task would build it: seconds (target
   30) and the process's peak memory (VmHWM, target 300 MB).
"""

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project importable

from bench import run  # noqa: E402

TARGET_PAGE_MS = 300
TARGET_LAG_S = 60
TARGET_REBUILD_S = 60
TARGET_PACK_S = 30
TARGET_PACK_MB = 300
TICK_SECONDS = 15
LOAD_BATCHES = 400
DEALS_BENCH = "bench:"  # names of the deals this bench made


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=60, help="Timed requests per page.")
    parser.add_argument("--batches", type=int, default=LOAD_BATCHES, help="Event batches of 1,000 posted for the lag.")
    parser.add_argument("--database", default=run.BENCH_DB, help="Name of the bench database on the server.")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["rebuild", "pages", "roi", "lag", "pack"], help="Parts to skip."
    )
    return parser.parse_args(argv)


# --- Data ---------------------------------------------------------------------------------------

DEALS_INSERT = """
INSERT INTO leads_deal (lead_id, name, owner_id, stage_id, amount, expected_close_on, lost_reason_id, lost_note,
                        created_at, updated_at, closed_at)
SELECT o.lead_id, %(name)s || o.lead_id, NULL,
       CASE WHEN w.won_at IS NOT NULL THEN %(won)s WHEN o.lead_id %% 2 = 0 THEN %(lost)s ELSE %(open)s END,
       (1000 + (o.lead_id * 7919) %% 49000 + (o.lead_id %% 100) / 100.0)::numeric(14, 2),
       NULL, NULL, '', o.opened_at, now(),
       CASE WHEN w.won_at IS NOT NULL THEN w.won_at
            WHEN o.lead_id %% 2 = 0 THEN o.opened_at + interval '20 days' END
FROM (SELECT lead_id, MIN(changed_at) AS opened_at FROM leads_stagechange
      WHERE to_stage = 'opportunity' GROUP BY lead_id ORDER BY md5(lead_id::text) LIMIT %(count)s) o
LEFT JOIN (SELECT lead_id, MIN(changed_at) AS won_at FROM leads_stagechange
           WHERE to_stage = 'customer' GROUP BY lead_id) w ON w.lead_id = o.lead_id
WHERE NOT EXISTS (SELECT 1 FROM leads_deal d WHERE d.lead_id = o.lead_id)
"""

COSTS_INSERT = """
INSERT INTO leads_campaigncost (campaign_id, incurred_on, amount, note, created_at)
SELECT c.id, d::date, (100 + (c.id * 37 + extract(doy FROM d)::int) % 400)::numeric(12, 2), '', now()
FROM leads_campaign c, generate_series(current_date - 365, current_date, interval '1 day') d
"""


def ensure_deals_and_costs(count: int) -> dict[str, int]:
    """Deals on leads that reached opportunity, and a year of daily costs, made once (set-based)."""
    from django.db import connection

    from leads.models import CampaignCost, Deal, DealStage

    have = Deal.objects.count()
    if have < count:
        stages = {s.outcome: s.pk for s in DealStage.objects.exclude(outcome=DealStage.Outcome.OPEN)}
        opened = DealStage.objects.filter(outcome=DealStage.Outcome.OPEN).order_by("position").first()
        params = {"name": f"{DEALS_BENCH} deal ", "won": stages["won"], "lost": stages["lost"], "open": opened.pk}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(DEALS_INSERT, {**params, "count": count - have})
            print(f"made {cursor.rowcount:,} deals in {time.perf_counter() - started:.1f}s", flush=True)
    if not CampaignCost.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute(COSTS_INSERT)
            cursor.execute("VACUUM ANALYZE leads_deal, leads_campaigncost")
    won = Deal.objects.filter(stage__outcome=DealStage.Outcome.WON).count()
    return {"deals": Deal.objects.count(), "won": won, "costs": CampaignCost.objects.count()}


def ensure_manager() -> Any:
    from django.contrib.auth.models import Group, User

    from smarketing.roles import Role

    manager, _ = User.objects.get_or_create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name=Role.MANAGER.value)[0])
    return manager


# --- The weekly pack ----------------------------------------------------------------------------


def pack_build() -> list[Any]:
    """Last week's pack, built in a fresh process (its memory is the pack's, not this bench's)."""
    from bench.scenarios import Result

    command = [sys.executable, "-c", PACK_BUILD]  # the environment names the bench database (run.setup_django)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    took = time.perf_counter() - started
    peak_mb = int(done.stdout.split()[-1]) / 1024
    note = "manage.py meeting_pack_build --no-email, last week, in its own process"
    return [
        Result("weekly pack built", took, "s", TARGET_PACK_S, note=note),
        Result("weekly pack peak memory", peak_mb, "MB", TARGET_PACK_MB, note="VmHWM of that process"),
    ]


# Builds the pack, then prints the process's peak resident memory in kB.
PACK_BUILD = """
import django, resource
django.setup()
from django.core.management import call_command
call_command("meeting_pack_build", "--no-email")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


# --- Rebuild ------------------------------------------------------------------------------------


def cold_rebuild() -> list[Any]:
    from bench.scenarios import Result
    from reports.attribution.services import rollups_rebuild

    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  {time.perf_counter() - started:6.1f}s  {message}", flush=True)

    result = rollups_rebuild(progress=progress)
    took = time.perf_counter() - started
    note = f"{result['milestones']:,} milestones, {result['won_deals']:,} won deals"
    return [Result("cold rebuild (manage.py reports_rebuild)", took, "s", TARGET_REBUILD_S, note=note)]


# --- Pages --------------------------------------------------------------------------------------


def months_back(count: int) -> list[Any]:
    from smarketing.lib.periods import month_first

    first = month_first()
    months = [first]
    for _ in range(count - 1):
        months.append(month_first(months[-1] - timedelta(days=1)))
    return months


def page_timings(name: str, client: Any, url: str, queries: list[dict[str, str]], runs: int) -> list[Any]:
    """GET `url` with each query in turn (`runs` times after 3 warm-ups): p50/p95 and the
    queries the slowest kind of request takes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.scenarios import Result, percentile

    times: list[float] = []
    for n in range(runs + 3):
        query = queries[n % len(queries)]
        started = time.perf_counter()
        response = client.get(url, query, secure=True)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url} {query} answered {response.status_code}")
        if n >= 3:
            times.append(elapsed)
    with CaptureQueriesContext(connection) as captured:
        client.get(url, queries[0], secure=True)
    note = f"{len(queries)} kinds of request cycled; {len(captured)} queries each"
    print(f"  {name}: p50 {percentile(times, 50):,.0f} ms, p95 {percentile(times, 95):,.0f} ms ({note})", flush=True)
    return [
        Result(f"{name} p50", percentile(times, 50), "ms", TARGET_PAGE_MS, note=note),
        Result(f"{name} p95", percentile(times, 95), "ms", TARGET_PAGE_MS, note=note),
    ]


# What the report pages read. An earlier run's capture load and scoring leave dead rows and
# pages not marked all-visible behind, and where autovacuum is off (as on the development
# server) nothing tidies them: index-only scans then visit the heap, and stale statistics
# misplan the filtered reads. Production's autovacuum keeps them tidy; so does this, first.
PAGES_READ = (
    "leads_lead, leads_leadscore, leads_stagechange, leads_handoff, leads_deal, reports_stageentry, "
    "reports_stagemove, reports_cohortday, reports_entryday, reports_leadmilestone, reports_dealcredit"
)


def rollups_built() -> bool:
    from reports.attribution.models import RollupState

    return RollupState.objects.filter(built_at__isnull=False).exists()


def vacuum_what_the_pages_read() -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {PAGES_READ}")
    print(f"  vacuumed what the pages read in {time.perf_counter() - started:.1f}s", flush=True)


def pages(manager: Any, runs: int, *, roi: bool = True) -> list[Any]:
    from django.conf import settings
    from django.test import override_settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Pages name static files by their hashed copies (collectstatic's manifest); the bench times
    # the page, not whether the manifest is current in this checkout.
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=plain):
        return _pages(manager, runs, roi=roi)


def _pages(manager: Any, runs: int, *, roi: bool) -> list[Any]:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from bench.scenarios import Result
    from reports.attribution.credits import MODELS

    client = Client()
    client.force_login(manager)
    months = months_back(12)
    queries = [
        {"month": f"{month:%Y-%m}", "model": model, "by": by}
        for month in months
        for model in MODELS
        for by in ("campaign", "channel")
    ]
    random.Random(16).shuffle(queries)
    results = []
    if roi:  # `--skip roi` times the dashboard alone
        results += page_timings("ROI page /reports/roi/", client, reverse("reports:roi"), queries, runs)
        api = [{"period": q["month"], "model": q["model"], "by": q["by"]} for q in queries]
        results += page_timings("ROI API /api/v1/reports/roi/", client, "/api/v1/reports/roi/", api, runs)
        results.append(request_time_credits(months[1]))
    try:
        dashboard = reverse("reports:dashboard")
    except NoReverseMatch:
        print("  the dashboard (reports:dashboard) does not exist yet: not timed", flush=True)
        return [*results, Result("dashboard page", 0, "ms", TARGET_PAGE_MS, note="not built yet: skipped")]
    periods = [{"month": f"{month:%Y-%m}"} for month in months]
    results += page_timings(f"dashboard page {dashboard}", client, dashboard, periods, runs)
    filtered = [period | one for period in periods for one in dashboard_filters()]
    random.Random(16).shuffle(filtered)
    # Every filter and month once at least, so the slowest filter is in the sample.
    return results + page_timings(
        f"dashboard page {dashboard}, filtered", client, dashboard, filtered, max(runs, len(filtered))
    )


def dashboard_filters() -> list[dict[str, str]]:
    """One filter at a time, each of its values: every campaign, channel, persona and version."""
    from leads.models import Campaign, Persona, QualificationDefinition

    campaigns = Campaign.objects.order_by("pk")
    return [
        *({"campaign": str(pk)} for pk in campaigns.values_list("pk", flat=True)),
        *({"channel": channel} for channel in campaigns.values_list("channel", flat=True).distinct()),
        *({"persona": str(pk)} for pk in Persona.objects.values_list("pk", flat=True)),
        *({"version": str(v)} for v in QualificationDefinition.objects.values_list("version", flat=True)),
    ]


def request_time_credits(month: Any) -> Any:
    """For comparison: what the ROI page did per request before the rollups, for one month's
    won deals (their touches read from the event table and credited under every model)."""
    from bench.scenarios import Result
    from reports.attribution.selectors import won_deals
    from reports.attribution.services import _won, credit_rows
    from smarketing.lib.periods import month_bounds

    start, end = month_bounds(month)
    started = time.perf_counter()
    rows = credit_rows(_won(won_deals(start=start, end=end)))
    took = (time.perf_counter() - started) * 1000
    note = f"{month:%Y-%m}: {len({row.deal_id for row in rows}):,} won deals; what the page read and computed before"
    return Result("request-time credits of a month (before)", took, "ms", TARGET_PAGE_MS, note=note)


# --- Lag under capture load ---------------------------------------------------------------------


class Lag:
    """Samples, once a second, how far the rollups are behind each source."""

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[float, float]]] = {"events": [], "stage history": [], "leads": []}
        self.stop = threading.Event()

    def sample(self) -> None:
        from django.db import connection

        try:
            while not self.stop.is_set():
                now = time.monotonic()
                for name, lag in lags().items():
                    if lag is not None:
                        self.samples[name].append((now, lag))
                self.stop.wait(1)
        finally:
            connection.close()


def lags() -> dict[str, float | None]:
    """Seconds between the newest row of each source and the newest one the rollups read."""
    from leads.models import Event, HistoryReader, Lead, StageChange
    from reports.attribution.models import RollupCursor
    from reports.attribution.services import EVENTS, HISTORY_READER, LEADS

    cursors = {c.name: c for c in RollupCursor.objects.filter(name__in=[EVENTS.cursor, LEADS.cursor])}
    newest_event = Event.objects.order_by("-pk").values_list("received_at", flat=True).first()
    newest_lead = Lead.objects.order_by("-pk").values_list("created_at", flat=True).first()
    place = HistoryReader.objects.filter(name=HISTORY_READER).values_list("last_id", flat=True).first()
    newest_change = StageChange.objects.order_by("-pk").values_list("changed_at", flat=True).first()
    read_change = StageChange.objects.filter(pk=place).values_list("changed_at", flat=True).first()

    def behind(newest: Any, read: Any) -> float | None:
        return max((newest - read).total_seconds(), 0.0) if newest and read else None

    return {
        "events": behind(newest_event, cursors[EVENTS.cursor].last_at),
        "leads": behind(newest_lead, cursors[LEADS.cursor].last_at),
        "stage history": behind(newest_change, read_change),
    }


def ticker(stop: threading.Event, runs: list[tuple[float, dict[str, Any]]]) -> None:
    """rollups_update every TICK_SECONDS, as beat sends it (back to back when one runs longer)."""
    from django.db import connection

    from reports.attribution.services import rollups_update

    try:
        while not stop.is_set():
            started = time.monotonic()
            figures = rollups_update()
            runs.append((time.monotonic() - started, figures))
            stop.wait(max(0.0, TICK_SECONDS - (time.monotonic() - started)))
    finally:
        connection.close()


def campaign_batch(emails: list[str], now: str, utm: list[str]) -> bytes:
    """The capture bench's batch, its UTM quarter naming a campaign (utm_campaign)."""
    import json

    from bench.scenarios_capture import event_batch

    items = json.loads(event_batch(emails, now))
    for n, item in enumerate(items):
        if item["properties"]:
            item["properties"]["utm_campaign"] = utm[n % len(utm)]
    return json.dumps(items).encode()


def lag_under_load(marketer: Any, batches: int) -> list[Any]:
    from django.utils import timezone

    from bench.scenarios import Result, percentile
    from bench.scenarios_capture import EVENT_CLIENTS, api_token, drive, gunicorn, sample_emails
    from leads.models import Campaign
    from reports.attribution.services import rollups_update

    rollups_update()  # up to date before the load starts
    token = api_token(marketer)
    emails = sample_emails(20_000)
    utm = list(Campaign.objects.exclude(utm_campaign="").values_list("utm_campaign", flat=True))
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    now = timezone.now().isoformat()
    warmup = [("POST", "/api/v1/events/", campaign_batch(emails, now, utm), headers) for _ in range(20)]
    requests = [("POST", "/api/v1/events/", campaign_batch(emails, now, utm), headers) for _ in range(batches)]
    lag, runs, stop = Lag(), [], threading.Event()
    with gunicorn() as port:
        drive(port, warmup, EVENT_CLIENTS)
        rollups_update()
        threads = [threading.Thread(target=lag.sample), threading.Thread(target=ticker, args=(stop, runs))]
        for thread in threads:
            thread.start()
        loaded = time.monotonic()
        outcome = drive(port, requests, EVENT_CLIENTS)
        ended = time.monotonic()
        caught_up = _wait_caught_up(ended)
        lag.stop.set()
        stop.set()
        for thread in threads:
            thread.join()
    rate = batches * 1000 / outcome["seconds"]
    note = f"{rate:,.0f} events/s for {ended - loaded:.0f}s, statuses {outcome['statuses']}"
    results = []
    for name, samples in lag.samples.items():
        during = [value for moment, value in samples if loaded <= moment <= ended]
        if during:
            results.append(Result(f"rollup lag, {name}: max", max(during), "s", TARGET_LAG_S, note=note))
            results.append(Result(f"rollup lag, {name}: p95", percentile(during, 95), "s", TARGET_LAG_S))
    durations = [took for took, _ in runs]
    events = sum(figures.get("events", 0) for _, figures in runs)
    run_note = f"{len(runs)} runs, {events:,} events read; p50 {percentile(durations, 50):.1f}s"
    results.append(Result("rollup run under load: max", max(durations), "s", TICK_SECONDS, note=run_note))
    results.append(Result("caught up after the load stopped", caught_up, "s", TARGET_LAG_S))
    return results


def _wait_caught_up(ended: float) -> float:
    """Seconds from the end of the load until the rollups have read the newest event."""
    from leads.models import Event
    from reports.attribution.models import RollupCursor
    from reports.attribution.services import EVENTS

    newest = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    while RollupCursor.objects.get(name=EVENTS.cursor).last_id < newest:
        if time.monotonic() - ended > 300:
            break
        time.sleep(0.5)
    return time.monotonic() - ended


# --- Run ----------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    ready = run.bench_ready(args)
    if ready is None:
        return 2
    marketer, _ = ready

    from bench.scenarios import Context
    from bench.scenarios_capture import _ensure_scoring
    from leads.models import Event, Lead

    manager = ensure_manager()
    _ensure_scoring(Context(runs=args.runs, stage="mql", marketer=marketer))
    made = ensure_deals_and_costs(args.deals)
    counts = {"leads": Lead.objects.count(), "events": Event.objects.count()}
    results = []
    if "rebuild" not in args.skip or not rollups_built():
        print("cold rebuild …", flush=True)  # skipped only over rollups already built: else pages time nothing
        results += cold_rebuild()
    if "pages" not in args.skip:
        print("pages …", flush=True)
        vacuum_what_the_pages_read()
        results += pages(manager, args.runs, roi="roi" not in args.skip)
    if "pack" not in args.skip:
        print("weekly pack …", flush=True)
        results += pack_build()
    if "lag" not in args.skip:
        print(f"lag under capture load ({args.batches} batches of 1,000 events) …", flush=True)
        results += lag_under_load(marketer, args.batches)
    header = (
        f"{args.database}: {counts['leads']:,} leads, {counts['events']:,} events, {made['deals']:,} deals "
        f"({made['won']:,} won), {made['costs']:,} cost rows; {args.runs} runs per latency; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; PostgreSQL {run.server_settings()}"
    )
    run.print_table(results, header)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
