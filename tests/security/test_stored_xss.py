"""Stored XSS, page by page: every text a user or an integration can set is filled with an
attack, then every page of the app is opened as each role that may open it, and none may hold
anything a browser would run (tests.bad_input.live_markup).

The company of tests/browser/pages_world.py is built through the product's services, then each
of its settable texts is overwritten with the attack, as if each had come in that way (the API
and form entry points are held to storing such text as given in test_entry_points.py). Two
passes: markup that breaks out of text and attributes, and a javascript: URL in every text, for
any text that a page might put in a link.
"""

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import models
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from leads.models import Event, Lead
from playbooks.email import services as email
from playbooks.models import EmailTemplate, OutboundEmail
from reports.pack.selectors import last_week
from reports.pack.services import meeting_pack_build, pack_email_context
from tests.bad_input import XSS, XSS_SCRIPT_CONTEXT, XSS_TEMPLATE, live_markup
from tests.browser.pages_world import World, build_world
from tests.browser.test_every_page import PAGES, VISITOR

# Shortest complete attack first, so a short column still holds one whole.
BREAKOUT = (
    '"><svg onload=alert(1)>'
    "'><img src=x onerror=alert(1)>"
    "</textarea></title><script>alert(1)</script>"
    '" autofocus onfocus="alert(1)'
    "<a href=javascript:alert(1)>x</a>"
)
JS_URL = "javascript:alert(1)//"

