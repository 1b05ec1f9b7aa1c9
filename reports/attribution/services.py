"""The ROI rollups (reports.attribution.models), kept current from the rows already written.

`rollups_update` (Celery beat, every few seconds) reads what was written since its last run,
each source through a cursor of its own, and recomputes what those rows change:

1. stage history (leads.history reader `reports.rollups`): the moved leads' milestones, and the
   won deals of leads that became MQL (the W-shaped model's middle key);
2. new leads: their milestones; lead merges: the survivor's milestones and won deals;
   and with the milestones, the same leads' funnel rows (reports.funnel.models: first entries,
   furthest stage, moves), for every lead the history moved;
3. events carrying a campaign: their leads' milestones' campaign (a known lead's first touch can
   fill its first campaign), and the won deals those events are touches of (a late event);
4. new deals and deal changes (won, reopened, amount): those deals' credits;
5. campaigns deleted since the last run: the deals they were credited in, recomputed.

Every step recomputes from the source rows (a lead's milestones from its row and history, a
deal's credits from its touches), so a row read twice changes nothing, and a late row fixes
what it touches. Runs take turns through a PostgreSQL advisory lock; one that finds another
running returns at once. Writes are set-based: milestones by one INSERT … ON CONFLICT per batch
of leads, credits deleted and inserted per batch of deals. Only the attribution models' exact
arithmetic runs in Python, per won deal (reports.attribution.credits), as the page did.

`rollups_rebuild` (`manage.py reports_rebuild`) makes everything again from scratch, and runs
by itself the first time `rollups_update` finds nothing built.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leads.history import stage_changes_follow
from leads.models import Campaign, Deal, DealChange, DealStage, Event, HistoryReader, Lead, StageChange
from leads.models.capture import LeadMerge
from reports.attribution import sql as rollups_sql
from reports.attribution.credits import MODELS
from reports.attribution.cursors import Rows, Table, cursor_place, head_of, rows_follow
from reports.attribution.models import DealCredit, LeadMilestone, Milestone, RollupState
from reports.attribution.selectors import WonDeal, _touches_by_deal, deal_credits, mql_moments
from reports.funnel import sql as funnel_sql
from reports.funnel.days import days_due_add, days_kept, days_rebuild
from reports.funnel.models import StageEntry, StageMove
from smarketing.lib import sql

HISTORY_READER = "reports.rollups"
EVENTS = Table("reports.events", Event, "received_at", ("lead_id", "type", "campaign_id", "occurred_at", "received_at"))
FORM = "form_submitted"
LEADS = Table("reports.leads", Lead, "created_at", ("created_at",))
DEALS = Table("reports.deals", Deal, "created_at", ("created_at",))
DEAL_CHANGES = Table("reports.deal_changes", DealChange, "at", ("deal_id", "at"))
MERGES = Table("reports.merges", LeadMerge, "merged_at", ("survivor_id", "merged_lead_id", "merged_at"))
TABLES = (EVENTS, LEADS, DEALS, DEAL_CHANGES, MERGES)

LEAD_BATCH = 5_000
DEAL_BATCH = 2_000
LEAD_RANGE = 50_000
LOOKBACK = 100_000  # ids a rebuild checks for gaps below each table's newest
MILESTONE_STAGES = [m.value for m in Milestone if m != Milestone.CREATED]
LOCK_KEY = int.from_bytes(hashlib.blake2b(b"reports.rollups", digest_size=7).digest(), "big")

Progress = Callable[[str], None]


# --- Taking turns ---------------------------------------------------------------------------


@contextmanager
def rollups_lock(*, wait: bool) -> Iterator[bool]:
    """Whether this run holds the rollups (a PostgreSQL advisory lock, for the session, so the
    run's batches commit one by one). SQLite writes one transaction at a time: always True."""
    if not sql.is_postgres():
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {'pg_advisory_lock' if wait else 'pg_try_advisory_lock'}(%s)", [LOCK_KEY])
        held = wait or cursor.fetchone()[0]
    try:
        yield bool(held)
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


# --- The run --------------------------------------------------------------------------------


def rollups_update(*, now: datetime | None = None) -> dict[str, Any]:
    """Bring the rollups up to the rows written so far (see the module); returns what each
    source gave, or {"skipped": True} when another run holds them."""
    with rollups_lock(wait=False) as held:
        if not held:
            return {"skipped": True}
        state = RollupState.objects.get_or_create(pk=1)[0]
        if state.built_at is None:
            return _rebuild(progress=None)
        now = now or timezone.now()
        return {
            "days_recounted": _days_in_this_zone(state),
            "day_counts_due": days_due_add(),
            "campaigns_gone": _campaigns_gone(state),
            "merges": rows_follow(MERGES, _merges, now=now),
            "leads": rows_follow(LEADS, _new_leads, now=now),
            "stage_changes": stage_changes_follow(reader=HISTORY_READER, handle=_stage_changes),
            "events": rows_follow(EVENTS, _events, now=now),
            "deals": rows_follow(DEALS, _deals, now=now),
            "deal_changes": rows_follow(DEAL_CHANGES, _deal_changes, now=now),
        }


def _days_in_this_zone(state: RollupState) -> bool:
    """Count the funnel's day totals again when TIME_ZONE changed since they were counted (or
    they never were, on an install older than them): seconds at a million leads."""
    if state.days_zone == settings.TIME_ZONE:
        return False
    days_rebuild()
    state.days_zone = settings.TIME_ZONE
    state.save(update_fields=["days_zone"])
    return True


def _merges(rows: Rows) -> None:
    survivors = sorted({row["survivor_id"] for row in rows})
    milestones_refresh(survivors)
    rollup_rows_of_gone_delete([row["merged_lead_id"] for row in rows])  # first: their moves are the survivor's now
    funnel_refresh(survivors)
    credits_refresh(_won_deals_of(survivors))


def rollup_rows_of_gone_delete(gone: list[int]) -> None:
    """The milestones and funnel rows of these deleted leads that a run wrote back while the
    deletion removed the rows it saw (none, unless the two met). The day totals are left alone:
    the deletion left due what its lead counted there."""
    LeadMilestone.objects.filter(lead_id__in=gone).delete()
    StageEntry.objects.filter(lead_id__in=gone).delete()
    StageMove.objects.filter(lead_id__in=gone).delete()


def _new_leads(rows: Rows) -> None:
    milestones_refresh([row["pk"] for row in rows])
    funnel_refresh([row["pk"] for row in rows])


def _stage_changes(changes: list[StageChange]) -> None:
    moved = sorted({c.lead_id for c in changes if c.to_stage in MILESTONE_STAGES})
    milestones_refresh(moved)
    funnel_refresh(sorted({c.lead_id for c in changes}))  # any move may be a lead's furthest or next
    credits_refresh(_won_deals_of(sorted({c.lead_id for c in changes if c.to_stage == Milestone.MQL})))


def _events(rows: Rows) -> None:
    """Events carrying a campaign, and form submissions (a form's campaign becomes the lead's
    first when it had none): the first campaign they may have given their lead; and the won
    deals created after a campaign's event (the deals it is a touch of)."""
    touches = [row for row in rows if row["campaign_id"] is not None]
    firsts = sorted({row["lead_id"] for row in rows if row["campaign_id"] is not None or row["type"] == FORM})
    with connection.cursor() as cursor:
        for chunk in sql.chunked(firsts, LEAD_BATCH):
            statement, params = rollups_sql.milestones_campaign_follow(chunk)
            cursor.execute(*sql.bind(statement, **params))
    if touches:
        earliest = min(row["occurred_at"] for row in touches)
        credits_refresh(_won_deals_of(sorted({row["lead_id"] for row in touches}), created_from=earliest))


def _deals(rows: Rows) -> None:
    credits_refresh([row["pk"] for row in rows])


def _deal_changes(rows: Rows) -> None:
    credits_refresh(sorted({row["deal_id"] for row in rows}))


def _campaigns_gone(state: RollupState) -> int:
    """Deals credited to a campaign deleted since the last run are recomputed (its events no
    longer carry it), and its milestones go to nobody's account, as its leads' first campaign did."""
    ids = list(Campaign.objects.order_by("pk").values_list("pk", flat=True))
    gone = sorted(set(state.campaign_ids) - set(ids))
    if gone:
        with transaction.atomic():
            deals = DealCredit.objects.filter(campaign_id__in=gone).values_list("deal_id", flat=True).distinct()
            credits_refresh(list(deals))
            with connection.cursor() as cursor:
                cursor.execute(rollups_sql.MILESTONES_CAMPAIGNS_GONE)
    if ids != state.campaign_ids:
        state.campaign_ids = ids
        state.save(update_fields=["campaign_ids"])
    return len(gone)


def _won_deals_of(lead_ids: list[int], *, created_from: datetime | None = None) -> list[int]:
    found: list[int] = []
    for chunk in sql.chunked(lead_ids, LEAD_BATCH):
        deals = Deal.objects.filter(lead_id__in=chunk, stage__outcome=DealStage.Outcome.WON)
        if created_from is not None:
            deals = deals.filter(created_at__gte=created_from)
        found += deals.values_list("pk", flat=True)
    return found


# --- Milestones -----------------------------------------------------------------------------


def milestones_refresh(lead_ids: list[int]) -> None:
    """These leads' milestones, recomputed from their rows and stage history."""
    with connection.cursor() as cursor:
        for chunk in sql.chunked(sorted(set(lead_ids)), LEAD_BATCH):
            statement, params = rollups_sql.milestones_upsert(chunk)
            cursor.execute(*sql.bind(statement, **params))


def funnel_refresh(lead_ids: list[int]) -> None:
    """These leads' funnel rows (reports.funnel.models), made again from their rows and history,
    and the day totals changed by as much."""
    with connection.cursor() as cursor:
        for chunk in sql.chunked(sorted(set(lead_ids)), LEAD_BATCH):
            with days_kept(chunk):
                for statement, params in funnel_sql.funnel_refresh(chunk):
                    cursor.execute(*sql.bind(statement, **params))


# --- Credits --------------------------------------------------------------------------------


def credits_refresh(deal_ids: Iterable[int]) -> int:
    """These deals' credits, recomputed: a won deal's from its touches, none for another.
    Returns how many won deals were credited."""
    credited = 0
    for chunk in sql.chunked(sorted(set(deal_ids)), DEAL_BATCH):
        with transaction.atomic():
            rows = credit_rows(_won(Deal.objects.filter(pk__in=chunk)))
            DealCredit.objects.filter(deal_id__in=chunk).delete()
            DealCredit.objects.bulk_create(rows)
        credited += len({row.deal_id for row in rows})
    return credited


def _won(deals: Any) -> list[tuple[WonDeal, datetime]]:
    """The won ones of `deals`, each with the moment it was won."""
    won = deals.filter(stage__outcome=DealStage.Outcome.WON, closed_at__isnull=False)
    return [
        (WonDeal(pk, lead_id, created, _cents(amount)), closed)
        for pk, lead_id, created, amount, closed in won.values_list(
            "id", "lead_id", "created_at", "amount", "closed_at"
        )
    ]


def _cents(amount: Any) -> int:
    return int((amount or 0) * 100)


def credit_rows(won: list[tuple[WonDeal, datetime]]) -> list[DealCredit]:
    """Each deal's cents per campaign under every model, as rows (not saved): its touches and
    its lead's MQL moment are read for all the deals at once (two queries)."""
    if not won:
        return []
    deals = [deal for deal, _ in won]
    leads = sorted({deal.lead_id for deal in deals})
    touches = _touches_by_deal(deals, leads=leads)
    mqls = mql_moments(leads)
    rows: list[DealCredit] = []
    for deal, won_at in won:
        by_campaign: dict[int | None, dict[str, int]] = defaultdict(dict)
        for model in MODELS:
            for campaign_id, cents in deal_credits(model, deal, touches[deal.id], mqls.get(deal.lead_id)).items():
                by_campaign[campaign_id][model] = cents
        rows += [
            DealCredit(deal_id=deal.id, campaign_id=campaign_id, won_at=won_at, **cents)
            for campaign_id, cents in by_campaign.items()
        ]
    return rows


# --- Rebuild --------------------------------------------------------------------------------


def rollups_rebuild(*, progress: Progress | None = None) -> dict[str, Any]:
    """Every rollup made again from the source rows, waiting for a run in progress to end."""
    with rollups_lock(wait=True):
        return _rebuild(progress=progress)


def _rebuild(*, progress: Progress | None) -> dict[str, Any]:
    """1. note where each source ends now (the cursors start there, so what is written during
       the rebuild is read by the next run);
    2. clear both rollups;
    3. insert the milestones and funnel rows of every lead, a range of ids at a time (on PostgreSQL two ranges
       at once, on connections of their own, while this one credits the deals);
    4. credit every won deal, a batch at a time;
    5. on PostgreSQL, VACUUM ANALYZE both tables, as autovacuum would later;
    6. put the cursors at the noted ends, and note the campaigns known."""
    say = progress or (lambda message: None)
    heads = {table: head_of(table, lookback=LOOKBACK) for table in TABLES}
    history = _history_head()
    campaigns = list(Campaign.objects.order_by("pk").values_list("pk", flat=True))
    _clear()
    ranges = sql.id_ranges(Lead, size=LEAD_RANGE)
    say(f"milestones: {len(ranges)} ranges of lead ids")
    parallel = sql.parallel_possible()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_milestones_of_ranges, ranges, say, own_connection=True) if parallel else None
        won = _credits_rebuild(say)
        count = pending.result() if pending else _milestones_of_ranges(ranges, say)
    days = days_rebuild()
    say(f"funnel: {days['days']:,} days counted")
    if parallel:  # outside a transaction: the pages' counts then read the index alone, planned on statistics
        with connection.cursor() as cursor:
            cursor.execute(rollups_sql.ROLLUPS_VACUUM_PG)
            cursor.execute(funnel_sql.FUNNEL_VACUUM_PG)
        say("vacuumed and analysed")
    for table, (head, written_at, gaps) in heads.items():
        cursor_place(table, head=head, written_at=written_at, gaps=gaps)
    HistoryReader.objects.update_or_create(
        name=HISTORY_READER, defaults={"txid": history[0], "last_id": history[1], "read_at": timezone.now()}
    )
    RollupState.objects.update_or_create(
        pk=1, defaults={"built_at": timezone.now(), "campaign_ids": campaigns, "days_zone": settings.TIME_ZONE}
    )
    return {"rebuilt": True, "milestones": count, "won_deals": won}


