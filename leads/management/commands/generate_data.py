"""Fill the database fast with synthetic leads, events and stage history, for benchmarks.

On PostgreSQL rows go in through `COPY … FROM STDIN`, fed by a file-like object that formats
a few thousand rows per read, so memory stays flat whatever the row count. On SQLite they go
in through `executemany` in batches. Either way ids are reserved up front, so events and
stage changes can point at their leads without reading anything back.
"""

import json
import random
import resource
import secrets
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from leads.models import Campaign, ChangeSource, Channel, Event, Lead, LeadScore, Stage, StageChange
from smarketing.roles import Role

DAYS = 365  # everything happens in the twelve months before today
SECONDS_PER_DAY = 86_400  # fits in 17 bits, a day of the year in 9: see Synth.event_rows
WINDOW_DAYS = 30

FIRST_NAMES = ["Ana", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam",
               "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena",
               "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Dmitri", "Emma", "Felix", "Greta", "Hiro"]  # fmt: skip
LAST_NAMES = ["Garcia", "Smith", "Muller", "Rossi", "Dubois", "Silva", "Novak", "Kowalski", "Jensen", "Nakamura",
              "Okafor", "Patel", "Larsen", "Moreau", "Fischer", "Hansen", "Ivanova", "Lopez", "Brown", "Schmidt",
              "Costa", "Nowak", "Berg", "Tanaka", "Adeyemi", "Singh", "Martin", "Weber", "Romano"]  # fmt: skip
COMPANY_WORDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Vandelay", "Hooli", "Pied",
                 "Soylent", "Tyrell", "Cyberdyne"]  # fmt: skip
COMPANY_SUFFIXES = ["Labs", "Systems", "Group", "Analytics", "Logistics", "Health", "Capital", "Software", "Media"]
TITLES = ["VP of Marketing", "Head of Sales", "Marketing Manager", "Sales Development Representative",
          "Revenue Operations Manager", "CEO", "Marketing Specialist", "Account Executive", "Consultant"]  # fmt: skip
INDUSTRIES = ["Software", "Financial services", "Healthcare", "Manufacturing", "Retail", "Education", "Media"]
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "ES", "NL", "CA", "AU", "BR", "IN"]
# Stages by share of all leads (percent), shaped like a funnel.
STAGE_SHARES = {
    Stage.SUBSCRIBER: 12,
    Stage.LEAD: 38,
    Stage.MQL: 14,
    Stage.SQL: 7,
    Stage.OPPORTUNITY: 5,
    Stage.CUSTOMER: 6,
    Stage.EVANGELIST: 1,
    Stage.RECYCLED: 9,
    Stage.DISQUALIFIED: 8,
}
# The stage path each final stage implies (StageChange rows, from "" onwards).
PATHS = {
    Stage.SUBSCRIBER: [Stage.SUBSCRIBER],
    Stage.LEAD: [Stage.LEAD],
    Stage.MQL: [Stage.LEAD, Stage.MQL],
    Stage.SQL: [Stage.LEAD, Stage.MQL, Stage.SQL],
    Stage.OPPORTUNITY: [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY],
    Stage.CUSTOMER: [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER],
    Stage.EVANGELIST: [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST],
    Stage.RECYCLED: [Stage.LEAD, Stage.MQL, Stage.RECYCLED],
    Stage.DISQUALIFIED: [Stage.LEAD, Stage.DISQUALIFIED],
}
OWNED = {Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST}
# Event types by share (percent) and their properties, already as JSON text.
EVENT_SHARES = [
    ("page_viewed", 38, ['{"path": "/"}', '{"path": "/pricing/"}', '{"path": "/blog/mql-vs-sql/"}']),
    ("email_opened", 25, ['{"subject": "Monthly newsletter"}']),
    ("email_clicked", 10, ['{"subject": "Monthly newsletter"}']),
    ("form_submitted", 9, ['{"form": "ebook"}', '{"form": "contact"}']),
    ("webinar_registered", 5, ['{"webinar": "Aligning sales and marketing"}']),
    ("webinar_attended", 4, ['{"webinar": "Aligning sales and marketing"}']),
    ("pricing_downloaded", 5, ['{"asset": "price-list.pdf"}']),
    ("trial_started", 4, ['{"plan": "team"}']),
]
EVENTS_WITH_CAMPAIGN = 0.3
LEAD_FIELDS = [
    "id", "email", "first_name", "last_name", "phone", "company", "title", "industry", "company_size", "country",
    "website", "stage", "owner", "consent", "consent_at", "unsubscribed_at", "source", "first_campaign",
    "first_touch", "last_source", "last_campaign", "last_touch", "last_touch_at", "created_at", "updated_at",
    "stage_changed_at",
]  # fmt: skip
SCORE_FIELDS = ["lead", "fit", "engagement", "score", "breakdown", "created_at", "last_touch_at"]
EVENT_FIELDS = ["lead", "type", "occurred_at", "received_at", "campaign", "properties", "idempotency_key"]
STAGE_CHANGE_FIELDS = [
    "lead", "from_stage", "to_stage", "changed_at", "source", "changed_by", "playbook_id", "definition_version",
    "matched_rules", "reason", "note",
]  # fmt: skip

