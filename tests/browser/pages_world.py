"""A small company's month, made through the product's own services, for the every-page test.

A few dozen leads come in through events and a hosted form, are scored and qualified under an
approved definition, handed to two reps by a team's rules, worked (calls, an accepted lead, a
rejected one, a recycled one) and turned into deals in several stages; a campaign with costs, a
draft definition with its backtest, an import job and a saved view fill the remaining pages.
"""

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import make_user
from leads.capture import campaigns, imports
from leads.capture import services as capture
from leads.capture.ingest import EventIn, events_ingest
from leads.history import lead_change_stage
from leads.models import (
    Agreement,
    AssignmentRule,
    CampaignCost,
    CaptureForm,
    Deal,
    DealStage,
    Handoff,
    HandoffStatus,
    HistoryReader,
    Job,
    Lead,
    Persona,
    QualificationDefinition,
    ScoringRule,
    StageChange,
)
from leads.qualification import backtest
from leads.qualification import services as qualification
from leads.sales import deals, teams, worklog
from leads.sales.assignment import HANDOFF_READER, handoffs_follow_history
from leads.scoring.rules import persona_save, rule_save
from leads.scoring.services import rescore_run
from leads.services import saved_view_create
from playbooks.email import services as email
from playbooks.engine import services as playbook_services
from playbooks.engine.runner import enrolments_run_due
from playbooks.lists import services as lists
from playbooks.referrals import services as referrals
from smarketing.lib.periods import month_first
from smarketing.roles import Role

MQL_TREE: dict[str, Any] = {
    "op": "all",
    "children": [
        {"op": "has_event", "event": "webinar_registered"},
        {"op": "event_after", "event": "webinar_attended", "after": "webinar_registered"},
    ],
}
SQL_TREE: dict[str, Any] = {
    "op": "all",
    "children": [
        {"op": "event_after", "event": "pricing_downloaded", "after": "webinar_attended"},
        {"op": "event_after", "event": "trial_started", "after": "webinar_attended"},
    ],
}
DRAFT_MQL_TREE: dict[str, Any] = {
    "op": "any",
    "children": [MQL_TREE, {"op": "fit_gte", "value": 70}],
}

# (first, last, company, title, country, industry, size): people as a CRM holds them, one with
# the long unbroken address and company name that real lists always have.
PEOPLE = [
    ("Ana", "Pérez", "Acme Ltda", "Head of Operations", "ES", "SaaS", 240),
    ("Luis", "Gómez", "Nube SAS", "Operations Manager", "ES", "Software", 120),
    ("Marta", "Ruiz", "Kilo SL", "Marketing Director", "PT", "Retail", 60),
    ("João", "Silva", "Oceano Lda", "COO", "PT", "Logistics", 800),
    ("Emma", "Schmidt", "Berg GmbH", "VP Operations", "DE", "SaaS", 450),
    ("Noah", "Müller", "Feld AG", "Head of Marketing", "DE", "Fintech", 90),
    ("Chloé", "Martin", "Soleil SA", "Directrice des opérations", "FR", "SaaS", 310),
    ("Lucas", "Bernard", "Rivage SARL", "Operations Lead", "FR", "Software", 35),
    ("Sofia", "Rossi", "Stella Srl", "Marketing Manager", "IT", "Retail", 150),
    ("Marco", "Bianchi", "Ponte SpA", "Chief Operating Officer", "IT", "Manufacturing", 2_000),
    ("Olivia", "Smith", "Northwind Ltd", "Operations Analyst", "GB", "SaaS", 70),
    ("Jack", "Jones", "Brightside plc", "Growth Marketer", "GB", "Fintech", 500),
    (
        "Maximiliane",
        "Oberhauser-Wittgenstein",
        "Internationale Versicherungsgesellschaft",
        "Leiterin",
        "AT",
        "Insurance",
        5_000,
    ),
    ("Pedro", "Alves", "Serra Lda", "Ops Coordinator", "PT", "Software", 45),
    ("Lucía", "Fernández", "Montaña SL", "Head of Operations", "ES", "SaaS", 180),
    ("Hugo", "Lefèvre", "Cime SAS", "Marketing Lead", "FR", "Media", 25),
    ("Ines", "Costa", "Vale Lda", "Operations Director", "PT", "SaaS", 600),
    ("Paul", "Weber", "Tal GmbH", "Operations", "DE", "Software", 130),
    ("Elena", "Moreno", "Río SA", "Marketing", "ES", "Retail", 15),
    ("Tom", "Brown", "Harbour Ltd", "Head of Ops", "GB", "Logistics", 350),
    ("Clara", "Vidal", "Llum SL", "Operations Manager", "ES", "SaaS", 95),
    ("Mateo", "Navarro", "Sierra SL", "CEO", "ES", "Software", 12),
    ("Giulia", "Greco", "Mare Srl", "Operations", "IT", "SaaS", 220),
    ("Anna", "Novak", "Reka s.r.o.", "Marketing Specialist", "CZ", "Media", 40),
]
# How far each person got before today: 0 visited, 1 registered, 2 attended (MQL), 3 SQL.
JOURNEYS = [3, 3, 2, 3, 2, 1, 3, 0, 2, 3, 1, 2, 2, 0, 3, 1, 2, 3, 0, 2, 3, 1, 2, 0]
LONG_EMAIL = "maximiliane.oberhauser-wittgenstein@internationale-versicherungsgesellschaft.example"