def _milestones_of_ranges(ranges: list[tuple[int, int]], say: Progress, *, own_connection: bool = False) -> int:
    try:
        count = sum(sql.each_in_parallel(_milestones_of_range, ranges))
        say(f"milestones: {count:,} for {len(ranges)} ranges of leads")
        return count
    finally:
        if own_connection:
            connection.close()  # the thread's own: don't leave it behind


def _credits_rebuild(say: Progress) -> int:
    """Every won deal's credits, inserted a batch at a time (the table is empty)."""
    won = Deal.objects.filter(stage__outcome=DealStage.Outcome.WON, closed_at__isnull=False)
    ids = list(won.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), DEAL_BATCH):
        chunk = ids[start : start + DEAL_BATCH]
        DealCredit.objects.bulk_create(credit_rows(_won(Deal.objects.filter(pk__in=chunk))), batch_size=5_000)
        if (start // DEAL_BATCH) % 5 == 4 or start + DEAL_BATCH >= len(ids):
            say(f"credits: {min(start + DEAL_BATCH, len(ids)):,} of {len(ids):,} won deals")
    return len(ids)


def _history_head() -> tuple[int, int]:
    if sql.is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(rollups_sql.HISTORY_HEAD_PG)
            row = cursor.fetchone()
        return (row[0], row[1]) if row else (0, 0)
    return 0, StageChange.objects.order_by("-id").values_list("id", flat=True).first() or 0  # SQLite: txid 0


def _clear() -> None:
    if sql.is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(rollups_sql.MILESTONES_CLEAR_PG)
            cursor.execute(rollups_sql.CREDITS_CLEAR_PG)
            cursor.execute(funnel_sql.FUNNEL_CLEAR_PG)
        return
    LeadMilestone.objects.all().delete()
    DealCredit.objects.all().delete()
    StageEntry.objects.all().delete()
    StageMove.objects.all().delete()


def _milestones_of_range(bounds: tuple[int, int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(*sql.bind(rollups_sql.milestones_insert_range(), first=bounds[0], last=bounds[1]))
        count = cursor.rowcount
        for statement in funnel_sql.funnel_insert_range():  # the funnel's rows of the same leads
            cursor.execute(*sql.bind(statement, first=bounds[0], last=bounds[1]))
        return count
