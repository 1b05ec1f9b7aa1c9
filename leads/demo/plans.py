"""The demo's plans: who the demo's people are (names, companies, titles, countries), which
stage each reaches, and the journey of touches that gets them there, drawn from a seeded
random generator so a seed always gives the same demo.
"""

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from faker import Faker

from leads.demo.scoring import PERSONAS
from leads.models import (
    Campaign,
    ChangeSource,
    Channel,
    Lead,
    Persona,
    Stage,
)
from leads.scoring.services import persona_fit

DEMO_DAYS = 182  # the "last six months" everything happens in


BATCH = 1_000


# People behind the demo logins; any other username gets a Faker name.
USER_NAMES = {
    "marketer": ("Maya", "Lindqvist"),
    "rep": ("Diego", "Alvarez"),
    "manager": ("Priya", "Raman"),
    "rep2": ("Samuel", "Okafor"),
    "rep3": ("Hannah", "Becker"),
    "rep4": ("Tom", "Whitfield"),
}


# name, channel, utm source / medium / campaign, weight as a first touch, cost pattern
# (how often money is spent on it, and the range of one cost row).
CAMPAIGNS: list[dict[str, Any]] = [
    {
        "name": "Google Ads: lead scoring keywords",
        "channel": Channel.PAID_SEARCH,
        "utm": ("google", "cpc", "gads-lead-scoring"),
        "weight": 16,
        "cost": ("weekly", 900, 2_200),
    },
    {
        "name": "LinkedIn Ads: revenue leaders",
        "channel": Channel.PAID_SOCIAL,
        "utm": ("linkedin", "paid-social", "li-revenue-leaders"),
        "weight": 13,
        "cost": ("weekly", 700, 1_800),
    },
    {
        "name": "Blog and organic search",
        "channel": Channel.SEO,
        "utm": ("google", "organic", "seo-blog"),
        "weight": 18,
        "cost": ("monthly", 1_500, 2_500),
    },
    {
        "name": "Monthly newsletter",
        "channel": Channel.EMAIL,
        "utm": ("newsletter", "email", "newsletter-monthly"),
        "weight": 5,
        "cost": ("monthly", 300, 450),
    },
    {
        "name": "Webinar series: aligning sales and marketing",
        "channel": Channel.WEBINAR,
        "utm": ("webinar", "email", "webinar-smarketing"),
        "weight": 8,
        "cost": ("monthly", 600, 1_200),
    },
    {
        "name": "Webinar series: scoring that sales trusts",
        "channel": Channel.WEBINAR,
        "utm": ("webinar", "email", "webinar-scoring"),
        "weight": 6,
        "cost": ("monthly", 500, 1_000),
    },
    {
        "name": "Ebook: the sales and marketing SLA",
        "channel": Channel.CONTENT,
        "utm": ("content", "organic", "ebook-sla"),
        "weight": 10,
        "cost": ("once", 4_000, 6_000),
    },
    {
        "name": "RevOps Summit booth",
        "channel": Channel.EVENT,
        "utm": ("revops-summit", "event", "revops-summit"),
        "weight": 5,
        "cost": ("once", 12_000, 18_000),
    },
    {
        "name": "Customer referral programme",
        "channel": Channel.REFERRAL,
        "utm": ("referral", "referral", "customer-referral"),
        "weight": 4,
        "cost": ("monthly", 200, 900),
    },
    {
        "name": "Partner co-marketing: CRM partners",
        "channel": Channel.PARTNER,
        "utm": ("partner", "partner", "crm-partners"),
        "weight": 5,
        "cost": ("monthly", 1_000, 1_500),
    },
]


DIRECT_WEIGHT = 10  # leads that arrived with no campaign at all


# country, Faker locale (names sound like the country), weight
COUNTRIES = [
    ("US", "en_US", 34),
    ("GB", "en_GB", 12),
    ("DE", "de_DE", 10),
    ("FR", "fr_FR", 7),
    ("ES", "es_ES", 6),
    ("NL", "nl_NL", 5),
    ("SE", "sv_SE", 4),
    ("CA", "en_CA", 6),
    ("AU", "en_AU", 5),
    ("MX", "es_MX", 4),
    ("BR", "pt_BR", 4),
    ("IN", "en_IN", 3),
]


COMPANIES = 800  # fixed, so a larger --leads run extends a smaller one instead of replacing it