IMPORT_CSV = (
    "Email,First name,Last name,Company,Country\n"
    "tereza.dvorak@reka.example,Tereza,Dvořák,Reka s.r.o.,CZ\n"
    "not-an-email,Broken,Row,Nowhere,XX\n"
    "bram.dejong@polder.example,Bram,de Jong,Polder BV,NL\n"
)


@dataclass(frozen=True)
class World:
    """The ids the pages' URLs are filled with."""

    lead: int  # the rep's lead with a deal, calls and a stage history
    other_lead: int  # another lead, to merge with
    campaign: int
    cost: int
    form_key: str
    form: int
    persona: int
    rule: int
    draft: int  # a draft definition with a finished backtest
    active: int  # the active definition
    deal: int
    team: int
    assignment_rule: int
    import_job: int
    email_template: int
    outbox_email: int  # a sent newsletter
    lead_list: int  # a static list holding `lead`
    segment: int
    referral: int  # an earned referral, to be paid
    referral_code: str  # its referrer's code
    nps_token: str  # the referrer's NPS question
    playbook: int  # an active playbook `lead` is in


def caught_up(follow: Callable[[], int], reader: str) -> None:
    """Run a reader of the stage history until it has read every change. On PostgreSQL it reads a
    commit only once every transaction older than it has ended, which on a busy shared server
    (another test run, a bench) can take a few tries."""
    deadline = time.monotonic() + 10
    while True:
        follow()
        newest = StageChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
        if HistoryReader.objects.filter(name=reader, last_id__gte=newest).exists() or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def email_of(first: str, last: str, company: str) -> str:
    if first == "Maximiliane":
        return LONG_EMAIL
    return f"{_plain(first)}.{_plain(last)}@{_plain(company.split()[0])}.example"


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "-")


