"""What each demo person does over the year: when they arrive, through which campaign, and the
touches that follow (forms, page views, newsletters, webinars, the price list, a trial).

Only the people's behaviour is planned here. What the product makes of it (scores, stages,
handoffs) is left to the product: the simulation feeds these touches through its services.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from leads.demo.clock import last_overdue_evening, when
from leads.demo.people import NEWSLETTER_SUBJECTS, PAGES, Pools, person_draw, pools_draw
from leads.demo.world import AGREEMENT, CAMPAIGNS, DIRECT_WEIGHT

COMPANIES = 800
GROWTH = 2.5  # the demo's last month brings this many times the first month's new people


@dataclass(frozen=True)
class Touch:
    """One thing a person does: an event the product receives, through a hosted form when `form` is set."""

    at: datetime
    type: str
    properties: dict[str, Any] = field(default_factory=dict)
    form: str = ""  # the key (in FORMS) of the hosted form it is submitted on


@dataclass
class Person:
    number: int
    fields: dict[str, Any]
    fit: int
    intent: float  # 0..1: how far this person means to go
    campaign: dict[str, Any] | None
    consent: bool
    touches: list[Touch] = field(default_factory=list)

    @property
    def email(self) -> str:
        return self.fields["email"]


def people_plan(*, count: int, seed: int, start: datetime, end: datetime) -> list[Person]:
    """`count` people arriving between start and end, each with the touches they make before end."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data, nothing secret
    pools = pools_draw(seed=seed, companies=COMPANIES)
    arrivals = sorted(_arrival(rng, start, end) for _ in range(count))
    emails: set[str] = set()
    people = []
    last_webinars = _last_webinars(end)
    for number, arrived in enumerate(arrivals, start=1):
        person = _person(rng, pools, number, arrived, emails)
        touches = _touches(rng, person, arrived)
        for (held, promoted), chance in zip(last_webinars, _sign_up_chances(person), strict=True):
            if held - promoted <= arrived < held and rng.random() < chance:
                touches += _last_webinar_touches(rng, person, arrived, held)
                break
        person.touches = sorted((t for t in touches if t.at < end), key=lambda t: t.at)
        people.append(person)
    return people


AMERICAS = {"US", "CA", "MX", "BR"}
APAC = {"AU", "IN"}  # no team covers Asia-Pacific yet: its leads wait in the general pool


def quiet_since(end: datetime) -> datetime:
    """Nobody has worked the queue since the last evening whose hand-offs are overdue when the
    demo ends: so a new user finds those overdue, and the ones handed off since due soon."""
    return last_overdue_evening(end, first_touch_within=timedelta(hours=AGREEMENT["speed_to_lead_hours"]))


def _last_webinars(end: datetime) -> list[tuple[datetime, timedelta]]:
    """The year's last two webinars, each promoted to the people who arrived in the weeks
    before: one on the day of the last hand-offs the reps have not got to (its attendees overdue
    in the queues), one the day before the demo ends, promoted in Asia-Pacific for a month (due
    soon in the queues, and the Asia-Pacific attendees in the pool)."""
    return [
        (when(timezone.localdate(quiet_since(end)), time(11)), timedelta(days=14)),
        (end - timedelta(hours=20), timedelta(days=30)),
    ]


def _sign_up_chances(person: Person) -> tuple[float, float]:
    """The first webinar is held at the Americas' hours, the second at Asia-Pacific's."""
    country = person.fields["country"]
    return 0.2 if country in AMERICAS else 0.05, 0.8 if country in APAC else 0.06


def _last_webinar_touches(rng: random.Random, person: Person, arrived: datetime, held: datetime) -> list[Touch]:
    webinar = next(spec for spec in CAMPAIGNS if spec.get("form") == "webinar-scoring")
    props = {"webinar": webinar["name"], **_utm(webinar)}
    registered = min(arrived + timedelta(hours=rng.uniform(0, 48)), held - timedelta(hours=1))
    touches = [Touch(registered, "webinar_registered", props)]
    if rng.random() < 0.7:
        touches.append(Touch(held + timedelta(minutes=rng.randrange(0, 45)), "webinar_attended", props))
    return touches