# Half the companies are in the industries the demo's personas look for.
TARGET_INDUSTRIES = ["Software", "SaaS", "Fintech"]


OTHER_INDUSTRIES = ["Financial services", "Healthcare", "Manufacturing", "Retail", "Education", "Media", "Logistics"]


COMPANY_SIZES = [
    ((2, 10), 14),
    ((11, 49), 24),
    ((50, 199), 25),
    ((200, 999), 18),
    ((1_000, 4_999), 11),
    ((5_000, 60_000), 8),
]


SENIOR_TITLES = [
    "VP of Marketing",
    "VP of Sales",
    "Chief Revenue Officer",
    "Chief Marketing Officer",
    "Head of Demand Generation",
    "Head of Sales",
    "Director of Marketing",
    "Director of Revenue Operations",
    "CEO",
    "Co-founder",
]


MID_TITLES = [
    "Marketing Manager",
    "Demand Generation Manager",
    "Marketing Operations Manager",
    "Sales Manager",
    "Revenue Operations Manager",
    "Growth Marketing Manager",
    "Product Marketing Manager",
    "Account Executive",
]


JUNIOR_TITLES = [
    "Marketing Coordinator",
    "Sales Development Representative",
    "Marketing Specialist",
    "Content Writer",
    "Business Development Representative",
    "Marketing Intern",
    "Consultant",
    "Freelancer",
    "Student",
]


STAGE_WEIGHTS = {
    Stage.SUBSCRIBER: 12,
    Stage.LEAD: 34,
    Stage.MQL: 14,
    Stage.SQL: 8,
    Stage.OPPORTUNITY: 6,
    Stage.CUSTOMER: 7,
    Stage.EVANGELIST: 2,
    Stage.RECYCLED: 9,
    Stage.DISQUALIFIED: 8,
}


ADVANCED = {Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST}


OWNED = {Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST}


FORWARD = [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST]


# Days a lead typically spends before each move, by the stage it moves to.
STEP_DAYS = {
    Stage.LEAD: (3, 40),
    Stage.MQL: (5, 45),
    Stage.SQL: (3, 30),
    Stage.OPPORTUNITY: (1, 14),
    Stage.CUSTOMER: (10, 60),
    Stage.EVANGELIST: (20, 90),
    Stage.RECYCLED: (5, 30),
    Stage.DISQUALIFIED: (1, 20),
}


MQL_RULES = ["has event webinar_registered", "webinar_attended after webinar_registered"]


SQL_RULES = ["is MQL", "has event pricing_downloaded", "trial_started after pricing_downloaded"]


RECYCLE_REASONS = [
    "Not ready to buy: revisit next quarter",
    "No budget this year",
    "Our champion left the company",
    "Staying on spreadsheets for now",
]


LOST_REASONS = ["Lost to a competitor on price", "Project postponed", "No decision made"]


DISQUALIFY_REASONS = [
    "Student or job seeker",
    "Company too small for us",
    "Competitor doing research",
    "Invalid contact details",
    "Outside our sales territories",
]


PAGES = [
    "/",
    "/pricing/",
    "/product/scoring/",
    "/product/playbooks/",
    "/customers/",
    "/blog/mql-vs-sql/",
    "/blog/speed-to-lead/",
    "/blog/sales-marketing-sla/",
    "/integrations/",
    "/security/",
]


NEWSLETTER_SUBJECTS = [
    "Five ways sales and marketing disagree",
    "What counts as an MQL?",
    "Speed-to-lead in 2 charts",
    "The weekly meeting that fixes your funnel",
    "Scoring without the guesswork",
]


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 -- reproducible demo data, nothing secret


@dataclass
class Company:
    name: str
    domain: str
    country: str
    locale: str
    industry: str
    size: int


