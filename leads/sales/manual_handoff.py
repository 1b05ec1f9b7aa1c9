"""Handing leads to sales by hand: a marketer or manager hands over one lead from its page
(`lead_hand_off_by_hand`), or a selection given an owner (`leads_hand_off_by_hand`), to a rep
or team they name, or by the assignment rules. Recorded in the history as a manual handoff,
with the person and their note; what cannot be handed over says why (`hand_off_refusal`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leads.history import lead_change_stage
from leads.models import (
    OPEN_HANDOFF,
    Agreement,
    ChangeSource,
    Handoff,
    Lead,
    Stage,
    Team,
)
from leads.sales.assignment import (
    LEAD_COLUMNS,
    LEAD_SCORES,
    QUALIFIED,
    Placement,
    Roster,
    handoffs_write,
    person,
    placements_for,
    roster_of,
)
from leads.sales.services import SalesError
from smarketing.roles import Role, has_role

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
            handoffs_write(
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
