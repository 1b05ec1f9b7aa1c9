"""Handoff and assignment: where a lead goes when it reaches the agreed handoff stage.

1. The agreement's handoff stage (MQL or SQL) decides when: `handoffs_follow_history` reads
   the stage history (leads.history) and hands off every lead that qualification promoted
   to that stage or past it. The clock starts at the promotion, not at the reading.
2. Ordered assignment rules decide where: the first active rule whose conditions all hold
   (country or region, company size, industry, persona, source) names a team or a rep.
3. Inside a team, round-robin: the rep whose turn it is (assigned longest ago) takes the
   lead, passing over reps who are away today or already hold their capacity of open leads.
4. What no rule places, or a team with no rep free, waits in a pool (the team's, or the
   general pool) for a rep to claim (leads/sales/queue.py).
5. A person may also hand leads over by hand (leads/sales/manual_handoff.py): to a rep or
   team they name, or by the rules.

Work is per batch of leads (qualification hands over at most a chunk at a time): rules are
evaluated in memory over the batch's few attribute columns, then the handoffs, owners and
log rows are written with one statement per table (per rep for owners).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.history import stage_changes_follow
from leads.models import (
    FUNNEL,
    OPEN_HANDOFF,
    Agreement,
    AssignmentLog,
    AssignmentRule,
    ChangeSource,
    Handoff,
    HandoffStatus,
    Lead,
    RepProfile,
    Stage,
    StageChange,
)
from leads.models.sales import DEFAULT_CAPACITY
from leads.sales import sql as sales_sql
from leads.sales.notifications import Note, lead_url, lead_url_parts, notify, notify_select
from smarketing.lib import sql

REGIONS: dict[str, list[str]] = {
    "NA": ["US", "CA"],
    "LATAM": ["MX", "BR", "AR", "CO", "CL", "PE", "UY", "EC", "VE", "BO", "PY", "CR", "PA", "GT", "DO", "SV", "HN"],
    "EMEA": [
        "GB",
        "IE",
        "DE",
        "FR",
        "ES",
        "PT",
        "IT",
        "NL",
        "BE",
        "LU",
        "CH",
        "AT",
        "SE",
        "NO",
        "DK",
        "FI",
        "PL",
        "CZ",
        "GR",
        "RO",
        "HU",
        "IL",
        "AE",
        "SA",
        "ZA",
        "NG",
        "KE",
        "EG",
        "MA",
        "TR",
    ],  # fmt: skip
    "APAC": ["AU", "NZ", "JP", "CN", "KR", "IN", "SG", "HK", "TW", "ID", "MY", "TH", "PH", "VN"],
}


COUNTRY_REGION = {country: region for region, countries in REGIONS.items() for country in countries}


LEAD_COLUMNS = ("id", "country", "company_size", "industry", "source")


# The scores live in LeadScore: read them alongside, a lead not scored yet counting as zero.
LEAD_SCORES = {"persona_id": F("scoring__persona"), "score": Coalesce(F("scoring__score"), 0)}


def region_of(country: str) -> str:
    return COUNTRY_REGION.get((country or "").upper(), "")


def _folded(values: Iterable[str]) -> set[str]:
    return {str(v).strip().casefold() for v in values if str(v).strip()}


def rule_matches(rule: AssignmentRule, lead: dict[str, Any], persona_ids: set[int]) -> bool:
    """Every condition the rule sets holds for the lead (empty conditions match anything)."""
    country = (lead.get("country") or "").upper()
    size = lead.get("company_size")
    checks = [
        not rule.countries or country in {c.upper() for c in rule.countries},
        not rule.regions or region_of(country) in {r.upper() for r in rule.regions},
        rule.company_size_min is None or (size is not None and size >= rule.company_size_min),
        rule.company_size_max is None or (size is not None and size <= rule.company_size_max),
        not rule.industries or (lead.get("industry") or "").casefold() in _folded(rule.industries),
        not persona_ids or lead.get("persona_id") in persona_ids,
        not rule.sources or (lead.get("source") or "").casefold() in _folded(rule.sources),
    ]
    return all(checks)


def active_rules() -> list[tuple[AssignmentRule, set[int]]]:
    rules = AssignmentRule.objects.filter(is_active=True).prefetch_related("personas").order_by("position", "id")
    return [(rule, {p.pk for p in rule.personas.all()}) for rule in rules]


@dataclass
class Seat:
    rep_id: int
    team_id: int | None
    room: int  # capacity minus open leads
    away: bool
    turn: datetime | None


@dataclass
class Roster:
    """The reps rules may name and teams may rotate through, with their room and turn.

    Built once per batch; taking a lead updates the seat in memory, and `save_turns` writes
    the new turns back so the rotation continues in the next batch.
    """

    seats: dict[int, Seat]
    by_team: dict[int, list[int]] = field(default_factory=dict)
    taken_at: dict[int, datetime] = field(default_factory=dict)
    clock: datetime = field(default_factory=timezone.now)

    def __post_init__(self) -> None:
        teams: dict[int, list[Seat]] = defaultdict(list)
        for seat in self.seats.values():
            if seat.team_id is not None:
                teams[seat.team_id].append(seat)
        # Round-robin order: never-assigned reps first, then whoever was assigned longest ago.
        order = lambda s: (s.turn is not None, s.turn or self.clock, s.rep_id)  # noqa: E731
        self.by_team = {team: [s.rep_id for s in sorted(seats, key=order)] for team, seats in teams.items()}

    def _take(self, seat: Seat) -> int:
        seat.room -= 1
        # Microsecond steps keep the order of turns taken within one batch.
        self.clock += timedelta(microseconds=1)
        seat.turn = self.taken_at[seat.rep_id] = self.clock
        if seat.team_id in self.by_team:
            rotation = self.by_team[seat.team_id]
            rotation.remove(seat.rep_id)
            rotation.append(seat.rep_id)
        return seat.rep_id

    def take_rep(self, rep_id: int, *, exclude: int | None = None) -> int | None:
        seat = self.seats.get(rep_id)
        if seat is None or seat.away or seat.room <= 0 or rep_id == exclude:
            return None
        return self._take(seat)

    def take_from_team(self, team_id: int, *, exclude: int | None = None) -> int | None:
        for rep_id in list(self.by_team.get(team_id, [])):
            if (rep := self.take_rep(rep_id, exclude=exclude)) is not None:
                return rep
        return None

    def team_of(self, rep_id: int) -> int | None:
        seat = self.seats.get(rep_id)
        return seat.team_id if seat else None

    def save_turns(self) -> None:
        for rep_id, turn in self.taken_at.items():
            RepProfile.objects.filter(user_id=rep_id).update(last_assigned_at=turn)


def open_loads(rep_ids: Iterable[int]) -> dict[int, int]:
    """Open leads (assigned handoffs) per rep."""
    rows = (
        Handoff.objects.filter(status=HandoffStatus.ASSIGNED, assigned_to_id__in=list(rep_ids))
        .values("assigned_to_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["assigned_to_id"]: row["n"] for row in rows}


def roster_build(
    *, rules: list[tuple[AssignmentRule, set[int]]], today: date | None = None, lock: bool = True
) -> Roster:
    """Seats for every active rep in a team some rule targets, and every rep a rule names."""
    team_ids = {rule.team_id for rule, _ in rules if rule.team_id}
    named = {rule.rep_id for rule, _ in rules if rule.rep_id}
    return roster_of(team_ids=team_ids, named=named, today=today, lock=lock)


def roster_of(*, team_ids: set[int], named: set[int], today: date | None = None, lock: bool = True) -> Roster:
    """Seats for the active reps of these teams and these named reps.

    The profiles are locked (PostgreSQL) so two batches assigning at once take turns, and
    neither pushes a rep past capacity. A preview reads them without `lock`: it writes
    nothing, and a GET holds no transaction to lock in.
    """
    today = today or timezone.localdate()
    profiles = RepProfile.objects.filter(Q(team_id__in=team_ids) | Q(user_id__in=named), user__is_active=True)
    if lock:
        profiles = profiles.select_for_update(of=("self",))
    profiles = list(profiles.order_by("pk"))
    loads = open_loads([p.user_id for p in profiles] + list(named))
    seats = {
        p.user_id: Seat(
            p.user_id, p.team_id, p.capacity - loads.get(p.user_id, 0), p.is_away(today), p.last_assigned_at
        )
        for p in profiles
    }
    # A rep named by a rule without a profile has the default capacity and is never away.
    active = set(
        get_user_model().objects.filter(pk__in=named - set(seats), is_active=True).values_list("pk", flat=True)
    )
    for rep_id in active:
        seats[rep_id] = Seat(rep_id, None, DEFAULT_CAPACITY - loads.get(rep_id, 0), False, None)
    return Roster(seats)


@dataclass(frozen=True)
class Placement:
    lead_id: int
    team_id: int | None
    rep_id: int | None
    rule_id: int | None


def place(
    lead: dict[str, Any], rules: list[tuple[AssignmentRule, set[int]]], roster: Roster, *, exclude: int | None = None
) -> Placement:
    """Where one lead goes: the first matching rule that can take it, else the general pool."""
    for rule, persona_ids in rules:
        if not rule_matches(rule, lead, persona_ids):
            continue
        if rule.rep_id:
            if (rep := roster.take_rep(rule.rep_id, exclude=exclude)) is not None:
                return Placement(lead["id"], roster.team_of(rep), rep, rule.pk)
            continue  # the named rep is away or full: the next rule gets its chance
        rep = roster.take_from_team(rule.team_id, exclude=exclude)
        return Placement(lead["id"], rule.team_id, rep, rule.pk)
    return Placement(lead["id"], None, None, None)


def placements_for(leads: list[dict[str, Any]], *, exclude: dict[int, int] | None = None) -> list[Placement]:
    """Place a batch of leads (dicts of LEAD_COLUMNS); `exclude` maps lead → a rep to pass over."""
    rules = active_rules()
    roster = roster_build(rules=rules)
    exclude = exclude or {}
    placed = [place(lead, rules, roster, exclude=exclude.get(lead["id"])) for lead in leads]
    roster.save_turns()
    return placed


def placements_preview(leads: list[dict[str, Any]]) -> list[Placement]:
    """Where the rules would place these leads now, writing nothing: no locks, no turns saved
    (`placements_for` moves the round-robin on; a preview must leave it where it is)."""
    rules = active_rules()
    roster = roster_build(rules=rules, lock=False)
    return [place(lead, rules, roster) for lead in leads]


def reaches_handoff(stage: str, handoff_stage: str) -> bool:
    return stage in FUNNEL and FUNNEL.index(stage) >= FUNNEL.index(handoff_stage)


HANDOFF_READER = "sales.handoffs"
QUALIFIED = (Stage.MQL, Stage.SQL)


def handoffs_follow_history() -> int:
    """Hand to sales the leads qualification promoted since this reader last looked; returns
    how many promotions it read."""
    return stage_changes_follow(reader=HANDOFF_READER, handle=_hand_off_promoted)


def _hand_off_promoted(changes: list[StageChange]) -> None:
    promotions = [c for c in changes if c.source == ChangeSource.RULE and c.to_stage in QUALIFIED]
    # A promotion pass writes its moves with one time: hand them over together, at that time.
    for (stage, at), group in groupby(promotions, key=lambda change: (change.to_stage, change.changed_at)):
        leads_hand_off(lead_ids=[change.lead_id for change in group], stage=stage, now=at)


def leads_hand_off(*, lead_ids: Iterable[int], stage: str, now: datetime | None = None) -> int:
    """Hand the given leads to sales if `stage` is (past) the agreed handoff stage; returns how many.

    `now` is when the leads reached the stage: their speed-to-lead clock starts there. A lead
    that has moved on to a later qualified stage still goes; one a rep has moved elsewhere
    meanwhile does not. A lead with an open handoff keeps it (an MQL handed off and then
    promoted to SQL is not handed off twice); one whose earlier handoff closed (recycled and
    requalified) starts afresh.
    """
    agreement = Agreement.current()
    ids = sorted(set(lead_ids))
    if not ids or not reaches_handoff(stage, agreement.handoff_stage):
        return 0
    now = now or timezone.now()
    still_qualified = [later for later in QUALIFIED if reaches_handoff(later, stage)]
    with transaction.atomic():
        leads = list(
            Lead.objects.filter(pk__in=ids, stage__in=still_qualified)
            .exclude(handoff__status__in=OPEN_HANDOFF)
            .values(*LEAD_COLUMNS, **LEAD_SCORES)
            .order_by("-score", "id")
        )
        if not leads:
            return 0
        placements = placements_for(leads)
        handoffs_write(leads, placements, stage=stage, agreement=agreement, now=now)
    return len(leads)


def _why(lead_ids: list[int]) -> dict[int, list[str]]:
    """The rules that qualified each lead, over all its qualification moves, without repeats."""
    why: dict[int, list[str]] = defaultdict(list)
    rows = (
        StageChange.objects.filter(lead_id__in=lead_ids, source=ChangeSource.RULE)
        .order_by("lead_id", "changed_at", "id")
        .values_list("lead_id", "matched_rules")
    )
    for lead_id, rules in rows:
        why[lead_id] += [rule for rule in rules or [] if rule not in why[lead_id]]
    return why


def handoffs_write(
    leads: list[dict[str, Any]],
    placements: list[Placement],
    *,
    stage: str,
    agreement: Agreement,
    now: datetime,
    by: AbstractBaseUser | None = None,
    reason: str = "",
    note: str = "",
    why_more: tuple[str, ...] = (),
) -> None:
    """Write the handoffs, owners, log rows and notes for placed leads; `by`, `reason` and
    `note` say who handed them over by hand and why (the log says "Reached MQL" otherwise)."""
    ids = [lead["id"] for lead in leads]
    scores = {lead["id"]: lead["score"] for lead in leads}
    why = _why(ids)
    deadline = now + timedelta(hours=agreement.speed_to_lead_hours)
    reassign_at = deadline + timedelta(hours=agreement.reassign_after_hours)
    # Closed handoffs of these leads are replaced; the stage history keeps their story.
    Handoff.objects.filter(lead_id__in=ids).delete()
    Handoff.objects.bulk_create(
        [
            Handoff(
                lead_id=p.lead_id,
                stage=stage,
                status=HandoffStatus.ASSIGNED if p.rep_id else HandoffStatus.POOLED,
                team_id=p.team_id,
                assigned_to_id=p.rep_id,
                score=scores[p.lead_id],
                why=[*why.get(p.lead_id, []), *why_more],
                handed_off_at=now,
                deadline=deadline,
                due_at=deadline,
                reassign_at=reassign_at,
            )
            for p in placements
        ],
        batch_size=1_000,
    )
    owners_follow_handoffs(ids)
    AssignmentLog.objects.bulk_create(
        [
            AssignmentLog(
                lead_id=p.lead_id,
                action=AssignmentLog.Action.ASSIGNED if p.rep_id else AssignmentLog.Action.POOLED,
                team_id=p.team_id,
                to_rep_id=p.rep_id,
                rule_id=p.rule_id,
                by=by,
                reason=reason or f"Reached {stage.upper()}",
                note=note,
                at=now,
            )
            for p in placements
        ],
        batch_size=1_000,
    )
    notify(notes=_assigned_notes(leads, placements, deadline))


def owners_follow_handoffs(lead_ids: list[int]) -> None:
    """The lead's owner is the rep holding its handoff; pooled leads have none. One UPDATE."""
    holder = Handoff.objects.filter(lead_id=OuterRef("pk")).values("assigned_to_id")[:1]
    Lead.objects.filter(pk__in=lead_ids).update(owner_id=Subquery(holder), updated_at=timezone.now())


