"""The demo's nurture and email (settings.DEMO_EXTENSIONS): what marketing set up on the first
day and a year of it run by the product, for `manage.py seed_demo` (leads.demo).

On the first day the marketer writes the templates, makes the lists and builds the playbooks
of DESIGN.md's stage policies through the same services the pages call: a welcome for the
newsletter form, the newsletter series, a webinar follow-up, conversion content, onboarding
and loyalty (an NPS question, and a referral invitation for promoters) and a nurture for
recycled leads. Each Tuesday evening the demo does what the worker and beat would have done
through the week: the readers enrol leads, due steps run, queued emails are sent (to the
outbox the app shows).

People answer the emails they get: an open or a click in a person's journey (leads.demo.journeys)
is made on the newest email the product sent them, through its tracking links, when there is
one; customers answer the NPS question, and some promoters refer a colleague through their
link. Everything is done through the product's services with the clock at each moment.
"""

import random
import re
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from leads.demo.clock import at
from leads.demo.journeys import Touch
from leads.demo.world import World
from leads.models import Lead, Stage
from playbooks.email import services as email
from playbooks.engine import runner, services, triggers
from playbooks.lists import services as lists
from playbooks.models import EmailTemplate, OutboundEmail, Playbook, Referrer, TemplateKind
from playbooks.referrals import services as referrals
from smarketing.lib.logs import quieter

STYLE = """<style>
body { font-family: Helvetica, Arial, sans-serif; color: #1d2430; line-height: 1.5; }
h1 { font-size: 20px; color: #2f5bea; }
.cta { display: inline-block; padding: 10px 16px; background: #2f5bea; color: #ffffff;
       border-radius: 6px; text-decoration: none; }
.muted { color: #5f6b7a; font-size: 13px; }
</style>"""

SITE = "https://smarketing.example"
# (key, name, kind, subject, heading, text, link, link text): each a heading, a paragraph and a button.
TEMPLATES: list[tuple[str, ...]] = [
    (
        "welcome",
        "Newsletter: welcome",
        TemplateKind.PROMOTIONAL,
        "Welcome aboard, {{ first_name }}",
        "Thanks for subscribing",
        "Hi {{ first_name }}, once a month we send one idea that brings sales and marketing closer.",
        "SITE/blog/start-here",
        "Start here",
    ),
    (
        "issue1",
        "Newsletter: one funnel, two teams",
        TemplateKind.PROMOTIONAL,
        "One funnel, two teams",
        "One funnel, two teams",
        ("{{ first_name }}, the best revenue teams agree on what a qualified lead is before they argue about volume."),
        "SITE/blog/one-funnel",
        "Read the article",
    ),
    (
        "issue2",
        "Newsletter: the SLA that works",
        TemplateKind.PROMOTIONAL,
        "The SLA that works",
        "An SLA both sides sign",
        ("Marketing promises N qualified leads, sales promises a call within H hours. Here is how to write it."),
        "SITE/blog/sla",
        "Get the template",
    ),
    (
        "recording",
        "Webinar: the recording",
        TemplateKind.PROMOTIONAL,
        "The recording, as promised",
        "Thanks for joining, {{ first_name }}",
        "Here is the recording and the slides.",
        "SITE/webinars/recording",
        "Watch again",
    ),
    (
        "case",
        "Conversion: a customer's story",
        TemplateKind.CONVERSION,
        "How a team like yours did it",
        "From two funnels to one",
        ("{{ first_name }}, this is how a company like {{ company }} cut its speed-to-lead to two hours."),
        "SITE/customers/story",
        "Read the story",
    ),
    (
        "onboarding",
        "Customer: welcome",
        TemplateKind.CUSTOMER,
        "Welcome, {{ first_name }}: your first week",
        "Welcome to smarketing",
        "Three things to set up in your first week: personas, the agreement, and your team's queue.",
        "SITE/docs/first-week",
        "Your first week",
    ),
    (
        "nps",
        "Customer: how are we doing?",
        TemplateKind.CUSTOMER,
        "One question, {{ first_name }}",
        "How likely are you to recommend us?",
        "From 0 to 10, one click.",
        "{{ nps_url }}",
        "Answer",
    ),
    (
        "refer",
        "Customer: refer a colleague",
        TemplateKind.CUSTOMER,
        "Thank you, {{ first_name }}, and a favour",
        "Know a team that needs this?",
        "Share your link: when they become a customer, you earn a credit.",
        "{{ referral_url }}",
        "Your referral link",
    ),
    (
        "nudge",
        "Nurture: still thinking it over?",
        TemplateKind.PROMOTIONAL,
        "Still thinking it over?",
        "When the time is right",
        "{{ first_name }}, no rush. Here is what changed since we last spoke.",
        "SITE/whats-new",
        "What's new",
    ),
]
FOOTER = (
    "<p class='muted'>smarketing · You receive this because you asked us to keep in touch. "
    "<a href='{{ unsubscribe_url }}'>Unsubscribe</a></p>"
)
LISTS = ["Newsletter", "Opportunities", "Customers"]
PROMOTER = {"op": "has_event", "event": "nps_answered", "where": {"group": "promoter"}}
NEWSLETTER_FORM = "newsletter"
ALIGNMENT_WEBINAR = "Webinar series: aligning sales and marketing"
RUN_ON_WEEKDAY = 1  # Tuesday
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Robin", "Kim", "Noa", "Luca", "Mia", "Omar", "Ines"]
LAST_NAMES = ["Silva", "Novak", "Berg", "Costa", "Meyer", "Rossi", "Kowalski", "Dubois", "Sato", "Okafor"]
_CLICK_LINK = re.compile(r'href="([^"]*/e/c/[^"]+)"')