Row = tuple[str | None, ...]


@dataclass(frozen=True)
class Dialect:
    """How one database wants values spelled in text rows."""

    null: str | None
    true: str
    false: str
    tz: str  # suffix of a timestamp


POSTGRES = Dialect(null="\\N", true="t", false="f", tz="+00")
# SQLite stores Django's aware datetimes as naive UTC text, and its column affinity turns
# numeric text into numbers, so the same text rows serve both databases.
SQLITE = Dialect(null=None, true="1", false="0", tz="")


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 -- synthetic benchmark data, nothing secret


class Synth:
    """Generates the rows, cheaply: precomputed text pools picked with one seeded generator.

    Leads come in the order they arrived (ids ascend with created_at) and events month by
    month, so the physical layout resembles a live system's. It remembers each lead's stage
    and creation moment (a few bytes per lead, in arrays), so events and stage changes come
    after the lead was created.
    """

    def __init__(self, *, seed: int, run: str, dialect: Dialect, campaigns: list[Campaign], owners: list[int]) -> None:
        self.rng = _rng(seed)
        self.run = run
        self.d = dialect
        today = timezone.now().date()
        # Up to yesterday, so no time generated lies in the future.
        self.day_text = [(today - timedelta(days=DAYS - i)).isoformat() for i in range(DAYS)]
        self.clock_text = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)]
        self.campaigns = [(str(c.pk), c.utm_source, json.dumps({"utm_campaign": c.utm_campaign})) for c in campaigns]
        self.owners = [str(pk) for pk in owners] or [dialect.null]
        self.stages = [stage for stage, share in STAGE_SHARES.items() for _ in range(share)]
        self.event_picks = [(kind, props) for kind, share, props in EVENT_SHARES for _ in range(share)]
        self.lead_stage = array("B")
        self.lead_day = array("H")
        self.lead_second = array("I")
        self.lead_fit = array("B")
        self.lead_engagement = array("B")

    def _moment(self, day: int, second: int) -> str:
        return f"{self.day_text[day]} {self.clock_text[second]}{self.d.tz}"

    def _lead_moments(self, count: int) -> Iterator[tuple[int, int]]:
        """(day, second) for `count` leads spread evenly over the year, in ascending order."""
        rnd = self.rng.random
        for day in range(DAYS):
            today = count * (day + 1) // DAYS - count * day // DAYS
            for second in sorted(int(rnd() * SECONDS_PER_DAY) for _ in range(today)):
                yield day, second

    def lead_rows(self, *, first_id: int, count: int) -> Iterator[Row]:
        """Leads in the order they arrived, as in a live system: ids ascend with created_at."""
        rnd, d, stages = self.rng.random, self.d, self.stages
        stage_index = {stage: index for index, stage in enumerate(STAGE_SHARES)}
        now = f"{timezone.now():%Y-%m-%d %H:%M:%S}{d.tz}"
        for n, (day, second) in enumerate(self._lead_moments(count)):
            first, last = FIRST_NAMES[int(rnd() * len(FIRST_NAMES))], LAST_NAMES[int(rnd() * len(LAST_NAMES))]
            company = f"{COMPANY_WORDS[n % len(COMPANY_WORDS)]} {COMPANY_SUFFIXES[n // 7 % len(COMPANY_SUFFIXES)]}"
            domain = f"{company.replace(' ', '').lower()}.example"
            stage = stages[int(rnd() * 100)]
            self.lead_stage.append(stage_index[stage])
            self.lead_day.append(day)
            self.lead_second.append(second)
            created = self._moment(day, second)
            campaign_id, source, touch = self.campaigns[int(rnd() * len(self.campaigns))]
            self.lead_fit.append(int(rnd() * 101))
            self.lead_engagement.append(int(rnd() * 80))
            owner = self.owners[int(rnd() * len(self.owners))] if stage in OWNED else d.null
            consent = d.true if rnd() < 0.9 else d.false
            yield (
                str(first_id + n), f"{first.lower()}.{last.lower()}.{self.run}.{n}@{domain}", first, last, "",
                company, TITLES[int(rnd() * len(TITLES))], INDUSTRIES[int(rnd() * len(INDUSTRIES))],
                str(int(rnd() * 5000) + 1), COUNTRIES[int(rnd() * len(COUNTRIES))], f"https://{domain}", stage,
                owner, consent, created, d.null,
                source, campaign_id, touch, source, campaign_id, touch, created, created, now, created,
            )  # fmt: skip

    def score_rows(self, *, first_lead_id: int) -> Iterator[Row]:
        """Each lead's LeadScore row, from the fit and engagement drawn with the lead."""
        for lead, (fit, engagement) in enumerate(zip(self.lead_fit, self.lead_engagement, strict=True)):
            breakdown = f'{{"Fit": {fit}, "Engagement": {engagement}}}'
            created = self._moment(self.lead_day[lead], self.lead_second[lead])
            # A generated lead's last touch is its creation (lead_rows sets both alike).
            score = (str(fit), str(engagement), str(fit + engagement))
            yield str(first_lead_id + lead), *score, breakdown, created, created

    def event_rows(self, *, first_lead_id: int, count: int) -> Iterator[Row]:
        """`count` events, month by month, each month's sorted by lead and time.

        Each day's events go to leads created before that day, and a day gets events in
        proportion to how many leads exist by then: every lead is about equally active, so
        older leads have more events, spread over the table a month apart. Why months: in
        strict time order the (lead, …) indexes take random inserts, in strict lead order the
        (type, time) ones do, and either way PostgreSQL thrashes its buffers once those indexes
        outgrow them. Month by month, the lead indexes are swept in order a dozen times and
        the time indexes only take inserts in their newest month.
        """
        rnd, d = self.rng.random, self.d
        existing = [bisect_left(self.lead_day, day) for day in range(DAYS)]  # lead_day ascends
        total = sum(existing)
        campaigns = [c[0] for c in self.campaigns]
        made, planned, weight = 0, 0, 0
        for start in range(1, DAYS, WINDOW_DAYS):
            # One int per event (lead, day, second), so sorting a month costs little memory.
            window = array("q")
            for day in range(start, min(start + WINDOW_DAYS, DAYS)):
                weight += existing[day]
                today = count * weight // total - planned  # exact: the last day reaches `count`
                planned += today
                for _ in range(today):
                    lead = int(rnd() * existing[day])
                    window.append(lead << 26 | day << 17 | int(rnd() * SECONDS_PER_DAY))
            for packed in sorted(window):
                moment = self._moment(packed >> 17 & 0x1FF, packed & 0x1FFFF)
                kind, props = self.event_picks[int(rnd() * 100)]
                campaign = campaigns[int(rnd() * len(campaigns))] if rnd() < EVENTS_WITH_CAMPAIGN else d.null
                # Zero-padded so keys arrive in index order: appends, not page splits.
                key = f"gen-{self.run}-{made:011d}"
                yield (
                    str(first_lead_id + (packed >> 26)),
                    kind,
                    moment,
                    moment,
                    campaign,
                    props[int(rnd() * len(props))],
                    key,
                )
                made += 1

    def stage_change_rows(self, *, first_lead_id: int) -> Iterator[Row]:
        """Each lead's path to its stage, a few days per step, starting when it was created."""
        rnd, d = self.rng.random, self.d
        paths = [PATHS[stage] for stage in STAGE_SHARES]
        owners = self.owners
        for lead, stage in enumerate(self.lead_stage):
            lead_id, day, second = str(first_lead_id + lead), self.lead_day[lead], self.lead_second[lead]
            previous = ""
            for step, to_stage in enumerate(paths[stage]):
                if step:
                    day = min(DAYS - 1, day + 1 + int(rnd() * 14))
                    second = min(SECONDS_PER_DAY - 1, second + 1)  # same day when capped: still ascending
                by_rule = to_stage in (Stage.MQL, Stage.SQL)
                source = ChangeSource.SYSTEM if not step else ChangeSource.RULE if by_rule else ChangeSource.USER
                changed_by = owners[int(rnd() * len(owners))] if source == ChangeSource.USER else d.null
                version = "1" if by_rule else d.null
                yield (lead_id, previous, to_stage, self._moment(day, second), source, changed_by, d.null, version,
                       "[]", "", "")  # fmt: skip
                previous = to_stage