def build_world() -> World:
    """Every step through the service a person's click would call."""
    marketer = make_user("marketer", Role.MARKETING, first_name="Mara", last_name="Keting")
    rep = make_user("rep", Role.SALES, first_name="Rafa", last_name="Sales")
    rep2 = make_user("rep2", Role.SALES, first_name="Sam", last_name="Closer")
    manager = make_user("manager", Role.MANAGER, first_name="Mona", last_name="Ager")
    Agreement.objects.create(month=month_first(), mql_target=20, close_quota=5, speed_to_lead_hours=4)

    persona, rule = _scoring(marketer)
    active = _definition(marketer, rep)
    team, assignment_rule = _team(manager, rep, rep2)
    campaign, cost, form = _campaign(marketer)
    _leads(form)
    caught_up(handoffs_follow_history, HANDOFF_READER)  # what the worker does after each commit
    lead, deal = _worked(rep, manager)
    draft = qualification.definition_create(
        by=marketer, mql_rule=DRAFT_MQL_TREE, sql_rule=SQL_TREE, name="Webinar or a strong fit", based_on=active
    )
    backtest.backtest_run(job=backtest.backtest_enqueue(definition=draft, by=marketer))
    saved_view_create(owner=marketer, name="SQLs from the webinar", query="stage=sql&source=newsletter", shared=True)
    for job in Job.objects.filter(kind="rescore", status="queued"):  # what the worker would have done
        rescore_run(job=job)
    other = Lead.objects.exclude(pk=lead.pk).filter(owner__isnull=True).order_by("id").first()
    template, sent = _newsletter(marketer, other)
    lead_list, segment = _lists(marketer, lead)
    referral, nps_token = _referral(manager)
    playbook = _playbook(marketer, template, lead_list, lead)
    return World(
        lead=lead.pk,
        other_lead=other.pk,
        campaign=campaign.pk,
        cost=cost.pk,
        form_key=form.key,
        form=form.pk,
        persona=persona.pk,
        rule=rule.pk,
        draft=draft.pk,
        active=active.pk,
        deal=deal.pk,
        team=team.pk,
        assignment_rule=assignment_rule.pk,
        import_job=_import(marketer).pk,
        email_template=template.pk,
        outbox_email=sent.pk,
        lead_list=lead_list.pk,
        segment=segment.pk,
        referral=referral.pk,
        referral_code=referral.referrer.code,
        nps_token=nps_token,
        playbook=playbook.pk,
    )


def _playbook(marketer: User, template: Any, lead_list: Any, lead: Lead) -> Any:
    """A list's playbook: the newsletter, a week, a branch on clicks; `lead` enrolled by hand."""
    clicked = {"op": "has_event", "event": "email_clicked", "within_days": 7}
    data = {
        "name": "Newsletter nurture",
        "trigger": {"type": "list_joined", "list": lead_list.pk},
        "steps": [
            {"type": "email", "template": template.pk},
            {"type": "wait", "days": 7},
            {"key": "clicked", "type": "branch", "condition": clicked, "then": "next", "else": "exit"},
            {"type": "notify_owner", "text": "clicked the newsletter"},
        ],
        "exits": [{"type": "stage_reached", "stage": "opportunity"}],
    }
    playbook = playbook_services.playbook_save(data=data, by=marketer)
    playbook_services.playbook_activate(playbook=playbook, by=marketer)
    playbook_services.lead_enrol(playbook=playbook, lead=lead, by=marketer)
    enrolments_run_due()  # what the worker does
    return playbook


def _newsletter(marketer: User, lead: Lead) -> tuple[Any, Any]:
    body = (
        "<html><head><style>h1 { color: #234; }</style></head>"
        "<body><h1>Hello {{ first_name }}</h1><p>What is new this month.</p></body></html>"
    )
    template = email.template_save(
        data={
            "name": "Monthly newsletter",
            "kind": "promotional",
            "subject": "News for {{ first_name }}",
            "body": body,
        },
        by=marketer,
    )
    Lead.objects.filter(pk=lead.pk).update(consent=True)
    lead.refresh_from_db()
    sent = email.email_queue(lead=lead, template=template, cause="Monthly newsletter")
    email.outbox_send(email_id=sent.pk)  # what the worker does
    return template, sent


def _referral(manager: User) -> tuple[Any, str]:
    """A customer shares their link; a friend fills the referral page and becomes a customer too."""
    customer = Lead.objects.filter(stage="customer").order_by("id").first()
    referrer = referrals.referrer_for(customer)
    friend = {"email": "rosa.amiga@amistad.example", "first_name": "Rosa", "last_name": "Amiga", "company": "Amistad"}
    referral = referrals.referral_capture(referrer=referrer, data={**friend, "consent": True})
    lead_change_stage(lead=referral.lead, to_stage="customer", by=manager)
    caught_up(referrals.referrals_follow, referrals.READER)  # what the worker does after each commit
    return referral, referrals.nps_url(customer).rstrip("/").rsplit("/", 1)[1]