class PlaybooksDemo:
    def __init__(self, *, world: World, seed: int, end: datetime) -> None:
        self.end = end
        self.rng = random.Random(seed + 15)  # noqa: S311 -- reproducible demo data, nothing secret
        self.marketer = world.users["marketer"]
        self.templates = {spec[0]: self._template(*spec[1:]) for spec in TEMPLATES}
        self.lists = {name: lists.list_save(data={"name": name, "kind": "static"}, by=self.marketer) for name in LISTS}
        self.playbooks = [self._playbook(spec) for spec in self._specs(world)]
        for playbook in self.playbooks:
            services.playbook_activate(playbook=playbook, by=self.marketer)
        # What each address was sent, newest last: (sent at, email id); and the opened ones.
        self.sent_to: dict[str, list[tuple[datetime, int]]] = {}
        self.opened: set[int] = set()
        self.counts = {"emails": 0, "opens": 0, "clicks": 0, "nps": 0, "referrals": 0}

    # --- The first day ---------------------------------------------------------------------

    def _template(
        self, name: str, kind: str, subject: str, heading: str, text: str, link: str, label: str
    ) -> EmailTemplate:
        href = link.replace("SITE", SITE)
        button = f"<p><a class='cta' href='{href}'>{label}</a></p>"
        body = f"<html><head>{STYLE}</head><body><h1>{heading}</h1><p>{text}</p>{button}{FOOTER}</body></html>"
        return email.template_save(
            data={"name": name, "kind": kind, "subject": subject, "body": body}, by=self.marketer
        )

    def _specs(self, world: World) -> list[dict[str, Any]]:
        t = {key: template.pk for key, template in self.templates.items()}
        newsletter = self.lists["Newsletter"].pk
        return [
            {
                "name": "Newsletter welcome",
                "description": "Who signs up on the newsletter form joins the list and is welcomed.",
                "trigger": {"type": "form_submitted", "form": world.forms[NEWSLETTER_FORM].key},
                "steps": [{"type": "list_add", "list": newsletter}, {"type": "email", "template": t["welcome"]}],
            },
            {
                "name": "Newsletter series",
                "description": "Two issues, four weeks apart, on Tuesday mornings.",
                "trigger": {"type": "list_joined", "list": newsletter},
                "steps": [
                    {"type": "wait_until", "weekday": 1, "hour": 8},
                    {"type": "email", "template": t["issue1"]},
                    {"type": "wait", "days": 28},
                    {"type": "email", "template": t["issue2"]},
                ],
                "exits": [{"type": "stage_reached", "stage": Stage.OPPORTUNITY}],
            },
            {
                "name": "Webinar follow-up",
                "description": (
                    "The series on alignment: the recording at once; three days later the owner hears "
                    "of attendees who have not opened the price list."
                ),
                "trigger": {"type": "event", "event": "webinar_attended", "where": {"webinar": ALIGNMENT_WEBINAR}},
                "steps": [
                    {"type": "email", "template": t["recording"]},
                    {"type": "wait", "days": 3},
                    {
                        "key": "priced",
                        "type": "branch",
                        "condition": {"op": "has_event", "event": "pricing_downloaded"},
                        "then": "exit",
                        "else": "next",
                    },
                    {"type": "notify_owner", "text": "attended the webinar and has not opened the price list yet."},
                ],
                "exits": [{"type": "stage_reached", "stage": Stage.OPPORTUNITY}],
                "reentry": "after_exit",
            },
            {
                "name": "Conversion content",
                "description": "Enrolled by the opportunity stage policy: proof and numbers, no promotion.",
                "trigger": {"type": "manual"},
                "steps": [{"type": "wait", "days": 2}, {"type": "email", "template": t["case"]}],
                "exits": [{"type": "stage_reached", "stage": Stage.CUSTOMER}],
            },
            {
                "name": "Onboarding and loyalty",
                "description": (
                    "Enrolled by the customer stage policy: a welcome, the NPS question, "
                    "and a referral invitation for promoters."
                ),
                "trigger": {"type": "manual"},
                "steps": [
                    {"type": "email", "template": t["onboarding"]},
                    {"type": "wait", "days": 21},
                    {"type": "email", "template": t["nps"]},
                    {"type": "wait", "days": 5},
                    {"key": "promoter", "type": "branch", "condition": PROMOTER, "then": "next", "else": "exit"},
                    {"type": "email", "template": t["refer"]},
                ],
            },
            {
                "name": "Recycled nurture",
                "description": "Enrolled by the recycled stage policy: a gentle nudge a few weeks later.",
                "trigger": {"type": "manual"},
                "steps": [{"type": "wait", "days": 21}, {"type": "email", "template": t["nudge"]}],
                "reentry": "after_exit",
            },
        ]

    def _playbook(self, spec: dict[str, Any]) -> Playbook:
        return services.playbook_save(data=spec, by=self.marketer)

    # --- Each evening --------------------------------------------------------------------------

    def evening(self, moment: datetime) -> None:
        """The worker's and beat's playbook work, run on Tuesday evenings and when the demo
        ends: each run does what the week brought, so the year's email goes out in weekly sends.
        (Evenings, when the day's work is all done: the demo runs each day's moments in order.)
        Nightly runs would add half again to the seed's time for the same emails."""
        last = moment >= self.end - timedelta(days=1)
        if timezone.localdate(moment).weekday() != RUN_ON_WEEKDAY and not last:
            return
        with at(moment), quieter("playbooks.email.backends"):
            triggers.enrolments_follow_history()
            triggers.enrolments_follow_rows(now=moment)
            runner.enrolments_run_due(now=moment)
            sent = self._outbox_send()
        self._customers_answer(sent, moment)

    def _outbox_send(self) -> list[int]:
        queued = list(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED).values_list("pk", flat=True))
        if not queued:
            return []
        email.outbox_send_many(email_ids=queued, chunk=len(queued))
        sent = OutboundEmail.objects.filter(pk__in=queued, status=OutboundEmail.Status.SENT)
        for email_id, address, sent_at in sent.values_list("pk", "to_email", "sent_at"):
            self.sent_to.setdefault(address, []).append((sent_at, email_id))
        self.counts["emails"] += len(queued)
        return queued

    # --- What people do with their email ---------------------------------------------------------

    def touch(self, address: str, touch: Touch) -> bool:
        """An open or click in a person's journey, made on the newest email the product sent
        them in the month before, if any (else it arrives as the journey's own event)."""
        if touch.type not in ("email_opened", "email_clicked"):
            return False
        recent = [
            email_id
            for sent_at, email_id in self.sent_to.get(address, ())
            if touch.at - timedelta(days=30) <= sent_at <= touch.at
        ]
        if not recent or (touch.type == "email_opened" and recent[-1] in self.opened):
            return False
        sent = OutboundEmail.objects.get(pk=recent[-1])
        self.opened.add(sent.pk)
        with at(touch.at):
            if touch.type == "email_opened":
                email.email_opened(token=_token(_pixel(sent)))
                self.counts["opens"] += 1
            else:
                links = _CLICK_LINK.findall(sent.html)
                if not links:
                    return False
                email.email_clicked(token=_token(links[0]))
                self.counts["clicks"] += 1
        return True

    def _customers_answer(self, sent: list[int], moment: datetime) -> None:
        """Most customers answer the NPS question within a day or two; some promoters who get
        the referral invitation bring a colleague through their link."""
        asked = OutboundEmail.objects.filter(pk__in=sent, template=self.templates["nps"]).select_related("lead")
        for message in asked:
            if self.rng.random() < 0.6:
                score = self.rng.choices(range(11), weights=[1, 1, 1, 1, 1, 2, 3, 6, 8, 12, 10])[0]
                with at(moment + timedelta(hours=self.rng.uniform(12, 40))):
                    target = email.email_clicked(token=_token(_CLICK_LINK.findall(message.html)[0]))
                    referrals.nps_record(lead=message.lead, token=_token(target), score=score)
                self.counts["nps"] += 1
        invited = OutboundEmail.objects.filter(pk__in=sent, template=self.templates["refer"]).select_related("lead")
        for message in invited:
            if self.rng.random() < 0.5:
                referrer = Referrer.objects.get(lead=message.lead)
                with at(moment + timedelta(days=self.rng.uniform(1, 6))):
                    referrals.referral_capture(referrer=referrer, data=self._colleague(message.lead))
                self.counts["referrals"] += 1

    def _colleague(self, lead: Lead) -> dict[str, Any]:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        domain = lead.email.rsplit("@", 1)[-1]
        number = self.rng.randrange(10, 99)
        return {
            "email": f"{first}.{last}{number}@{domain}".lower(),
            "first_name": first,
            "last_name": last,
            "company": lead.company,
            "consent": True,
        }


def _pixel(message: OutboundEmail) -> str:
    found = re.search(r'src="([^"]*/e/o/[^"]+)"', message.html)
    return found.group(1) if found else ""


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