class CopyStream:
    """A read-only file for `COPY … FROM STDIN`: each read formats the next rows as text."""

    def __init__(self, rows: Iterator[Row], rows_per_read: int = 2_000) -> None:
        self.rows = rows
        self.rows_per_read = rows_per_read
        self.count = 0

    def read(self, size: int = -1) -> str:
        lines = ["\t".join(row) for row in islice(self.rows, self.rows_per_read)]
        self.count += len(lines)
        return "\n".join(lines) + "\n" if lines else ""


def _columns(model: type, fields: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in fields]


def _reserve_ids(model: type, count: int) -> int:
    """The first of `count` consecutive ids nobody else will be given; returns it."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Take the next id and move the sequence past the whole block in one statement.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                [table, table, count],
            )
            return cursor.fetchone()[0] - count + 1
    return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def _insert(model: type, fields: list[str], rows: Iterator[Row], *, batch: int, progress: Callable[[int], None]) -> int:
    """Insert rows in batches of `batch`, each its own statement (and, outside a transaction, commit).

    Committing per batch keeps PostgreSQL's queue of deferred foreign-key checks short.
    """
    table = model._meta.db_table
    columns = ", ".join(_columns(model, fields))
    total = 0
    with connection.cursor() as cursor:
        while True:
            chunk = islice(rows, batch)
            if connection.vendor == "postgresql":
                stream = CopyStream(chunk)
                cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", stream, 1 << 20)
                written = stream.count
            else:
                values = list(chunk)
                placeholders = ", ".join(["%s"] * len(fields))
                sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 -- our own names
                with transaction.atomic():
                    cursor.executemany(sql, values)
                written = len(values)
            total += written
            if written < batch:
                return total
            progress(total)


def _campaigns() -> list[Campaign]:
    """One campaign per channel to credit leads and events to (created once, then reused)."""
    campaigns = []
    for channel in Channel:
        campaign, _ = Campaign.objects.get_or_create(
            name=f"Generated: {channel.label}",
            defaults={"channel": channel, "utm_source": channel.value, "utm_campaign": f"generated-{channel.value}"},
        )
        campaigns.append(campaign)
    return campaigns


class Command(BaseCommand):
    help = "Insert N synthetic leads and M events quickly (COPY on PostgreSQL) and report the rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, required=True)
        parser.add_argument("--events", type=int, default=0)
        parser.add_argument(
            "--batch", type=int, default=0, help="Rows per statement (default: 200,000 COPY, 5,000 SQLite)."
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--run-id", default="", help="Prefix making emails and keys unique (default: random).")
        parser.add_argument("--no-stage-changes", action="store_true", help="Skip the stage history rows.")
        parser.add_argument("--stats-file", default="", help="Also write the figures as JSON to this file.")

    def handle(self, *args: object, **options: Any) -> None:
        leads, events = options["leads"], options["events"]
        if leads < 1 or events < 0:
            raise CommandError("--leads must be at least 1 and --events not negative.")
        postgres = connection.vendor == "postgresql"
        synth = Synth(
            seed=options["seed"],
            run=options["run_id"] or secrets.token_hex(4),
            dialect=POSTGRES if postgres else SQLITE,
            campaigns=_campaigns(),
            owners=list(User.objects.filter(groups__name=Role.SALES).values_list("pk", flat=True)),
        )
        first_id = _reserve_ids(Lead, leads)
        # Lazily: each table's rows are generated while they are inserted.
        plan = [
            ("leads", Lead, LEAD_FIELDS, lambda: synth.lead_rows(first_id=first_id, count=leads)),
            ("scores", LeadScore, SCORE_FIELDS, lambda: synth.score_rows(first_lead_id=first_id)),
        ]
        if events:
            plan.append(("events", Event, EVENT_FIELDS, lambda: synth.event_rows(first_lead_id=first_id, count=events)))
        if not options["no_stage_changes"]:
            plan.append(
                (
                    "stage_changes",
                    StageChange,
                    STAGE_CHANGE_FIELDS,
                    lambda: synth.stage_change_rows(first_lead_id=first_id),
                )
            )
        batch = options["batch"] or (200_000 if postgres else 5_000)
        tables = []
        with self._bulk_session(postgres):
            for label, model, fields, rows in plan:
                tables.append(self._fill(label, model, fields, rows(), batch=batch, verbose=options["verbosity"] > 1))
        self._report(tables, options["stats_file"])

    @contextmanager
    def _bulk_session(self, postgres: bool) -> Iterator[None]:
        """On PostgreSQL, don't wait for each batch's commit to reach the disk: it is a bulk load."""
        if not postgres:
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")

    def _fill(
        self, label: str, model: type, fields: list[str], rows: Iterator[Row], *, batch: int, verbose: bool
    ) -> dict[str, Any]:
        started = time.monotonic()

        def progress(done: int) -> None:
            if verbose:
                self.stdout.write(f"  {label}: {done:,} rows, {time.monotonic() - started:.0f}s")

        count = _insert(model, fields, rows, batch=batch, progress=progress)
        seconds = time.monotonic() - started
        table = {
            "table": label,
            "rows": count,
            "seconds": round(seconds, 2),
            "rows_per_second": round(count / max(seconds, 1e-6)),
        }
        self.stdout.write(f"{label:<14} {count:>12,} rows in {seconds:>8.1f}s = {table['rows_per_second']:>9,} rows/s")
        return table

    def _report(self, tables: list[dict[str, Any]], stats_file: str) -> None:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
        self.stdout.write(f"peak memory (RSS) {peak_mb:,.0f} MB")
        if stats_file:
            with open(stats_file, "w") as out:
                json.dump({"tables": tables, "peak_rss_mb": round(peak_mb, 1)}, out, indent=2)