def _arrival(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end), more of them late in the year (marketing grows), in working hours."""
    span = (end - start).total_seconds()
    # Inverse of a linearly growing density from 1 to GROWTH: later days draw more people.
    u = rng.random()
    share = (math.sqrt(1 + (GROWTH**2 - 1) * u) - 1) / (GROWTH - 1)
    moment = start + timedelta(seconds=span * share)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = min(max(rng.gauss(13, 3.5), 6), 22)
    moment = day + timedelta(hours=hour)
    return min(max(moment, start), end - timedelta(minutes=1))


def _person(rng: random.Random, pools: Pools, number: int, arrived: datetime, emails: set[str]) -> Person:
    fields, fit = person_draw(rng=rng, pools=pools, emails=emails)
    intent = min(max(fit / 100 * 0.55 + rng.random() * 0.5, 0.0), 1.0)
    specs = [*CAMPAIGNS, None]
    campaign = rng.choices(specs, weights=[spec["weight"] for spec in CAMPAIGNS] + [DIRECT_WEIGHT])[0]
    return Person(number, fields, fit, intent, campaign, consent=rng.random() < 0.9)


def _utm(campaign: dict[str, Any] | None) -> dict[str, str]:
    if campaign is None:
        return {}
    source, medium, name = campaign["utm"]
    return {"utm_source": source, "utm_medium": medium, "utm_campaign": name}


def _after(rng: random.Random, moment: datetime, low_days: float, high_days: float) -> datetime:
    return moment + timedelta(days=rng.uniform(low_days, high_days))


def _touches(rng: random.Random, person: Person, arrived: datetime) -> list[Touch]:
    touches = [_first_touch(rng, person, arrived)]
    touches += _browsing(rng, person, arrived)
    touches += _newsletter(rng, person, arrived)
    touches += _webinar(rng, person, arrived)
    if not any(t.type == "webinar_registered" for t in touches):
        touches += _price_list_without_webinar(rng, person, arrived)
    return touches


def _first_touch(rng: random.Random, person: Person, arrived: datetime) -> Touch:
    """Arrival: a hosted form of the person's campaign, else a page view sent by the website."""
    campaign = person.campaign
    form = campaign.get("form", "") if campaign else ""
    if form in ("newsletter", "ebook-sla") and rng.random() < 0.6:
        form = ""  # the blog's own sign-up and download boxes post through the API
    if not form and rng.random() < 0.05:
        form = "contact"
    if form:
        return Touch(arrived, "form_submitted", _utm(campaign), form=form)
    if campaign and campaign.get("form") in ("newsletter", "ebook-sla"):
        return Touch(arrived, "form_submitted", {"form": f"blog-{campaign['form']}", **_utm(campaign)})
    return Touch(arrived, "page_viewed", {"path": rng.choice(PAGES), **_utm(campaign)})


def _browsing(rng: random.Random, person: Person, arrived: datetime) -> list[Touch]:
    views = min(int(rng.expovariate(1 / (1 + 4 * person.intent))), 12)
    return [Touch(_after(rng, arrived, 0.01, 120), "page_viewed", {"path": rng.choice(PAGES)}) for _ in range(views)]


def _newsletter(rng: random.Random, person: Person, arrived: datetime) -> list[Touch]:
    """Monthly issues opened (and some clicked) by those who gave consent and read them."""
    if not person.consent or rng.random() < 0.35:
        return []
    newsletter = next(spec for spec in CAMPAIGNS if spec["channel"] == "email")
    touches = []
    issue = _after(rng, arrived, 2, 30)
    while len(touches) < 24:
        if rng.random() < 0.3 + 0.3 * person.intent:
            props = {"subject": rng.choice(NEWSLETTER_SUBJECTS), **_utm(newsletter)}
            opened = issue + timedelta(hours=rng.uniform(1, 72))
            touches.append(Touch(opened, "email_opened", props))
            if rng.random() < 0.25:
                touches.append(Touch(opened + timedelta(minutes=rng.uniform(1, 30)), "email_clicked", props))
        issue += timedelta(days=30)
        if issue.year > arrived.year + 1:
            break
    return touches


def _webinar(rng: random.Random, person: Person, arrived: datetime) -> list[Touch]:
    """The article's path: register for a webinar, attend it, then the price list and a trial."""
    campaign = person.campaign or {}
    came_for_it = campaign.get("channel") == "webinar"
    if not came_for_it and rng.random() > 0.02 + 0.12 * person.intent:
        return []
    webinar = campaign if came_for_it else rng.choice([spec for spec in CAMPAIGNS if spec["channel"] == "webinar"])
    registered = arrived if came_for_it else _after(rng, arrived, 2, 75)
    props = {"webinar": webinar["name"], **_utm(webinar)}
    touches = [Touch(registered, "webinar_registered", props)]
    if rng.random() > 0.35 + 0.35 * person.intent:
        return touches  # registered, never came
    attended = _after(rng, registered, 1, 14)
    touches.append(Touch(attended, "webinar_attended", props))
    if rng.random() > 0.15 + 0.6 * person.intent:
        return touches
    downloaded = _after(rng, attended, 0.5, 30)
    touches.append(Touch(downloaded, "pricing_downloaded", {"asset": "price-list.pdf"}))
    if rng.random() < 0.2 + 0.6 * person.intent:
        plan = rng.choice(["team", "business"])
        touches.append(Touch(_after(rng, downloaded, 0.2, 10), "trial_started", {"plan": plan}))
    return touches


def _price_list_without_webinar(rng: random.Random, person: Person, arrived: datetime) -> list[Touch]:
    if rng.random() > 0.05 * person.intent:
        return []
    downloaded = _after(rng, arrived, 1, 60)
    touches = [Touch(downloaded, "pricing_downloaded", {"asset": "price-list.pdf"})]
    if rng.random() < 0.35 * person.intent:
        touches.append(Touch(_after(rng, downloaded, 0.5, 14), "trial_started", {"plan": "team"}))
    return touches
