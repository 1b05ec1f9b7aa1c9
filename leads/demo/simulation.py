"""A year of the demo company's work, run through the product's own services in time order.

Each weekday, with the clock at each moment, the reps work their queue at midday and at the
close of business: they claim from the pools, make their calls at the times they planned,
decide (accept, reject, recycle) and move their deals to won or lost. In the evening the day's
captures come in: hosted forms are submitted as the public endpoint takes them, each at its own
moment, and the rest arrives as one batch of events through the events API's service (stored,
scored, qualified); the handoff reader then hands the promoted leads to sales, as the worker
would. At night the beat jobs run: the speed-to-lead clock, recycled leads' return, and on the
last night the score decay for the whole year (decay multiplies, so one run equals a run each
night). Campaign costs are entered as they are incurred; two thirds into the year a second
definition is drafted, signed by both sides and activated.

The year ends where a new user finds the queues mid-flow, whatever the day and hour: nobody has
worked them since the last evening whose hand-offs are past their first-touch deadline by now
(leads.demo.journeys.quiet_since). That day's webinar brought the Americas' attendees: overdue
in the reps' queues; yesterday's, promoted in Asia-Pacific, brought leads due soon and, where no
team covers the region, leads waiting in the pool.
"""

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from leads.capture.campaigns import campaign_cost_add
from leads.capture.ingest import EventIn, events_ingest
from leads.capture.serializers import CaptureSubmissionIn
from leads.capture.services import capture_submit
from leads.demo import world as demo_world
from leads.demo.clock import CLOSE_OF_BUSINESS, EVENING, MIDDAY, at, when
from leads.demo.journeys import Person, Touch, quiet_since
from leads.models import Deal, DealStage, Handoff, HandoffStatus, Lead, Notification, RepProfile
from leads.sales import assignment, deals, speed_to_lead, worklog
from leads.sales.notifications import notifications_mark_read
from leads.sales.queue import lead_claim_next
from leads.sales.services import SalesError
from leads.sales.teams import rep_profile_update
from leads.scoring import services as scoring
from smarketing.lib import sql

SLOW_REP = "rep4"  # calls back later than the others: some of their leads miss the deadline
CLAIMS_PER_SESSION = 2
CLAIM_HEADROOM = 4  # a rep claims from the pool only while their queue has room for new hand-offs too
V2_AFTER_DAYS = 240
REJECT = ["no_budget", "no_need", "no_authority", "wrong_contact"]
RECYCLE = ["not_ready", "timing", "no_response", "needs_nurture"]
# How long a deal stays in a stage before its next step: a demo waits for the buyer's
# calendar, terms take longest to agree.
DWELL_DAYS = {"Discovery": (3, 12), "Demo": (7, 21), "Proposal": (3, 12), "Negotiation": (10, 30)}
# The stages a deal moves through after discovery: a won deal always negotiates its terms.
PATHS = [("Demo",), ("Demo", "Proposal"), ("Demo", "Proposal", "Negotiation"), ("Proposal", "Negotiation")]
WON_PATHS = [("Demo", "Proposal", "Negotiation"), ("Proposal", "Negotiation")]
LOST = ["price", "competitor", "no_decision", "timing", "no_budget", "product_fit", "went_dark"]
# Captures (form posts and events) before the tables' statistics are first refreshed, then
# refreshed each time they double: plans made on near-empty tables scan them whole.
ANALYZE_FIRST = 64


@dataclass
class Work:
    """What a rep will do about one lead they hold, and when."""

    handoff_id: int
    lead_id: int
    touch_at: datetime
    decide_at: datetime | None = None


@dataclass
class DealPlan:
    deal_id: int
    steps: list[tuple[datetime, str, Any]]  # (when, "stage" | "won" | "lost", stage name or reason)


class Extension(Protocol):
    """What an app built on leads/ adds to the demo (settings.DEMO_EXTENSIONS; playbooks' nurture
    and email, for one): it set itself up when built, and each evening runs what its worker
    and beat would; a person's touch it answers for (an email they open) is not sent as an event."""

    def touch(self, email: str, touch: Touch) -> bool: ...

    def evening(self, moment: datetime) -> None: ...


