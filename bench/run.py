"""Run the benchmarks against a dedicated PostgreSQL database (`make bench`).

1. Create the database `smarketing_bench` on the server `DATABASE_URL` points at (drop it
   first with --fresh) and migrate it.
2. Fill it with `manage.py generate_data` up to --leads / --events, unless it already holds
   that many leads; then VACUUM ANALYZE, as autovacuum would on a live system.
3. Run every registered scenario (bench/scenarios.py) and print one table.
"""

import argparse
import importlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project importable

BENCH_DB = "smarketing_bench"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database first.")
    parser.add_argument("--runs", type=int, default=50, help="Timed runs per latency figure.")
    parser.add_argument("--stage", default="mql", help="Stage the filtered lead list shows.")
    parser.add_argument("--only", nargs="*", default=[], help="Run only these scenarios (names in bench/scenarios.py).")
    parser.add_argument("--database", default=BENCH_DB, help="Name of the bench database on the server.")
    parser.add_argument("--json", default="", help="Also write the results as JSON to this file.")
    parser.add_argument("--minutes", type=int, default=10, help="Length of the capture soak (load_capture_soak).")
    return parser.parse_args(argv)


def bench_url(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def ensure_database(server_url: str, database: str, *, fresh: bool) -> None:
    """CREATE DATABASE through the server's `postgres` database (DROP first when fresh)."""
    import psycopg2
    from psycopg2 import sql

    admin = psycopg2.connect(bench_url(server_url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = sql.Identifier(database)
        if fresh:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
            print(f"created database {database}")
    admin.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    # Measure as production runs: no debug cursor recording every query.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
    import django

    django.setup()


def ensure_users() -> Any:
    """A marketer to look through, and reps for generated leads to belong to."""
    from django.contrib.auth.models import Group, User

    from smarketing.roles import Role

    def user(name: str, role: Role) -> User:
        account, _ = User.objects.get_or_create(username=name)
        account.groups.add(Group.objects.get_or_create(name=role.value)[0])
        return account

    for number in range(1, 6):
        user(f"bench-rep{number}", Role.SALES)
    return user("bench-marketer", Role.MARKETING)


def generate(url: str, *, leads: int, events: int) -> dict[str, Any]:
    """Run generate_data in its own process, so its peak memory is its own."""
    with tempfile.NamedTemporaryFile(suffix=".json") as stats:
        command = [sys.executable, "manage.py", "generate_data", "--leads", str(leads), "--events", str(events),
                   "--stats-file", stats.name, "--verbosity", "2"]  # fmt: skip
        print("$", " ".join(command[1:]), flush=True)
        env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}  # progress as it happens
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        figures = json.loads(Path(stats.name).read_text())
    # Other work on the machine slows the fill down: keep the load beside the figures.
    figures["load_average_5min"] = round(os.getloadavg()[1], 1)
    return figures


def fill(url: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """Top the database up to the requested size; returns generate_data's figures (None if skipped)."""
    from django.conf import settings
    from django.db import connection

    from leads.models import Event, Lead

    saved = Path(settings.VAR_DIR) / "bench" / f"{args.database}-generate.json"
    have_leads, have_events = Lead.objects.count(), Event.objects.count()
    if have_leads >= args.leads:
        print(f"bench database holds {have_leads:,} leads and {have_events:,} events: not generating")
        if not saved.exists():
            return None
        return {**json.loads(saved.read_text()), "note": "from the run that filled the database"}
    stats = generate(url, leads=args.leads - have_leads, events=max(0, args.events - have_events))
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead, leads_event, leads_stagechange")
    stats["vacuum_seconds"] = round(time.monotonic() - started, 1)
    print(f"VACUUM ANALYZE took {stats['vacuum_seconds']}s")
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(stats, indent=2))
    return stats


def load_scenario_modules() -> None:
    """Import bench/scenarios_*.py: more scenarios register themselves with `@scenario`."""
    for path in sorted(Path(__file__).resolve().parent.glob("scenarios_*.py")):
        importlib.import_module(f"bench.{path.stem}")


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


TEXT_COLUMNS = {0, 2, 5}  # scenario, unit, note: left-aligned; numbers right-aligned


def print_table(results: list[Any], header: str) -> None:
    rows = [(r.scenario, fmt(r.figure), r.unit, fmt(r.target), fmt(r.ratio), r.note) for r in results]
    titles = ("scenario", "figure", "unit", "target", "ratio", "note")
    widths = [max(len(str(row[i])) for row in [titles, *rows]) for i in range(len(titles))]
    print()
    print(header)
    for row in [titles, tuple("-" * w for w in widths), *rows]:
        cells = [
            str(cell).ljust(width) if column in TEXT_COLUMNS else str(cell).rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    print("ratio > 1 beats the target: figure/target when higher is better (rates), target/figure otherwise.")


def bench_ready(args: argparse.Namespace, *, fresh: bool = False) -> tuple[Any, dict[str, Any] | None] | None:
    """The bench database on DATABASE_URL's server made, migrated and filled up to --leads and
    --events, with Django set up on it: (the marketer, what filling generated). None, with a
    line saying why, when DATABASE_URL names no PostgreSQL server. Every bench starts so."""
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith(("postgres://", "postgresql://")):
        print(
            "Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres", file=sys.stderr
        )
        return None
    ensure_database(server_url, args.database, fresh=fresh)
    url = bench_url(server_url, args.database)
    setup_django(url)

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    marketer = ensure_users()
    return marketer, fill(url, args)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    ready = bench_ready(args, fresh=args.fresh)
    if ready is None:
        return 2
    marketer, stats = ready

    from bench.scenarios import NAMED_ONLY, SCENARIOS, Context
    from leads.models import Event, Lead

    load_scenario_modules()
    counts = {"leads": Lead.objects.count(), "events": Event.objects.count()}
    ctx = Context(
        runs=args.runs, stage=args.stage, marketer=marketer, generate=stats, counts=counts, minutes=args.minutes
    )
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        print(f"unknown scenarios: {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    results = []
    for name, func in SCENARIOS.items():
        if name in args.only or (not args.only and name not in NAMED_ONLY):
            print(f"running {name} …", flush=True)
            results.extend(func(ctx))
    header = (
        f"{args.database}: {counts['leads']:,} leads, {counts['events']:,} events; {args.runs} runs per latency; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; PostgreSQL {server_settings()}"
    )
    print_table(results, header)
    if args.json:
        rows = [{**vars(r), "ratio": r.ratio} for r in results]
        Path(args.json).write_text(json.dumps({"counts": counts, "generate": stats, "results": rows}, indent=2))
    return 0


def server_settings() -> str:
    """The PostgreSQL settings the figures depend on most (bench/README.md)."""
    from django.db import connection

    shown = []
    with connection.cursor() as cursor:
        for name in ("shared_buffers", "max_wal_size", "min_wal_size"):
            cursor.execute(f"SHOW {name}")
            shown.append(f"{name} {cursor.fetchone()[0]}")
    return ", ".join(shown)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