@dataclass
class Plan:
    """One lead to create: its fields, events (type, time, campaign, properties) and stage path."""

    number: int
    fields: dict[str, Any]
    events: list[tuple[str, datetime, Campaign | None, dict[str, Any]]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Pools:
    """Names, companies and phones drawn once from Faker; leads then pick from them."""

    first_names: dict[str, list[str]]
    last_names: dict[str, list[str]]
    phones: dict[str, list[str]]
    companies: list[Company]
    personas: list[Persona]


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits only, for email addresses and domains."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _pools(*, seed: int, companies: int) -> Pools:
    first, last, phones = {}, {}, {}
    rng = _rng(seed)
    company_list: list[Company] = []
    domains: set[str] = set()
    locales = [(country, locale) for country, locale, _ in COUNTRIES]
    country_weights = [weight for *_, weight in COUNTRIES]
    for index, (_, locale) in enumerate(locales):
        fake = Faker(locale)
        fake.seed_instance(seed + index)  # one stream per locale: en_CA must not repeat en_US
        first[locale] = [fake.first_name() for _ in range(150)]
        last[locale] = [fake.last_name() for _ in range(150)]
        phones[locale] = [fake.phone_number() for _ in range(50)]
    fakes = {locale: Faker(locale) for _, locale in locales}
    for index, fake in enumerate(fakes.values()):
        fake.seed_instance(seed + 1_000 + index)
    for _ in range(companies):
        country, locale = rng.choices(locales, weights=country_weights)[0]
        name = fakes[locale].company()
        words = [_ascii(word) for word in re.split(r"[\s,&-]+", name)]
        stem = "".join([word for word in words if word and word not in {"and", "inc", "llc", "ltd", "plc"}][:2])
        domain = f"{stem or 'company'}.example"
        while domain in domains:
            domain = f"{stem}{rng.randrange(2, 99)}.example"
        domains.add(domain)
        industry = rng.choice(TARGET_INDUSTRIES if rng.random() < 0.5 else OTHER_INDUSTRIES)
        low, high = rng.choices([size for size, _ in COMPANY_SIZES], weights=[w for _, w in COMPANY_SIZES])[0]
        company_list.append(Company(name, domain, country, locale, industry, rng.randint(low, high)))
    personas = [Persona(name=persona["name"], conditions=persona["conditions"]) for persona in PERSONAS]
    return Pools(first_names=first, last_names=last, phones=phones, companies=company_list, personas=personas)


def _title(rng: random.Random) -> str:
    pool = rng.choices([SENIOR_TITLES, MID_TITLES, JUNIOR_TITLES], weights=[3, 4, 3])[0]
    return rng.choice(pool)


def _fit(*, personas: list[Persona], title: str, company: Company) -> int:
    """The fit the product will give this profile: its best match among the demo's personas."""
    lead = Lead(title=title, industry=company.industry, company_size=company.size, country=company.country)
    return max(persona_fit(persona, lead) for persona in personas)


def _suits(stage: str, fit: int) -> bool:
    """Leads that got far were mostly good fits, and disqualified ones poor fits."""
    if stage in ADVANCED:
        return fit >= 60
    return fit < 40 if stage == Stage.DISQUALIFIED else True


def _person(*, rng: random.Random, pools: Pools, stage: str, emails: set[str]) -> dict[str, Any]:
    """Contact and firmographic fields for a lead of this stage.

    The profile is redrawn a few times until it suits the stage.
    """
    for _ in range(6):
        company = rng.choice(pools.companies)
        title = _title(rng)
        if _suits(stage, _fit(personas=pools.personas, title=title, company=company)):
            break
    first = rng.choice(pools.first_names[company.locale])
    last = rng.choice(pools.last_names[company.locale])
    local = f"{_ascii(first) or 'contact'}.{_ascii(last) or 'lead'}"
    email = f"{local}@{company.domain}"
    while email in emails:  # namesakes at one company get a number, as mail admins do
        email = f"{local}{rng.randrange(2, 100)}@{company.domain}"
    emails.add(email)
    return {
        "email": email,
        "first_name": first,
        "last_name": last,
        "phone": rng.choice(pools.phones[company.locale]) if rng.random() < 0.4 else "",
        "company": company.name,
        "title": title,
        "industry": company.industry,
        "company_size": company.size,
        "country": company.country,
        "website": f"https://www.{company.domain}",
    }


def _path(*, rng: random.Random, stage: str) -> list[str]:
    """The stages a lead went through to reach `stage`, in order."""
    if stage == Stage.SUBSCRIBER:
        return [Stage.SUBSCRIBER]
    if stage == Stage.RECYCLED:
        path = FORWARD[: rng.choice([2, 2, 3, 4])] + [Stage.RECYCLED]
    elif stage == Stage.DISQUALIFIED:
        path = FORWARD[: rng.choice([1, 1, 2])] + [Stage.DISQUALIFIED]
    else:
        path = FORWARD[: FORWARD.index(stage) + 1]
    return ([Stage.SUBSCRIBER] if rng.random() < 0.25 else []) + path


def _stage_times(*, rng: random.Random, path: list[str], now: datetime) -> list[datetime]:
    """Ascending times for each stage of the path, all inside the last six months."""
    gaps = [0.0] + [rng.uniform(*STEP_DAYS[stage]) for stage in path[1:]]
    span = sum(gaps)
    room = DEMO_DAYS - 1.0
    if span > room:  # a long journey is compressed to fit, keeping its order
        gaps = [gap * room * rng.uniform(0.6, 1.0) / span for gap in gaps]
        span = sum(gaps)
    start = now - timedelta(days=rng.uniform(span + 0.5, DEMO_DAYS))
    times, elapsed = [], 0.0
    for gap in gaps:
        elapsed += gap
        times.append(start + timedelta(days=elapsed))
    return times


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.uniform(0.05, 0.95)


def _campaign_properties(campaign: Campaign | None) -> dict[str, str]:
    if campaign is None:
        return {}
    return {"utm_source": campaign.utm_source, "utm_medium": campaign.utm_medium, "utm_campaign": campaign.utm_campaign}


class Journey:
    """Builds one lead's events and stage changes from its path and stage times."""

    def __init__(
        self, *, rng: random.Random, campaigns: dict[str, list[Campaign]], reps: list[User], marketer: User
    ) -> None:
        self.rng = rng
        self.campaigns = campaigns
        self.reps = reps
        self.marketer = marketer

    def build(
        self, *, plan: Plan, path: list[str], times: list[datetime], first: Campaign | None, now: datetime
    ) -> None:
        owner = self.rng.choice(self.reps)
        form = "newsletter" if path[0] == Stage.SUBSCRIBER else self.rng.choice(["ebook", "contact", "demo-request"])
        props = {"form": form, **_campaign_properties(first)}
        plan.events.append(("form_submitted", times[0], first, props))
        plan.changes.append(
            {"from_stage": "", "to_stage": path[0], "changed_at": times[0], "source": ChangeSource.SYSTEM}
        )
        for index in range(1, len(path)):
            self._step(
                plan=plan,
                from_stage=path[index - 1],
                to_stage=path[index],
                start=times[index - 1],
                at=times[index],
                owner=owner,
            )
        self._nurture(plan=plan, start=times[0], end=times[-1] if path[-1] == Stage.DISQUALIFIED else now)
        # Sales owns a lead from SQL on; a recycled one goes back to marketing unowned.
        plan.fields["owner"] = owner if path[-1] in OWNED else None

    def _step(self, *, plan: Plan, from_stage: str, to_stage: str, start: datetime, at: datetime, owner: User) -> None:
        """Record the move and, before it, the events that caused it."""
        rng = self.rng
        change = {"from_stage": from_stage, "to_stage": to_stage, "changed_at": at}
        if to_stage == Stage.LEAD:
            form = rng.choice(["ebook", "contact", "demo-request"])
            plan.events.append(("form_submitted", at, None, {"form": form}))
            change["source"] = ChangeSource.SYSTEM
        elif to_stage == Stage.MQL:
            webinar = rng.choice(self.campaigns[Channel.WEBINAR])
            registered = _between(rng, start, at)
            props = {"webinar": webinar.name, **_campaign_properties(webinar)}
            plan.events.append(("webinar_registered", registered, webinar, props))
            # The rule fires as the attendance arrives, so the move follows it closely.
            attended = at - (at - registered) * rng.uniform(0.005, 0.03)
            plan.events.append(("webinar_attended", attended, webinar, props))
            change.update(source=ChangeSource.RULE, definition_version=1, matched_rules=MQL_RULES)
        elif to_stage == Stage.SQL:
            downloaded = _between(rng, start, at)
            plan.events.append(("pricing_downloaded", downloaded, None, {"asset": "price-list.pdf"}))
            trial = at - (at - downloaded) * rng.uniform(0.01, 0.1)
            plan.events.append(("trial_started", trial, None, {"plan": rng.choice(["team", "business"])}))
            change.update(source=ChangeSource.RULE, definition_version=1, matched_rules=SQL_RULES)
        elif to_stage == Stage.RECYCLED:
            reasons = LOST_REASONS if from_stage == Stage.OPPORTUNITY else RECYCLE_REASONS
            change.update(source=ChangeSource.USER, changed_by=owner, reason=rng.choice(reasons))
        elif to_stage == Stage.DISQUALIFIED:
            by = self.marketer if from_stage == Stage.LEAD else owner
            change.update(source=ChangeSource.USER, changed_by=by, reason=rng.choice(DISQUALIFY_REASONS))
        else:  # opportunity, customer, evangelist: the owning rep moved it
            note = {
                Stage.OPPORTUNITY: "Discovery call held",
                Stage.CUSTOMER: "Deal won",
                Stage.EVANGELIST: "Agreed to be a reference customer",
            }[to_stage]
            change.update(source=ChangeSource.USER, changed_by=owner, note=note)
        plan.changes.append(change)

    def _nurture(self, *, plan: Plan, start: datetime, end: datetime) -> None:
        """Page views and newsletter opens and clicks sprinkled over the lead's life."""
        rng = self.rng
        newsletter = self.campaigns[Channel.EMAIL][0]
        for _ in range(rng.randrange(0, 7)):
            path = rng.choice(PAGES)
            plan.events.append(("page_viewed", _between(rng, start, end), None, {"path": path}))
        mail_until = plan.fields["unsubscribed_at"] or end
        if not plan.fields["consent"]:
            return
        for _ in range(rng.randrange(0, 6)):
            opened = _between(rng, start, min(end, mail_until))
            props = {"subject": rng.choice(NEWSLETTER_SUBJECTS), **_campaign_properties(newsletter)}
            plan.events.append(("email_opened", opened, newsletter, props))
            if rng.random() < 0.3:
                clicked = opened + timedelta(minutes=rng.randrange(1, 30))
                plan.events.append(("email_clicked", clicked, newsletter, props))


def _touch(campaign: Campaign | None, at: datetime) -> tuple[str, dict[str, Any]]:
    if campaign is None:
        return "direct", {"referrer": "", "landing_page": "/", "at": at.isoformat()}
    return campaign.utm_source, {**_campaign_properties(campaign), "at": at.isoformat()}


def _touches(plan: Plan, first: Campaign | None) -> None:
    """First and last touch from the first event and the last one that came through a campaign."""
    plan.events.sort(key=lambda event: event[1])
    created = plan.events[0][1]
    plan.fields["source"], plan.fields["first_touch"] = _touch(first, created)
    _, last_at, last_campaign, _ = next((e for e in reversed(plan.events) if e[2]), (None, created, first, None))
    plan.fields["last_source"], plan.fields["last_touch"] = _touch(last_campaign, last_at)
    plan.fields["last_campaign"] = last_campaign
    plan.fields["last_touch_at"] = last_at
    plan.fields["first_campaign"] = first


def demo_plans(
    *, count: int, seed: int, now: datetime, campaigns: list[Campaign], reps: list[User], marketer: User
) -> list[Plan]:
    """`count` leads with their journeys, the same for the same seed (only dates follow `now`)."""
    rng = _rng(seed)
    pools = _pools(seed=seed, companies=COMPANIES)
    by_channel: dict[str, list[Campaign]] = {}
    for campaign in campaigns:
        by_channel.setdefault(campaign.channel, []).append(campaign)
    journey = Journey(rng=rng, campaigns=by_channel, reps=reps, marketer=marketer)
    first_choices = [*campaigns, None]
    first_weights = [spec["weight"] for spec in CAMPAIGNS] + [DIRECT_WEIGHT]
    stages, stage_weights = list(STAGE_WEIGHTS), list(STAGE_WEIGHTS.values())
    plans, emails = [], set()
    for number in range(1, count + 1):
        stage = rng.choices(stages, weights=stage_weights)[0]
        fields = _person(rng=rng, pools=pools, stage=stage, emails=emails)
        path = _path(rng=rng, stage=stage)
        times = _stage_times(rng=rng, path=path, now=now)
        consent = rng.random() < 0.92
        unsubscribed = _between(rng, times[0], now) if consent and rng.random() < 0.04 else None
        fields.update(stage=stage, consent=consent, consent_at=times[0] if consent else None)
        fields.update(unsubscribed_at=unsubscribed, created_at=times[0], stage_changed_at=times[-1])
        fields.update(qualified_version=1 if Stage.MQL in path else None)  # the rule's version that promoted it
        plan = Plan(number=number, fields=fields)
        first = rng.choices(first_choices, weights=first_weights)[0]
        journey.build(plan=plan, path=path, times=times, first=first, now=now)
        _touches(plan, first)
        plans.append(plan)
    return plans