def _lists(marketer: User, lead: Lead) -> tuple[Any, Any]:
    """A static list a marketer filled by hand and by import, and a segment by country and fit."""
    webinar = lists.list_save(data={"name": "Webinar follow-up", "description": "Attended, not in a deal"}, by=marketer)
    lists.list_add_leads(lead_list=webinar, lead_ids=[lead.pk], source="manual", by=marketer)
    others = Lead.objects.exclude(pk=lead.pk).order_by("id").values_list("pk", flat=True)[:6]
    lists.list_add_leads(lead_list=webinar, lead_ids=list(others), source="import", by=marketer)
    iberia = {
        "op": "all",
        "children": [
            {"op": "attr", "field": "country", "cmp": "in", "value": ["ES", "PT"]},
            {"op": "fit_gte", "value": 10},
        ],
    }
    segment = lists.list_save(data={"name": "Iberia, some fit", "kind": "segment", "condition": iberia}, by=marketer)
    return webinar, segment


def _scoring(marketer: User) -> tuple[Persona, ScoringRule]:
    persona, _ = persona_save(
        by=marketer,
        name="Ops lead at a mid-size SaaS",
        description="Runs operations at a software company of 50–1,000 people.",
        conditions=[
            {"field": "industry", "op": "in", "value": ["Software", "SaaS"], "weight": 3},
            {"field": "company_size", "op": "gte", "value": 50, "weight": 2},
            {"field": "title", "op": "contains", "value": "operations", "weight": 2},
        ],
    )
    persona_save(
        by=marketer,
        name="Marketing head",
        description="Leads marketing; cares about pipeline.",
        conditions=[{"field": "title", "op": "contains", "value": "marketing", "weight": 3}],
    )
    first = None
    for name, event, points in [
        ("Webinar attended", "webinar_attended", 15),
        ("Price list downloaded", "pricing_downloaded", 10),
        ("Trial started", "trial_started", 25),
        ("Page viewed", "page_viewed", 1),
        ("Form submitted", "form_submitted", 5),
    ]:
        rule, _ = rule_save(
            by=marketer, fields={"name": name, "event_type": event, "points": points, "cap": points * 3}
        )
        first = first or rule
    rule_save(
        by=marketer, fields={"name": "Free-mail address", "kind": "free_mail", "points": 10, "values": ["gmail.com"]}
    )
    return persona, first


def _definition(marketer: User, rep: User) -> QualificationDefinition:
    definition = qualification.definition_create(
        by=marketer, mql_rule=MQL_TREE, sql_rule=SQL_TREE, name="Webinar → price list → trial"
    )
    qualification.definition_propose(definition=definition, by=marketer)  # starts a backtest
    qualification.definition_sign(definition=definition, by=marketer, side="marketing")
    qualification.definition_sign(definition=definition, by=rep, side="sales")
    job = qualification.definition_activate(definition=definition, by=marketer)
    qualification.requalify_run(job=job)
    for waiting in Job.objects.filter(kind="backtest", status="queued"):
        backtest.backtest_run(job=waiting)
    definition.refresh_from_db()
    return definition


def _team(manager: User, rep: User, rep2: User) -> tuple[Any, AssignmentRule]:
    team = teams.team_create(by=manager, name="Iberia", manager=manager)
    teams.team_rep_add(team=team, rep=rep, by=manager, capacity=25)
    teams.team_rep_add(team=team, rep=rep2, by=manager, capacity=10)
    rule = teams.assignment_rule_save(by=manager, name="Spain and Portugal", countries=["ES", "PT"], team=team)
    teams.assignment_rule_save(by=manager, name="Large companies anywhere", company_size_min=200, team=team)
    teams.assignment_rule_save(by=manager, name="Everyone else", team=team)
    return team, rule


def _campaign(marketer: User) -> tuple[Any, CampaignCost, CaptureForm]:
    today = timezone.localdate()
    campaign = campaigns.campaign_create(
        by=marketer,
        name="Spring webinar: scaling operations",
        channel="webinar",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="spring-webinar",
        budget=Decimal("5000"),
        starts_on=today - timedelta(days=60),
    )
    cost = campaigns.campaign_cost_add(
        campaign=campaign,
        by=marketer,
        incurred_on=today - timedelta(days=40),
        amount=Decimal("1200.00"),
        note="Sponsorship",
    )
    campaigns.campaign_cost_add(
        campaign=campaign, by=marketer, incurred_on=today - timedelta(days=10), amount=Decimal("350.50")
    )
    campaigns.campaign_create(
        by=marketer, name="Paid search — brand", channel="paid_search", utm_source="google", utm_campaign="brand"
    )
    form = capture.capture_form_create(
        data={
            "name": "Webinar sign-up",
            "campaign": campaign,
            "fields": ["first_name", "last_name", "company", "title"],
            "required_fields": ["first_name", "company"],
            "consent_text": "Send me the webinar recording and related news.",
        },
        by=marketer,
    )
    return campaign, cost, form