def _assigned_notes(leads: list[dict[str, Any]], placements: list[Placement], deadline: datetime) -> list[Note]:
    due = timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")
    return [
        Note(p.rep_id, f"New lead assigned to you; first touch due by {due}.", lead_url(p.lead_id))
        for p in placements
        if p.rep_id
    ]


def handoffs_reassign(
    *,
    handoffs: list[Handoff],
    agreement: Agreement,
    reason: str,
    by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> list[Placement]:
    """Run the rules again for these open handoffs, passing over each one's current rep.

    The new holder (or pool) gets a fresh clock; the agreement's deadline stays, so the
    lead still counts as not touched in time. Must run inside the caller's transaction,
    with the handoff rows locked.
    """
    now = now or timezone.now()
    by_lead = {h.lead_id: h for h in handoffs}
    leads = list(
        Lead.objects.filter(pk__in=list(by_lead)).values(*LEAD_COLUMNS, **LEAD_SCORES).order_by("-score", "id")
    )
    exclude = {h.lead_id: h.assigned_to_id for h in handoffs if h.assigned_to_id}
    placements = placements_for(leads, exclude=exclude)
    due_at = now + timedelta(hours=agreement.speed_to_lead_hours)
    reassign_at = due_at + timedelta(hours=agreement.reassign_after_hours)
    # One statement per table for the whole batch: the placements travel as a VALUES list.
    rows = [(p.lead_id, p.team_id, p.rep_id, by_lead[p.lead_id].assigned_to_id, p.rule_id) for p in placements]
    reassigned, params = sales_sql.reassigned(rows)
    at = sql.db_datetime(now)
    with connection.cursor() as cursor:
        statement = sales_sql.handoffs_reassign(reassigned)
        pools = {"pooled": HandoffStatus.POOLED, "assigned": HandoffStatus.ASSIGNED}
        clock = {"due_at": sql.db_datetime(due_at), "reassign_at": sql.db_datetime(reassign_at)}
        cursor.execute(*sql.bind(statement, **params, **pools, **clock, at=at))
        log = {"action": AssignmentLog.Action.REASSIGNED, "by": by.pk if by else None, "reason": reason[:200]}
        cursor.execute(*sql.bind(sales_sql.reassign_log(reassigned), **params, **log, at=at))
    owners_follow_handoffs(list(by_lead))
    _reassign_notify(reassigned, params, reason=reason, now=now)
    return placements


def _reassign_notify(reassigned: str, params: dict[str, Any], *, reason: str, now: datetime) -> None:
    """Tell the new rep and the rep who lost the lead, set-based."""
    texts = {
        "to_text": f"A lead was reassigned to you: {reason}"[:300],
        "from_text": f"A lead was taken from you: {reason}"[:300],
    }
    notify_select(
        with_=reassigned,
        select=sales_sql.reassign_notes(),
        params={**params, **texts, **lead_url_parts(), "at": sql.db_datetime(now)},
    )


def person(user: Any) -> str:
    return user.get_full_name() or user.get_username()