class Year:
    def __init__(
        self,
        *,
        world: demo_world.World,
        people: list[Person],
        seed: int,
        start: datetime,
        end: datetime,
        extensions: Sequence[Extension] = (),
    ):
        self.world, self.start, self.end, self.extensions = world, start, end, extensions
        self.rng = random.Random(seed + 7)  # noqa: S311 -- reproducible demo data, nothing secret
        self.timeline = sorted(((t.at, p.number, p, t) for p in people for t in p.touches), key=lambda x: x[:2])
        self.by_email = {person.email: person for person in people}
        self.lead_person: dict[int, Person] = {}
        self.work: dict[int, Work] = {}  # by handoff
        self.held: Counter[int] = Counter()  # open leads per rep, as of the reps' last sitting
        self.users_by_id = {user.pk: user for user in world.users.values()}
        self.deals: list[DealPlan] = []
        self.stages = {stage.name: stage for stage in DealStage.objects.all()}
        self.costs = _costs_planned(self.rng, start.date(), end.date())
        self.quiet_since = quiet_since(end)
        self.counts = {"forms": 0, "events": 0, "claims": 0, "calls": 0, "decisions": 0, "deals": 0}

    # --- The year -----------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        cursor = 0
        day = self.start.date()
        analyze_at = ANALYZE_FIRST
        while day <= self.end.date():
            with transaction.atomic():  # a week's work, committed as one (a commit per day cost ~1 s)
                for _ in range(7):
                    if day <= self.end.date():
                        cursor = self._day(day, cursor)
                    day += timedelta(days=1)
            # The tables grow from empty: their statistics are kept up with them (PostgreSQL), as
            # autovacuum cannot inside one long transaction (a test's) or may not be on at all.
            captured = self.counts["forms"] + self.counts["events"]
            if captured >= analyze_at:
                sql.tables_analyze()
                analyze_at = captured * 2
        with transaction.atomic():
            self._monday_morning()
        sql.tables_analyze()  # the foreign-key checks at commit, and the first pages, plan on the full tables
        return self.counts

    def _monday_morning(self) -> None:
        """Where people left things: reps read their older notifications, and one rep has
        booked time away next week (the team page shows it; assignment passes over them)."""
        with at(self.end):
            for rep in self.world.reps:
                older = Notification.objects.filter(user=rep, created_at__lt=self.end - timedelta(days=3))
                notifications_mark_read(user=rep, ids=list(older.values_list("pk", flat=True)))
            away = self.end.date() + timedelta(days=7 - self.end.weekday())
            rep_profile_update(
                rep=self.world.users["rep3"],
                by=self.world.users["manager"],
                capacity=demo_world.REP_CAPACITIES.get("rep3", demo_world.REP_CAPACITY),
                away_from=away,
                away_until=away + timedelta(days=4),
            )

    def _day(self, day: date, cursor: int) -> int:
        self._spend(day)
        if day == self.start.date() + timedelta(days=V2_AFTER_DAYS):
            self._second_definition(day)
        if day.weekday() < 5:  # reps work on weekdays; captures and beat every day
            self._reps_work(min(when(day, MIDDAY), self.end))
            self._reps_work(min(when(day, CLOSE_OF_BUSINESS), self.end))
        evening = min(when(day, EVENING), self.end)
        cursor = self._capture_until(cursor, evening)
        self._hand_off(evening)
        for extension in self.extensions:
            extension.evening(evening)
        self._night(evening)
        return cursor

    # --- Marketing: costs, the second definition ----------------------------------------

    def _spend(self, day: date) -> None:
        for campaign, amount, note in self.costs.get(day, []):
            with at(when(day, time(9))):
                campaign_cost_add(
                    campaign=self.world.campaigns[campaign],
                    by=self.world.users["marketer"],
                    incurred_on=day,
                    amount=amount,
                    note=note,
                )

    def _second_definition(self, day: date) -> None:
        with at(when(day, time(11))):
            job = demo_world.definition_through_sign_off(
                self.world,
                mql=demo_world.V2_MQL,
                sql=demo_world.V2_SQL,
                name="Also good fits who read the price list",
                notes="Sales asked for good-fit leads who download the price list without a webinar.",
            )
            self.world.jobs.append(job)
            demo_world.jobs_run(self.world)

    # --- Capture --------------------------------------------------------------------------

    def _capture_until(self, cursor: int, moment: datetime) -> int:
        batch: list[tuple[Person, Touch]] = []
        while cursor < len(self.timeline) and self.timeline[cursor][0] < moment:
            _, _, person, touch = self.timeline[cursor]
            cursor += 1
            if touch.form:
                self._form_post(person, touch)
            elif not any(extension.touch(person.email, touch) for extension in self.extensions):
                batch.append((person, touch))
        if batch:
            self._events_post(batch, until=moment)
        return cursor

    def _form_post(self, person: Person, touch: Touch) -> None:
        form = self.world.forms[touch.form]
        payload = {**person.fields, **touch.properties, "consent": person.consent}
        submission = CaptureSubmissionIn(data=payload, context={"form": form})
        submission.is_valid(raise_exception=True)  # as the public endpoint checks it
        with at(touch.at):
            capture_submit(form=form, data=submission.validated_data)
        self.counts["forms"] += 1

    def _events_post(self, batch: list[tuple[Person, Touch]], *, until: datetime) -> None:
        events = [
            EventIn(
                email=person.email,
                type=touch.type,
                occurred_at=touch.at,
                idempotency_key=f"demo-{person.number}-{touch.at.timestamp():.0f}-{touch.type}",
                properties=touch.properties,
                lead=person.fields if touch is person.touches[0] else {},
            )
            for person, touch in batch
        ]
        last = max(touch.at for _, touch in batch)
        # The day's batch is sent after close of business, or now when the demo ends sooner.
        sent_at = min(max(last, when(timezone.localdate(last), CLOSE_OF_BUSINESS)) + timedelta(seconds=1), until)
        with at(sent_at):
            events_ingest(events=events)
        self.counts["events"] += len(events)

    # --- Sales --------------------------------------------------------------------------

    def _hand_off(self, moment: datetime) -> None:
        with at(moment):
            promotions = assignment.handoffs_follow_history()
        if promotions:
            self._plan_new_work(moment)

    def _plan_new_work(self, moment: datetime) -> None:
        """Held leads nobody has planned a call for yet: the holder will call within the hour,
        or at the next morning's start when it came in after hours."""
        fresh = Handoff.objects.filter(status=HandoffStatus.ASSIGNED, first_touch_at__isnull=True)
        for handoff_id, lead_id, since, rep_id in fresh.values_list("pk", "lead_id", "handed_off_at", "assigned_to_id"):
            if handoff_id not in self.work:
                start = max(since, moment - timedelta(hours=3))
                self.work[handoff_id] = Work(handoff_id, lead_id, _working(start + self._call_delay(rep_id)))

    def _call_delay(self, rep_id: int | None = None) -> timedelta:
        slow = rep_id == self.world.users[SLOW_REP].pk
        minutes = self.rng.lognormvariate(7.0 if slow else 4.0, 0.9)  # medians: 18 hours, 55 minutes
        return timedelta(minutes=min(minutes, 60 * 24 * 4))

    def _reps_work(self, moment: datetime) -> None:
        if moment > self.quiet_since:
            return
        if timezone.localtime(moment).time() == MIDDAY:
            self._claims(moment)
        due = sorted((w for w in self.work.values() if (w.decide_at or w.touch_at) <= moment), key=lambda w: w.touch_at)
        if due:
            self._sitting(due)
        self._deal_steps(moment)

    def _sitting(self, due: list[Work]) -> None:
        """The reps go through the leads due: what they hold is read once, as their queues show it."""
        handoffs = Handoff.objects.select_related("lead").in_bulk([work.handoff_id for work in due])
        held = Handoff.objects.filter(status=HandoffStatus.ASSIGNED).values_list("assigned_to_id", flat=True)
        self.held = Counter(held)
        for work in due:
            handoff = handoffs.get(work.handoff_id)
            if handoff is None or handoff.status != HandoffStatus.ASSIGNED:
                self.work.pop(work.handoff_id)  # reassigned to the pool, or decided: not this rep's any more
            elif work.decide_at is None:
                self._call(work, handoff)
            else:
                self._decide(work, handoff)

    def _claims(self, moment: datetime) -> None:
        """Reps with room claim from the pools (a nearly full rep does not try: the page would refuse),
        and a rep whose pools hold nothing does not try either, as their pool page shows it empty
        (the team's pool and the general one: a lead waits where no team covers its region)."""
        pooled = dict(Handoff.objects.filter(status=HandoffStatus.POOLED).values_list("pk", "team_id"))
        if not pooled:
            return
        held = Counter(Handoff.objects.filter(status=HandoffStatus.ASSIGNED).values_list("assigned_to_id", flat=True))
        teams = dict(RepProfile.objects.filter(user__in=self.world.reps).values_list("user_id", "team_id"))
        with at(moment):
            for rep in sorted(self.world.reps, key=lambda rep: held[rep.pk]):  # who has the most room is first
                capacity = demo_world.REP_CAPACITIES.get(rep.username, demo_world.REP_CAPACITY)
                waiting = sum(1 for team_id in pooled.values() if team_id is None or team_id == teams.get(rep.pk))
                room = min(CLAIMS_PER_SESSION, capacity - CLAIM_HEADROOM - held[rep.pk], waiting)
                for _ in range(room):
                    try:
                        handoff = lead_claim_next(rep=rep)
                    except SalesError:  # holding their capacity
                        break
                    if handoff is None:
                        break
                    self.counts["claims"] += 1
                    pooled.pop(handoff.pk, None)
                    self.work[handoff.pk] = Work(
                        handoff.pk, handoff.lead_id, moment + timedelta(minutes=self.rng.randrange(5, 50))
                    )

    def _call(self, work: Work, handoff: Handoff) -> None:
        rep = self.users_by_id[handoff.assigned_to_id]
        if handoff.reassigned_at and handoff.reassigned_at > work.touch_at:  # a new holder calls later
            work.touch_at = _working(handoff.reassigned_at + self._call_delay(handoff.assigned_to_id))
            return
        if handoff.first_touch_at is None:
            outcome = self.rng.choice(
                ["Connected: booked a discovery call", "Left a voicemail", "Connected: sent material"]
            )
            data = worklog.ActivityIn(kind="call", outcome=outcome, occurred_at=work.touch_at)
            with at(work.touch_at):
                worklog.activity_log(lead=handoff.lead, by=rep, data=data)
            self.counts["calls"] += 1
        work.decide_at = _working(work.touch_at + self._decide_delay(rep))

    def _decide_delay(self, rep: User) -> timedelta:
        """A rep near their capacity decides sooner, so the queue keeps room for new hand-offs."""
        capacity = demo_world.REP_CAPACITIES.get(rep.username, demo_world.REP_CAPACITY)
        load = min(self.held[rep.pk] / capacity, 1.0)
        return timedelta(days=self.rng.uniform(4, 16) * (1.0 - 0.8 * load))

    def _decide(self, work: Work, handoff: Handoff) -> None:
        self.work.pop(work.handoff_id)
        lead, rep, person = handoff.lead, self.users_by_id[handoff.assigned_to_id], self._person(handoff.lead)
        self.held[rep.pk] -= 1
        chance = 0.1 + 0.4 * person.fit / 100 + 0.2 * person.intent
        with at(work.decide_at):
            if self.rng.random() < chance:
                deal = worklog.lead_accept(lead=lead, by=rep, note="Discovery call held")
                self._deal_planned(deal, person, rep, work.decide_at)
            elif person.fit < 40 or self.rng.random() < 0.4:
                reason = "bad_fit" if person.fit < 40 else self.rng.choice(REJECT)
                worklog.lead_reject(lead=lead, by=rep, reason=reason)
            else:
                revisit = work.decide_at.date() + timedelta(days=self.rng.randrange(30, 120))
                worklog.lead_recycle(lead=lead, by=rep, reason=self.rng.choice(RECYCLE), revisit_on=revisit)
        self.counts["decisions"] += 1

    def _person(self, lead: Lead) -> Person:
        if lead.pk not in self.lead_person:
            self.lead_person[lead.pk] = self.by_email[lead.email]
        return self.lead_person[lead.pk]

    def _deal_planned(self, deal: Deal, person: Person, rep: User, moment: datetime) -> None:
        size = person.fields["company_size"] or 10
        amount = Decimal(round(self.rng.uniform(2_000, 9_000) * (1 + min(size, 5_000) / 800), -2))
        close_on = (moment + timedelta(days=self.rng.randrange(30, 90))).date()
        deals.deal_update(deal=deal, by=rep, changes={"amount": amount, "expected_close_on": close_on})
        steps, when, stage = [], moment, "Discovery"
        won = self.rng.random() < 0.1 + 0.35 * person.fit / 100 + 0.15 * person.intent
        for next_stage in self.rng.choice(WON_PATHS if won else PATHS):
            when = _working(when + timedelta(days=self.rng.uniform(*DWELL_DAYS[stage])))
            if not won and self.rng.random() < 0.3:
                break
            steps.append((when, "stage", next_stage))
            stage = next_stage
        when = _working(when + timedelta(days=self.rng.uniform(*DWELL_DAYS[stage])))
        steps.append((when, "won", None) if won else (when, "lost", self.rng.choice(LOST)))
        self.deals.append(DealPlan(deal.pk, steps))
        self.counts["deals"] += 1

    def _deal_steps(self, moment: datetime) -> None:
        due = [plan for plan in self.deals if plan.steps[0][0] <= moment]
        deals_due = Deal.objects.select_related("owner").in_bulk([plan.deal_id for plan in due])
        for plan in due:
            deal = deals_due[plan.deal_id]
            while plan.steps and plan.steps[0][0] <= moment:
                when, action, value = plan.steps.pop(0)
                with at(when):
                    if action == "stage":
                        deals.deal_update(deal=deal, by=deal.owner, changes={"stage": self.stages[value]})
                    elif action == "won":
                        deals.deal_win(deal=deal, by=deal.owner)
                    else:
                        deals.deal_lose(deal=deal, by=deal.owner, reason=value)
        self.deals = [plan for plan in self.deals if plan.steps]

    # --- Beat -----------------------------------------------------------------------------

    def _night(self, moment: datetime) -> None:
        with at(moment):
            checked = speed_to_lead.sla_check(now=moment)
            returned = worklog.leads_revisit_due(today=timezone.localdate(moment))
            if moment >= self.end - timedelta(days=1):
                # Decay multiplies: one run over the whole year gives what a run each night would.
                scoring.scores_decay_nightly()
        if returned:  # requalified, some go back to sales
            self._hand_off(moment)
        if checked.get("reassigned"):
            self._plan_new_work(moment)