def _leads(form: CaptureForm) -> None:
    now = timezone.now()
    steps = ["page_viewed", "webinar_registered", "webinar_attended", "pricing_downloaded", "trial_started"]
    events = []
    for n, (person, reach) in enumerate(zip(PEOPLE, JOURNEYS, strict=True)):
        first, last, company, title, country, industry, size = person
        email = email_of(first, last, company)
        kinds = steps[: 1 + {0: 0, 1: 1, 2: 2, 3: 4}[reach]]
        start = now - timedelta(days=30 - n, hours=3)
        attributes = {
            "first_name": first,
            "last_name": last,
            "company": company,
            "title": title,
            "country": country,
            "industry": industry,
            "company_size": size,
        }
        for step, kind in enumerate(kinds):
            properties = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring-webinar"}
            events.append(
                EventIn(
                    email=email,
                    type=kind,
                    occurred_at=start + timedelta(days=step, hours=step),
                    idempotency_key=f"world-{n}-{step}",
                    properties=properties if step == 0 else {"url": "/pricing"} if kind == "pricing_downloaded" else {},
                    lead=attributes,
                )
            )
    events_ingest(events=events)
    for first, last, company in [("Iris", "Lindqvist", "Fjord AB"), ("Kai", "Tanaka", "Sakura KK")]:
        data = {"email": email_of(first, last, company), "first_name": first, "last_name": last, "company": company}
        capture.capture_submit(form=form, data={**data, "consent": True, "utm_source": "linkedin"})


def _worked(rep: User, manager: User) -> tuple[Lead, Deal]:
    """The reps' month: calls, verdicts and deals in several stages."""
    held = list(Lead.objects.filter(handoff__status=HandoffStatus.ASSIGNED, handoff__assigned_to=rep).order_by("id"))
    assert len(held) >= 5, f"the team's rules gave the rep {len(held)} leads"
    today = timezone.localdate()
    for lead in held[:4]:
        worklog.activity_log(
            lead=lead,
            by=rep,
            data=worklog.ActivityIn(
                kind="call", outcome="Spoke with them: wants a demo", next_step_on=today + timedelta(days=3)
            ),
        )
    stages = list(DealStage.objects.filter(outcome="open").order_by("position"))
    lead = held[0]
    deal = worklog.lead_accept(lead=lead, by=rep)
    deals.deal_update(
        deal=deal,
        by=rep,
        changes={"amount": "12000", "stage": stages[2], "expected_close_on": today + timedelta(days=20)},
    )
    won = worklog.lead_accept(lead=held[1], by=rep)
    deals.deal_win(deal=won, by=rep, amount="8500")
    lost = worklog.lead_accept(lead=held[2], by=rep)
    deals.deal_lose(deal=lost, by=rep, reason="competitor", note="Went with the incumbent.")
    worklog.lead_reject(lead=held[3], by=rep, reason="no_budget")
    worklog.lead_recycle(lead=held[4], by=rep, reason="timing", revisit_on=today + timedelta(days=45))
    others = Lead.objects.filter(handoff__status=HandoffStatus.ASSIGNED).exclude(owner=rep).order_by("id")
    for other in others[:1]:
        opened = worklog.lead_accept(lead=other, by=manager)
        deals.deal_update(deal=opened, by=manager, changes={"stage": stages[1], "amount": "3400"})
    assert Handoff.objects.filter(assigned_to=rep).exists()
    return lead, deal


def _import(marketer: User) -> Job:
    upload = imports.import_store_upload(upload=SimpleUploadedFile("trade-show contacts.csv", IMPORT_CSV.encode()))
    mapping = {"email": 0, "first_name": 1, "last_name": 2, "company": 3, "country": 4}
    job = imports.import_enqueue(upload=upload, mapping=mapping, by=marketer)
    imports.import_run(job=job)
    job.refresh_from_db()
    return job