# (model label, field): what users and integrations type. Left out: keys, codes and types that
# are checked against a pattern on the way in, email addresses, two-letter countries, and the
# product's own text (job errors, message HTML, which is shown sandboxed and tested apart).
SETTABLE = {
    "leads.Campaign": ["name", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"],
    "leads.CampaignCost": ["note"],
    "leads.Lead": ["first_name", "last_name", "phone", "company", "title", "industry", "website"],
    "leads.Lead+source": ["source", "last_source"],
    "leads.Event": ["idempotency_key"],
    "leads.StageChange": ["reason", "note"],
    "leads.CaptureForm": ["name", "consent_text", "thank_you_url"],
    "leads.SavedView": ["name", "query"],
    "leads.QualificationDefinition": ["name", "notes"],
    "leads.Team": ["name"],
    "leads.AssignmentRule": ["name"],
    "leads.AssignmentLog": ["reason", "note"],
    "leads.Reason": ["label"],
    "leads.Activity": ["outcome", "note"],
    "leads.DealStage": ["name"],
    "leads.Deal": ["name", "lost_note"],
    "leads.DealChange": ["note"],
    "leads.Notification": ["text"],
    "leads.Persona": ["name", "description"],
    "leads.ScoringRule": ["name"],
    "playbooks.EmailTemplate": ["name", "subject"],
    "playbooks.OutboundEmail": ["subject", "cause", "detail"],
    "playbooks.Suppression": ["detail"],
    "playbooks.LeadList": ["name", "description"],
    "playbooks.Playbook": ["name", "description"],
    "playbooks.Enrollment": ["cause", "exit_reason"],
    "playbooks.StepRun": ["detail"],
    "playbooks.WebhookDelivery": ["last_error"],
    "reports.ActionItem": ["text"],
    "auth.User": ["first_name", "last_name"],
}


def stamp(payload: str) -> None:
    """Every settable text of every row becomes `payload`, cut to the column's length and ended
    with the row's id (some columns are unique)."""
    for label, names in SETTABLE.items():
        model = apps.get_model(label.split("+")[0])
        fields = [model._meta.get_field(name) for name in names]
        assert all(isinstance(field, models.CharField | models.TextField) for field in fields), label
        for pk in model.objects.values_list("pk", flat=True):
            model.objects.filter(pk=pk).update(**{field.name: _cut(payload, field, f" {pk}") for field in fields})
    Event.objects.update(properties={"title": payload, "url": JS_URL, "referrer": payload})


def _cut(payload: str, field: models.Field, suffix: str) -> str:
    return payload[: field.max_length - len(suffix)] + suffix if field.max_length else payload + suffix


def every_page(world: World) -> list[tuple[str, str, str]]:
    """(role, name, path) of each page each role may open, as the every-page browser test lists them."""
    visits = []
    for name, spec in PAGES.items():
        if spec.reach is not None or name.startswith("test-"):
            continue  # a page only a step before leads to, or an error page of that test's own
        path = reverse(name, kwargs=spec.kwargs(world))
        visits += [(role, name, path) for role in spec.roles if spec.status == 200]
    # The partials htmx loads into pages, and the message HTML the pages frame.
    preview = reverse("playbooks:email-template-preview-html", args=[world.email_template])
    return visits + [
        *((role, "leads:notification_bell", reverse("leads:notification_bell")) for role in ("rep", "manager")),
        ("marketer", "playbooks:lead-playbooks", reverse("playbooks:lead-playbooks", args=[world.lead])),
        ("marketer", "playbooks:email-template-preview-html", f"{preview}?lead={world.other_lead}"),
        ("marketer", "playbooks:outbox-email-html", reverse("playbooks:outbox-email-html", args=[world.outbox_email])),
    ]


def clients() -> dict[str, Client]:
    # A server error is answered as the product answers it (500), so one test lists them all.
    made = {VISITOR: Client(raise_request_exception=False)}
    for user in User.objects.filter(username__in=["marketer", "rep", "manager"]):
        made[user.username] = Client(raise_request_exception=False)
        made[user.username].force_login(user)
    return made


@pytest.fixture
def world(transactional_db: None, settings: Any, tmp_path: Any) -> World:
    """Committed, as in the browser test: on PostgreSQL the history's readers that hand leads to
    the reps see only committed moves."""
    settings.MEDIA_ROOT = tmp_path
    return build_world()


@pytest.mark.parametrize("payload", [BREAKOUT, JS_URL], ids=["markup", "javascript-url"])
def test_no_page_runs_what_users_and_integrations_typed(world: World, payload: str) -> None:
    stamp(payload)
    by_role = clients()
    shown_as_text = escape(payload[:20])
    problems, opened, showing = [], 0, set()
    for role, name, path in every_page(world):
        response = by_role[role].get(path)
        if response.status_code != 200:
            problems.append(f"{role} {name}: answered {response.status_code}")
            continue
        opened += 1
        html = response.content.decode()
        showing |= {name} if shown_as_text in html else set()
        problems += [f"{role} {name}: {live}" for live in live_markup(html)]
    assert opened > 100  # every page, by every role that may open it
    assert not problems, "\n".join(problems)
    # The attack did reach the pages, shown as the text it is.
    assert {"leads:list", "leads:detail", "leads:campaign", "playbooks:playbook", "playbooks:list"} <= showing
    assert "playbooks:lead-playbooks" in showing
    assert len(showing) > 40, sorted(showing)
    assert live_markup(the_emails_written_now(world)) == []


def the_emails_written_now(world: World) -> str:
    """The HTML of what is mailed from the stamped texts: the newsletter to its stamped lead,
    and the week's meeting pack to the managers."""
    lead = Lead.objects.get(pk=world.other_lead)
    template = EmailTemplate.objects.get(pk=world.email_template)
    newsletter = email.email_queue(lead=lead, template=template, cause="again")
    pack = meeting_pack_build(monday=last_week(), email=False)
    message = OutboundEmail.objects.get(pk=newsletter.pk)
    assert lead.first_name in message.text, newsletter.reason  # rendered from the stamped name, as text
    return message.html + render_to_string("reports/pack/email.html", pack_email_context(pack))


@pytest.mark.parametrize("payload", XSS)
def test_the_judge_sees_each_attack_when_it_is_live_and_not_when_escaped(payload: str) -> None:
    live = f"<p>{payload}</p><a href=\"{payload}\">x</a><b title='{payload}'>x</b><i class={payload}>x</i>"
    # Text that is no markup outside a script or a template: template syntax, JS string
    # breakouts, a comment that matters only inside <script>, and a NUL in a tag name.
    alone = XSS_TEMPLATE + XSS_SCRIPT_CONTEXT[2:5] + ["<!--<script>alert(1)//-->"]
    if payload not in alone and "\x00" not in payload:
        assert live_markup(live), payload
    assert not live_markup(f'<p>{escape(payload)}</p><a href="/leads/?q={escape(payload)}">x</a>')


# What the pages read from their query strings (filters, searches, periods, the way back).
QUERY_NAMES = [
    "q", "search", "status", "stage", "owner", "source", "campaign", "channel", "kind", "log", "copy", "lead",
    "from", "to", "period", "month", "week", "figure", "ordering", "model", "by", "utm_source", "utm_campaign",
    "team", "rep", "reason", "unread", "score", "export_", "view",
]  # fmt: skip


@pytest.mark.parametrize("payload", [BREAKOUT, JS_URL, "a\x00b"], ids=["markup", "javascript-url", "nul"])
def test_no_page_runs_what_its_query_string_says_and_none_fails_on_it(world: World, payload: str) -> None:
    by_role = clients()
    problems = []
    query = dict.fromkeys(QUERY_NAMES, payload) | {"next": JS_URL}
    for role, name, path in every_page(world):
        response = by_role[role].get(path, query)
        if response.status_code >= 500 or response.status_code in (301, 302) and "javascript" in response["Location"]:
            problems.append(f"{role} {name}: answered {response.status_code}")
            continue
        problems += [f"{role} {name}: {live}" for live in live_markup(response.content.decode())]
    assert not problems, "\n".join(problems)