def _working(moment: datetime) -> datetime:
    """The moment, or the next working morning when it falls after hours or on a weekend."""
    local = timezone.localtime(moment)
    if local.weekday() < 5 and 8 <= local.hour < 19:
        return moment
    day = local.date() + timedelta(days=1 if local.hour >= 19 else 0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return when(day, time(8, 30)) + timedelta(minutes=(moment.minute * 7) % 50)


def _costs_planned(rng: random.Random, first: date, last: date) -> dict[date, list[tuple[str, Decimal, str]]]:
    """Each campaign's spending over the year: ad spend weekly, invoices monthly, one-offs once."""
    planned: dict[date, list[tuple[str, Decimal, str]]] = {}
    days = (last - first).days
    for spec in demo_world.CAMPAIGNS:
        every, low, high = spec["cost"]
        step = {"weekly": 7, "monthly": 30, "once": None}[every]
        offsets = [rng.randrange(20, days - 20)] if step is None else range(rng.randrange(0, step), days, step)
        note = {"weekly": "Ad spend", "monthly": "Monthly invoice", "once": "Production and sponsorship"}[every]
        for offset in offsets:
            amount = Decimal(rng.randrange(low * 100, high * 100)) / 100
            planned.setdefault(first + timedelta(days=offset), []).append((spec["name"], amount, note))
    return planned


def year_run(
    *,
    world: demo_world.World,
    people: list[Person],
    seed: int,
    start: datetime,
    end: datetime,
    extensions: Sequence[Extension] = (),
) -> dict[str, int]:
    return Year(world=world, people=people, seed=seed, start=start, end=end, extensions=extensions).run()
