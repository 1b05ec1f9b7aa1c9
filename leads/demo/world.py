"""The demo's company as its people set it up through the product, on the demo's first day:
logins, teams and their assignment rules, campaigns and their hosted forms, personas and
scoring rules, the first qualification definition (signed by both sides) and the agreement.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from leads.capture.campaigns import campaign_create
from leads.capture.services import capture_form_create
from leads.demo.people import USER_NAMES
from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL, ENGAGEMENT_RULES, NEGATIVE_RULES, PERSONAS
from leads.models import Campaign, CaptureForm, Channel, Job, QualificationDefinition, Stage, Team
from leads.qualification import services as qualification
from leads.qualification.backtest import backtest_run
from leads.sales.services import agreement_set
from leads.sales.teams import assignment_rule_save, team_create, team_rep_add
from leads.scoring import rules as scoring_rules
from leads.scoring import services as scoring
from smarketing.roles import Role

DEMO_PASSWORD = "smarketing-demo"  # noqa: S105 -- a published demo login, not a secret
# The logins `make run` prints, then the rest of the sales team.
DEMO_USERS = [("marketer", Role.MARKETING), ("rep", Role.SALES), ("manager", Role.MANAGER)]
DEMO_MORE_USERS = [("rep2", Role.SALES), ("rep3", Role.SALES), ("rep4", Role.SALES)]
DEMO_ADMIN = "admin"  # a superuser: the Django admin, for the back office

# name, channel, UTM source / medium / campaign, weight as a first touch, the hosted form it
# brings people to (a key of FORMS), and its spending (how often, and the range of one cost).
CAMPAIGNS: list[dict[str, Any]] = [
    {
        "name": "Google Ads: lead scoring keywords",
        "channel": Channel.PAID_SEARCH,
        "utm": ("google", "cpc", "gads-lead-scoring"),
        "weight": 16,
        "cost": ("weekly", 900, 2_200),
        "budget": 80_000,
    },
    {
        "name": "LinkedIn Ads: revenue leaders",
        "channel": Channel.PAID_SOCIAL,
        "utm": ("linkedin", "paid-social", "li-revenue-leaders"),
        "weight": 13,
        "cost": ("weekly", 700, 1_800),
        "budget": 65_000,
    },
    {
        "name": "Blog and organic search",
        "channel": Channel.SEO,
        "utm": ("google", "organic", "seo-blog"),
        "weight": 18,
        "cost": ("monthly", 1_500, 2_500),
        "budget": 30_000,
    },
    {
        "name": "Monthly newsletter",
        "channel": Channel.EMAIL,
        "utm": ("newsletter", "email", "newsletter-monthly"),
        "weight": 6,
        "form": "newsletter",
        "cost": ("monthly", 300, 450),
        "budget": 6_000,
    },
    {
        "name": "Webinar series: aligning sales and marketing",
        "channel": Channel.WEBINAR,
        "utm": ("webinar", "email", "webinar-smarketing"),
        "weight": 8,
        "form": "webinar-smarketing",
        "cost": ("monthly", 600, 1_200),
        "budget": 14_000,
    },
    {
        "name": "Webinar series: scoring that sales trusts",
        "channel": Channel.WEBINAR,
        "utm": ("webinar", "email", "webinar-scoring"),
        "weight": 6,
        "form": "webinar-scoring",
        "cost": ("monthly", 500, 1_000),
        "budget": 12_000,
    },
    {
        "name": "Ebook: the sales and marketing SLA",
        "channel": Channel.CONTENT,
        "utm": ("content", "organic", "ebook-sla"),
        "weight": 10,
        "form": "ebook-sla",
        "cost": ("once", 4_000, 6_000),
        "budget": 6_000,
    },
    {
        "name": "RevOps Summit booth",
        "channel": Channel.EVENT,
        "utm": ("revops-summit", "event", "revops-summit"),
        "weight": 5,
        "cost": ("once", 12_000, 18_000),
        "budget": 18_000,
    },
    {
        "name": "Customer referral programme",
        "channel": Channel.REFERRAL,
        "utm": ("referral", "referral", "customer-referral"),
        "weight": 4,
        "cost": ("monthly", 200, 900),
        "budget": 8_000,
    },
    {
        "name": "Partner co-marketing: CRM partners",
        "channel": Channel.PARTNER,
        "utm": ("partner", "partner", "crm-partners"),
        "weight": 5,
        "cost": ("monthly", 1_000, 1_500),
        "budget": 15_000,
    },
]
DIRECT_WEIGHT = 10  # people who arrive with no campaign at all

# The hosted forms marketing builds: key (how journeys name it), name, its campaign, fields.
FORMS: list[dict[str, Any]] = [
    {"key": "newsletter", "name": "Newsletter sign-up", "campaign": "Monthly newsletter", "fields": ["first_name"]},
    {
        "key": "webinar-smarketing",
        "name": "Webinar registration: aligning sales and marketing",
        "campaign": "Webinar series: aligning sales and marketing",
        "fields": ["first_name", "last_name", "company", "title"],
        "required": ["first_name", "company"],
    },
    {
        "key": "webinar-scoring",
        "name": "Webinar registration: scoring that sales trusts",
        "campaign": "Webinar series: scoring that sales trusts",
        "fields": ["first_name", "last_name", "company", "title"],
        "required": ["first_name", "company"],
    },
    {
        "key": "ebook-sla",
        "name": "Ebook download: the sales and marketing SLA",
        "campaign": "Ebook: the sales and marketing SLA",
        "fields": ["first_name", "last_name", "company", "title", "company_size"],
        "required": ["company"],
    },
    {
        "key": "contact",
        "name": "Contact sales",
        "campaign": None,
        "fields": ["first_name", "last_name", "phone", "company", "title", "industry", "company_size", "country"],
        "required": ["first_name", "last_name", "company"],
    },
]

# Two teams by territory; what neither covers (APAC) waits in the general pool for anyone.
TEAMS = [
    {"name": "Americas", "reps": ["rep", "rep2"], "regions": ["NA", "LATAM"]},
    {"name": "EMEA", "reps": ["rep3", "rep4"], "regions": ["EMEA"]},
]
REP_CAPACITY = 15
REP_CAPACITIES: dict[str, int] = {"rep": 20}  # per rep, where one differs: the senior rep holds more

AGREEMENT = {
    "mql_target": 50,
    "close_quota": 5,
    "speed_to_lead_hours": 24,
    "reassign_after_hours": 48,
    "first_touch_target_pct": 80,
    "handoff_stage": Stage.MQL,
}

# v2, activated later in the year: good fits who download the price list are MQLs without a
# webinar, and trials from good fits are SQLs.
V2_MQL = {
    "op": "any",
    "children": [
        ARTICLE_MQL,
        {"op": "all", "children": [{"op": "fit_gte", "value": 60}, {"op": "has_event", "event": "pricing_downloaded"}]},
    ],
}
V2_SQL = {
    "op": "any",
    "children": [
        ARTICLE_SQL,
        {"op": "all", "children": [{"op": "fit_gte", "value": 60}, {"op": "has_event", "event": "trial_started"}]},
    ],
}


@dataclass
class World:
    users: dict[str, User]
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    forms: dict[str, CaptureForm] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)  # what a worker would run next

    @property
    def reps(self) -> list[User]:
        return [self.users[name] for name, role in [*DEMO_USERS, *DEMO_MORE_USERS] if role == Role.SALES]


def world_build(*, start: date) -> World:
    """Everything marketing, sales and their manager set up before the first lead arrives."""
    world = World(users=_users())
    marketer, manager = world.users["marketer"], world.users["manager"]
    for spec in CAMPAIGNS:
        world.campaigns[spec["name"]] = _campaign(spec, start, marketer)
    for spec in FORMS:
        world.forms[spec["key"]] = _form(spec, world, marketer)
    _scoring(world, marketer)
    world.jobs.append(definition_through_sign_off(world, mql=ARTICLE_MQL, sql=ARTICLE_SQL, name=ARTICLE_NAME))
    agreement_set(month=start.replace(day=1), by=manager, values=AGREEMENT)
    _teams(world, manager)
    return world


ARTICLE_NAME = "Webinar → price list → trial"


def _users() -> dict[str, User]:
    password = make_password(DEMO_PASSWORD)  # hashed once: every login shares the published password
    users = {}
    for username, role in [*DEMO_USERS, *DEMO_MORE_USERS]:
        users[username] = _user(username, password)
        users[username].groups.add(Group.objects.get_or_create(name=role.value)[0])
    users[DEMO_ADMIN] = _user(DEMO_ADMIN, password, is_staff=True, is_superuser=True)
    return users


def _user(username: str, password: str, **flags: bool) -> User:
    first, last = USER_NAMES.get(username, ("", ""))
    email = f"{username}@smarketing.example"
    return User.objects.create(
        username=username, email=email, password=password, first_name=first, last_name=last, **flags
    )


def _campaign(spec: dict[str, Any], start: date, by: User) -> Campaign:
    source, medium, name = spec["utm"]
    return campaign_create(
        by=by,
        name=spec["name"],
        channel=spec["channel"],
        utm_source=source,
        utm_medium=medium,
        utm_campaign=name,
        budget=Decimal(spec["budget"]),
        starts_on=start,
    )


def _form(spec: dict[str, Any], world: World, by: User) -> CaptureForm:
    campaign = world.campaigns[spec["campaign"]] if spec["campaign"] else None
    data = {
        "name": spec["name"],
        "campaign": campaign,
        "fields": spec["fields"],
        "required_fields": spec.get("required", []),
        "consent_text": "Send me the newsletter and news about the product.",
    }
    return capture_form_create(data=data, by=by)


def _scoring(world: World, marketer: User) -> None:
    for persona in PERSONAS:
        _, job = scoring_rules.persona_save(by=marketer, **persona)
        world.jobs.append(job)
    for rule in [*ENGAGEMENT_RULES, *NEGATIVE_RULES]:
        _, job = scoring_rules.rule_save(by=marketer, fields={"kind": "engagement", **rule})
        world.jobs.append(job)


def definition_through_sign_off(world: World, *, mql: dict, sql: dict, name: str, notes: str = "") -> Job:
    """A version drafted by marketing, signed by both sides and activated; returns its requalify job."""
    marketer, manager = world.users["marketer"], world.users["manager"]
    base = QualificationDefinition.objects.order_by("-version").first()
    definition = qualification.definition_create(
        by=marketer, mql_rule=mql, sql_rule=sql, name=name, notes=notes, based_on=base
    )
    qualification.definition_propose(definition=definition, by=marketer)
    qualification.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification.definition_sign(definition=definition, by=manager, side="sales")
    return qualification.definition_activate(definition=definition, by=manager)


def _teams(world: World, manager: User) -> None:
    for spec in TEAMS:
        team = team_create(by=manager, name=spec["name"], manager=manager)
        for username in spec["reps"]:
            capacity = REP_CAPACITIES.get(username, REP_CAPACITY)
            team_rep_add(team=team, rep=world.users[username], by=manager, capacity=capacity)
        assignment_rule_save(by=manager, name=f"{spec['name']} territory", regions=spec["regions"], team=team)
        world.teams[spec["name"]] = team


def jobs_run(world: World) -> None:
    """Run the queued jobs, oldest first, as a worker would (the demo sends no task: it is the worker)."""
    runners = {"rescore": scoring.rescore_run, "requalify": qualification.requalify_run, "backtest": backtest_run}
    for job in Job.objects.filter(status=Job.Status.QUEUED).order_by("created_at", "pk"):
        runners[job.kind](job=job)
    world.jobs.clear()
