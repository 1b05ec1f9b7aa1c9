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
5. A person may also hand leads over by hand (`lead_hand_off_by_hand`, and a selection given
   an owner through `leads_hand_off_by_hand`): to a rep or team they name, or by the rules.

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

from leads.history import lead_change_stage, stage_changes_follow
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
    Team,
)
from leads.models.sales import DEFAULT_CAPACITY
from leads.sales import sql as sales_sql
from leads.sales.notifications import Note, lead_url, lead_url_parts, notify, notify_select
from leads.sales.services import SalesError
from smarketing.lib import sql
from smarketing.roles import Role, has_role

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
        _handoffs_write(leads, placements, stage=stage, agreement=agreement, now=now)
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


def _handoffs_write(
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


# --- By hand: a person hands leads to sales -------------------------------------------------

MANUAL_REASON = "Handed to sales by hand"


MAX_NOTE = 2_000


# A person may hand over a lead that has not qualified: it moves to MQL first (forward, and
# recorded as that person's decision). From opportunity on, sales has had the lead already.
BELOW_MQL = (Stage.SUBSCRIBER, Stage.LEAD, Stage.RECYCLED)


NOT_HANDED: dict[str, str] = {
    Stage.OPPORTUNITY: "It is an opportunity already: sales accepted it and works its deal.",
    Stage.CUSTOMER: "It is a customer: sales has closed it.",
    Stage.EVANGELIST: "It is an evangelist: sales has closed it.",
    Stage.DISQUALIFIED: "It was disqualified; marketing requalifies it before sales sees it again.",
}


ALREADY_WITH_SALES = "Already with sales (in a rep's queue or a pool): its owner is whoever holds it there."


NOT_QUALIFIED = "Not qualified yet (below MQL): hand it over from its page, which moves it to MQL."


def person(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def may_hand_off(user: Any) -> bool:
    """Marketing hands leads over (it qualifies them), and a manager may; reps claim instead."""
    return has_role(user, Role.MARKETING, Role.MANAGER)


@dataclass
class ByHand:
    """What a manual handoff did: the leads handed over and, for the rest, why not (reason → ids)."""

    handed: list[int] = field(default_factory=list)
    refused: dict[str, list[int]] = field(default_factory=dict)

    def refuse(self, reason: str, lead_ids: Iterable[int]) -> None:
        if ids := list(lead_ids):
            self.refused.setdefault(reason, []).extend(ids)


def lead_hand_off_by_hand(
    *,
    lead: Lead,
    by: AbstractBaseUser,
    note: str = "",
    rep: AbstractBaseUser | None = None,
    team: Team | None = None,
) -> Handoff:
    """A marketer or manager hands one lead to sales with a note: to the rep or team they name,
    or where the assignment rules place it.

    1. Refused when the lead is already with sales, past the point where sales takes it
       (opportunity, customer, evangelist) or disqualified.
    2. A lead below MQL moves to MQL first: a stage change by this person with the note and
       the reason "Handed to sales by hand" (forward only, so qualification never undoes it).
    3. Then the handoff, written as `leads_hand_off` writes it, its clock starting now; the log
       row names the person and keeps the note. A lead already MQL or SQL gets no stage change
       (a second "entered MQL" would count it twice in the agreement): its log row is the record.
    Raises SalesError, with nothing written, when the lead or the named rep cannot take it.
    """
    _hander_checked(by)
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if refusal := hand_off_refusal(locked):
            raise SalesError(refusal, status=409)
        if locked.stage in BELOW_MQL:
            lead_change_stage(
                lead=locked, to_stage=Stage.MQL, by=by, source=ChangeSource.USER, reason=MANUAL_REASON, note=note
            )
        outcome = leads_hand_off_by_hand(lead_ids=[locked.pk], by=by, note=note, rep=rep, team=team)
        if outcome.refused:  # the named rep is away or full: the stage change rolls back too
            raise SalesError(next(iter(outcome.refused)), field="rep", status=409)
    return Handoff.objects.select_related("team", "assigned_to").get(lead_id=lead.pk)


def hand_off_refusal(lead: Lead) -> str:
    """Why this lead cannot be handed over by hand now; empty when it can."""
    if lead.stage in NOT_HANDED:
        return NOT_HANDED[lead.stage]
    handoff = (
        Handoff.objects.filter(lead_id=lead.pk, status__in=OPEN_HANDOFF).select_related("assigned_to", "team").first()
    )
    if handoff is None:
        return ""
    if handoff.assigned_to_id:
        return f"Already with sales: {person(handoff.assigned_to)} holds it."
    return f"Already with sales: it waits in {f'{handoff.team}’s pool' if handoff.team_id else 'the general pool'}."


def leads_hand_off_by_hand(
    *,
    lead_ids: Iterable[int],
    by: AbstractBaseUser | None,
    note: str = "",
    rep: AbstractBaseUser | None = None,
    team: Team | None = None,
) -> ByHand:
    """Hand these MQLs and SQLs to sales because a person says so; say why for the rest.

    Set-based, a few statements whatever the number of leads (the owner change hands over a
    whole selection through it):
    1. The person must be marketing or a manager, a named rep an active sales rep, and the
       target a rep or a team, not both (SalesError).
    2. Leads already with sales, or not MQL or SQL, are refused with the reason.
    3. The rest go to the named rep while they have room and are not away (best score first);
       round-robin inside the named team, its pool when nobody there is free; or where the
       assignment rules place them.
    4. Written as `leads_hand_off` writes them, the clock starting now, the log naming the person.
    """
    _hander_checked(by)
    _target_checked(rep, team)
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise SalesError(f"Keep the note under {MAX_NOTE:,} characters.", field="note")
    outcome = ByHand()
    ids = sorted(set(lead_ids))
    with transaction.atomic():
        list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        rows = Lead.objects.filter(pk__in=ids).values(*LEAD_COLUMNS, "stage", held=F("handoff__status"), **LEAD_SCORES)
        leads = _eligible_by_hand(list(rows.order_by("-score", "id")), outcome)
        placements = _placed_by_hand(leads, rep=rep, team=team, outcome=outcome)
        _by_hand_write(leads, placements, by=by, note=note)
    outcome.handed = [p.lead_id for p in placements]
    return outcome


def _hander_checked(by: Any) -> None:
    if by is None or not may_hand_off(by):
        raise SalesError(
            "Only marketing or a manager hands a lead to sales by hand; reps claim leads from their queue.",
            status=403,
        )


def _target_checked(rep: Any, team: Team | None) -> None:
    if rep is not None and team is not None:
        raise SalesError("Name a rep or a team, not both (or neither, and the rules place the lead).", field="team")
    if rep is not None and not (rep.is_active and has_role(rep, Role.SALES)):
        raise SalesError(f"{person(rep)} is not an active sales rep: choose someone from Sales.", field="rep")


def _eligible_by_hand(rows: list[dict[str, Any]], outcome: ByHand) -> list[dict[str, Any]]:
    eligible = []
    for row in rows:
        if row.pop("held") in OPEN_HANDOFF:
            outcome.refuse(ALREADY_WITH_SALES, [row["id"]])
        elif row["stage"] not in QUALIFIED:
            outcome.refuse(NOT_HANDED.get(row["stage"], NOT_QUALIFIED), [row["id"]])
        else:
            eligible.append(row)
    return eligible


def _placed_by_hand(leads: list[dict[str, Any]], *, rep: Any, team: Team | None, outcome: ByHand) -> list[Placement]:
    if not leads:
        return []
    if rep is None and team is None:
        return placements_for(leads)
    roster = roster_of(team_ids={team.pk} if team else set(), named={rep.pk} if rep else set())
    if team is not None:
        placed = [Placement(lead["id"], team.pk, roster.take_from_team(team.pk), None) for lead in leads]
    else:
        placed = _placed_with_rep(leads, rep, roster, outcome)
    roster.save_turns()
    return placed


def _placed_with_rep(leads: list[dict[str, Any]], rep: Any, roster: Roster, outcome: ByHand) -> list[Placement]:
    """As many as the rep has room for, best first; a rep who is away takes none."""
    seat = roster.seats[rep.pk]
    if seat.away:
        outcome.refuse(
            f"{person(rep)} is away today: name another rep or a team, or let the rules place it.",
            [lead["id"] for lead in leads],
        )
        return []
    room = max(seat.room, 0)
    outcome.refuse(
        f"{person(rep)} already holds as many open leads as their capacity allows: name another rep or a team.",
        [lead["id"] for lead in leads[room:]],
    )
    return [Placement(lead["id"], seat.team_id, roster.take_rep(rep.pk), None) for lead in leads[:room]]


def _by_hand_write(leads: list[dict[str, Any]], placements: list[Placement], *, by: Any, note: str) -> None:
    """The handoffs, as `leads_hand_off` writes them: one write per stage (MQLs, then SQLs)."""
    placed = {p.lead_id: p for p in placements}
    said = f"handed over by hand by {person(by)}" + (f": {note}" if note else "")
    agreement, now = Agreement.current(), timezone.now()
    for stage in QUALIFIED:
        group = [lead for lead in leads if lead["stage"] == stage and lead["id"] in placed]
        if group:
            _handoffs_write(
                group,
                [placed[lead["id"]] for lead in group],
                stage=stage,
                agreement=agreement,
                now=now,
                by=by,
                reason=MANUAL_REASON,
                note=note,
                why_more=(said[:300],),
            )
