"""The rep's queue and claiming, and who may see and work which sales leads.

Claiming takes the best pooled lead (score, then age) from the rep's team pool or the
general pool. Two reps never get the same lead:
- PostgreSQL: one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)`; a row
  another claimer holds is skipped, not waited for, so 50 claimers take 50 different rows
  in one index step each (the partial index `handoff_pool`).
- SQLite: the same UPDATE with `status = 'pooled'` rechecked; SQLite runs one writer at a
  time, so the row count tells whether we won it.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from leads.models import AssignmentLog, Handoff, HandoffStatus, RepProfile
from leads.models.sales import DEFAULT_CAPACITY
from leads.sales import sql as sales_sql
from leads.sales.services import SalesError
from smarketing.lib import sql

QUEUE_LIMIT = 200


POOL_COUNT_CAP = 1_000


def rep_profile(rep: AbstractBaseUser) -> RepProfile:
    """The rep's profile, or an unsaved one with the defaults (no team, default capacity)."""
    found = RepProfile.objects.filter(user=rep).select_related("team").order_by("pk").first()
    return found or RepProfile(user=rep, capacity=DEFAULT_CAPACITY)


def rep_open_count(*, rep: AbstractBaseUser) -> int:
    return Handoff.objects.filter(status=HandoffStatus.ASSIGNED, assigned_to=rep).count()


def rep_load(*, rep: AbstractBaseUser) -> dict[str, int]:
    """For the queue page's banner: open leads against capacity."""
    return {"open": rep_open_count(rep=rep), "capacity": rep_profile(rep).capacity}


def pools_of(team_id: int | None) -> Q:
    """The pools a rep of that team (None: no team) claims from: the team's and the general pool."""
    return Q(team__isnull=True) | Q(team_id=team_id) if team_id else Q(team__isnull=True)


def pool_for_rep(*, rep: AbstractBaseUser, profile: RepProfile | None = None) -> QuerySet[Handoff]:
    """Pooled leads this rep may claim, best first (pass the rep's profile to save a query)."""
    profile = profile or rep_profile(rep)
    return (
        Handoff.objects.filter(pools_of(profile.team_id), status=HandoffStatus.POOLED)
        .select_related("lead", "team")
        .order_by("-score", "handed_off_at", "id")
    )


def pool_waiting_count(*, rep: AbstractBaseUser, profile: RepProfile | None = None, cap: int = POOL_COUNT_CAP) -> int:
    """How many leads wait in the rep's pools, counted up to `cap` (the page shows "1,000+")."""
    return pool_for_rep(rep=rep, profile=profile).order_by()[:cap].count()


def queue_for_rep(*, rep: AbstractBaseUser, limit: int = QUEUE_LIMIT) -> list[Handoff]:
    """The rep's open leads: untouched ones first by deadline (overdue at the top), then the rest.

    One query whatever the data: the lead and its persona come joined, and the last touch is
    kept on the handoff row.
    """
    untouched_first = Case(
        When(first_touch_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    rows = (
        Handoff.objects.filter(status=HandoffStatus.ASSIGNED, assigned_to=rep)
        .select_related("lead", "lead__scoring__persona", "lead__owner", "lead__first_campaign")
        .order_by(untouched_first, "due_at", "id")[:limit]
    )
    return list(rows)


def queue_overview(*, rep: AbstractBaseUser, limit: int = QUEUE_LIMIT) -> dict[str, Any]:
    """Everything the queue page (and GET /api/v1/queue/) shows, in three queries whatever the data.

    The rep's profile, their open leads (which also give the open count, up to `limit`) and
    the capped count of what waits in their pools.
    """
    profile = rep_profile(rep)
    now = timezone.now()
    handoffs = queue_for_rep(rep=rep, limit=limit)
    return {
        "open": len(handoffs) if len(handoffs) < limit else rep_open_count(rep=rep),
        "capacity": profile.capacity,
        "waiting_in_pools": pool_waiting_count(rep=rep, profile=profile),
        "results": [queue_row(handoff, now=now) for handoff in handoffs],
    }


def queue_row(handoff: Handoff, *, now: Any = None) -> dict[str, Any]:
    """What the queue shows for one lead: countdown in seconds (negative when overdue), why, score."""
    now = now or timezone.now()
    lead = handoff.lead
    touched = handoff.first_touch_at is not None
    return {
        "handoff": handoff,
        "lead": lead,
        "due_at": handoff.due_at,
        "seconds_left": None if touched else int((handoff.due_at - now).total_seconds()),
        "overdue": not touched and handoff.due_at < now,
        "why": handoff.why or ([f"persona: {lead.persona.name}"] if lead.persona_id else []),
        "score": lead.score,
        "last_touch_at": handoff.last_activity_at,
        "last_touch_kind": handoff.last_activity_kind,
    }


def lead_claim_next(*, rep: AbstractBaseUser) -> Handoff | None:
    """Give the rep the best lead waiting in their pools; None when the pools are empty.

    Refused (SalesError, 409) when the rep already holds their capacity of open leads. Every
    rep runs this all day, so it is three plain statements (`sales_sql.CLAIM_…`, OWNER_SET,
    CLAIM_LOG): the claim (capacity checked in it), the owner, the log row; then one read of
    what the reply shows. Only when nothing was claimed does a fourth (LOAD) say whether the
    rep is full or the pools are empty.
    """
    now = sql.db_datetime(timezone.now())
    params = {
        "rep": rep.pk,
        "assigned": HandoffStatus.ASSIGNED,
        "pooled": HandoffStatus.POOLED,
        "capacity": DEFAULT_CAPACITY,
    }
    claim = sales_sql.CLAIM_SKIP_LOCKED if connection.vendor == "postgresql" else sales_sql.CLAIM_ONE_WRITER
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*sql.bind(claim, **params))
        row = cursor.fetchone()
        if row is None:
            cursor.execute(*sql.bind(sales_sql.LOAD, **params))
            capacity, held = cursor.fetchone()
            if held >= capacity:
                raise SalesError(
                    f"You hold {held} open leads, your capacity; accept, reject or recycle one before claiming more.",
                    status=409,
                )
            return None
        handoff_id, lead_id, team_id = row
        cursor.execute(*sql.bind(sales_sql.OWNER_SET, rep=rep.pk, now=now, lead=lead_id))
        log = {"lead": lead_id, "action": AssignmentLog.Action.CLAIMED, "team": team_id, "reason": ""}
        cursor.execute(*sql.bind(sales_sql.CLAIM_LOG, **log, rep=rep.pk, now=now))
    handoff = Handoff.objects.select_related("lead__scoring__persona", "lead__owner", "lead__first_campaign").get(
        pk=handoff_id
    )
    # Holder and owner are the rep, already loaded: set them rather than join the user table again.
    handoff.assigned_to = handoff.lead.owner = rep
    return handoff
