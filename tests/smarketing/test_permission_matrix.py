"""Who gets what from every page and API operation: the permission matrix.

MATRIX holds one entry per URL name in the URL configuration, written once: for each method the
view answers, which roles it lets in and with what status, what everyone else gets, and, where
the URL names something that belongs to someone (a lead, a deal, a team, a saved view, a job, an
action item, a signed link), how to build its kwargs for the user's own object and for another's.
`test_every_route_is_in_the_matrix` reads the routes with `get_resolver()`: a view added later
fails it, by name, until it has an entry. Each entry is then requested as every role (marketer,
rep, manager, `nobody` — a login without a role — and an anonymous visitor), on one's own object
and another's; a refused unsafe request must leave the database as it was. Django's admin is
checked apart, as staff only.

To add a view: give its URL name an entry in MATRIX, e.g.
`"leads:thing": html(page(EDITORS), page(EDITORS, 302), lead, owned=True)`: `page`, `api`,
`everyone` and `link` say who gets what for a method (`others` what a role gets on another's
object), `html` and `reads` pair a page's GET and POST, `Entry` lists an API view's methods, and
`lead`, `deal`, `team`, `mine(...)` or `ids(...)` fill the URL's kwargs. Then run this module.
"""

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from leads.capture.views import SESSION_KEY
from leads.models import Lead
from playbooks.email.webhooks import webhook_urls
from tests.smarketing.permission_world import (
    ANONYMOUS,
    MANAGER,
    MARKETER,
    NOBODY,
    REP,
    MatrixWorld,
    Side,
    build_matrix_world,
    list_member,
)

LOGIN = "302 to login"  # a redirect to the login page
ANY_ROLE = (MARKETER, REP, MANAGER)
LOGGED_IN = (*ANY_ROLE, NOBODY)
EDITORS = (MARKETER, MANAGER)
SALES = (REP, MANAGER)
OWN, OTHER, ANY = "own", "other's", "any"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
REFUSALS = (LOGIN, 400, 401, 403, 404, 405, 409)

Answer = int | str


@dataclass(frozen=True)
class Answers:
    """What one method answers: `ok` to the allowed roles (`others` overrides it, per role, on
    another's object), `refused` to the other logged-in roles, `anonymous` to a visitor."""

    allowed: tuple[str, ...]
    ok: Answer | dict[str, Answer]  # one answer, or one per allowed role
    refused: Answer = 403
    anonymous: Answer = LOGIN
    others: dict[str, Answer] = field(default_factory=dict)

    def expected(self, role: str, whose: str) -> Answer:
        if role == ANONYMOUS:
            return self.anonymous
        if role not in self.allowed:
            return self.refused
        ok = self.ok[role] if isinstance(self.ok, dict) else self.ok
        return self.others.get(role, ok) if whose == OTHER else ok


def page(allowed: tuple[str, ...], ok: Answer = 200, **more: Any) -> Answers:
    """A page or form: a visitor is sent to log in, a logged-in user without the role gets 403."""
    return Answers(allowed, ok, **more)


def api(allowed: tuple[str, ...], ok: Answer = 200, **more: Any) -> Answers:
    """An API operation: 401 without credentials (token authentication comes first), 403 without the role."""
    return Answers(allowed, ok, anonymous=401, **more)


def everyone(answer: Answer, *, logged_in: Answer | None = None) -> Answers:
    """The same answer for all (a public link, or a method a view refuses before it asks who)."""
    return Answers(LOGGED_IN, answer if logged_in is None else logged_in, anonymous=answer)


def link(answer: Answer) -> Answers:
    """A link from a message, for whoever holds it: a changed token is refused (400)."""
    return Answers(LOGGED_IN, answer, anonymous=answer, others=dict.fromkeys(LOGGED_IN, 400))


POST_ONLY = everyone(405)  # @require_POST before the role check: any other method is refused first

# Another's object: a rep never sees another rep's lead or deal, a manager works only their own
# teams' (DESIGN: "anything another user may not see answers 404").
NOT_THE_REPS = {REP: 404}
NOT_THEIR_TEAMS = {REP: 404, MANAGER: 404}

Kwargs = Callable[[MatrixWorld, str, str], dict[str, Any]]


def side(world: MatrixWorld, whose: str) -> Side:
    return world.other if whose == OTHER else world.own


def mine(thing: str, key: str = "pk") -> Kwargs:
    """The URL names a thing of the user's own (or, as `other's`, of manager2's side)."""
    return lambda w, role, whose: {key: side(w, whose).by_user.get(role, side(w, whose).by_user[REP])[thing]}


def lead(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    return {"pk": side(w, whose).lead}


def deal(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    return {"pk": side(w, whose).deal}


def team(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    return {"pk": side(w, whose).team}


def team_rep(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    return {"pk": side(w, whose).team, "rep_id": side(w, whose).rep}


def action_item(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    item = side(w, whose).by_user.get(role, {}).get("action_item", w.other.by_user[MANAGER]["action_item"])
    return {"week": w.week, "pk": item}


def signed(name: str, key: str = "token") -> Kwargs:
    """A link from a message: as signed (`own`), or changed by one character (`other's`)."""
    return lambda w, role, whose: {key: (w.forged if whose == OTHER else w.tokens)[name]}


def ids(**fields: str) -> Kwargs:
    """Ids from the every-page world that belong to nobody in particular (campaigns, playbooks, …)."""
    return lambda w, role, whose: {key: getattr(w.pages, attr) for key, attr in fields.items()}


def no_kwargs(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Entry:
    """One URL name: the answer to each method and how to fill its kwargs.

    `owned` entries are requested on the user's own object and on another's; `prepare` runs on
    the logged-in client first (e.g. keeps an upload in its session); `data` is the body of
    unsafe requests (JSON for the API, a form otherwise)."""

    methods: dict[str, Answers]
    kwargs: Kwargs = no_kwargs
    owned: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Client, MatrixWorld, str], None] | None = None
    read_only: bool = False  # a POST that is let in must change nothing either


def html(get: Answers, post: Answers, kwargs: Kwargs = no_kwargs, **more: Any) -> Entry:
    return Entry({"GET": get, "POST": post}, kwargs, **more)


def reads(answers: Answers, kwargs: Kwargs = no_kwargs, **more: Any) -> Entry:
    """A page that only reads: a POST renders it as a GET does (and changes nothing)."""
    return Entry({"GET": answers, "POST": answers}, kwargs, read_only=True, **more)


def keep_the_upload_in_the_session(client: Client, world: MatrixWorld, whose: str) -> None:
    """The mapping page opens only the user's own upload, kept in their session at upload time."""
    if whose == OWN:
        session = client.session
        session[SESSION_KEY] = {world.upload["token"]: world.upload}
        session.save()


def upload_token(w: MatrixWorld, role: str, whose: str) -> dict[str, Any]:
    return {"token": uuid.UUID(w.upload["token"])}


WEBHOOKS = {
    pattern.name: html(everyone(404), everyone(404)) for pattern in webhook_urls()
}  # machines post to them; off (404) until ANYMAIL_WEBHOOK_SECRET is set

MATRIX: dict[str, Entry] = {
    # --- Logging in, the landing page, accounts ------------------------------------------------
    "home": reads(page(ANY_ROLE)),
    # An empty POST to a form of these pages names its missing fields (400); a used-up reset link
    # is the page that says so, whatever is sent to it.
    "login": html(everyone(200, logged_in=302), everyone(400, logged_in=302)),
    "logout": html(everyone(405), everyone(302)),
    "password_change": html(page(LOGGED_IN), page(LOGGED_IN, 400)),
    "password_change_done": html(page(LOGGED_IN), page(LOGGED_IN, 405)),
    "accounts:password-reset": html(everyone(200), everyone(400)),
    "accounts:password-reset-done": html(everyone(200), everyone(405)),
    "accounts:password-reset-confirm": html(
        everyone(200), everyone(200), lambda w, r, o: {"uidb64": "MQ", "token": "used-up"}
    ),
    "accounts:password-reset-complete": html(everyone(200), everyone(405)),
    "accounts:logins": reads(page((MANAGER,))),
    "accounts:logins-unlock": html(page((MANAGER,), 405), page((MANAGER,), 400)),
    # --- Leads -----------------------------------------------------------------------------------
    "leads:list": reads(page(ANY_ROLE)),
    "leads:detail": reads(page(ANY_ROLE, others=NOT_THE_REPS), lead, owned=True),
    "leads:export": reads(page(ANY_ROLE)),
    # A person's data, exported or erased: managers only, any lead (they open every one).
    "leads:data_export": reads(page((MANAGER,)), lead, owned=True),
    "leads:data_erase": html(page((MANAGER,)), page((MANAGER,), 400), lead, owned=True),
    "leads:bulk_owner": html(POST_ONLY, page(EDITORS, 302)),
    "leads:view_save": html(POST_ONLY, page(ANY_ROLE, 400)),
    "leads:view_delete": html(
        POST_ONLY, page(ANY_ROLE, 302, others={r: 404 for r in ANY_ROLE}), mine("view"), owned=True
    ),
    # Every fact on a lead's form is optional: an empty POST saves them cleared and goes back to the lead.
    "leads:edit": html(page(EDITORS), page(EDITORS, 302), lead, owned=True),
    "leads:merge": reads(page(EDITORS), lead, owned=True),
    # Marketing and managers open every lead: merging two is theirs to do, whoever holds them.
    "leads:merge_confirm": html(page(EDITORS), page(EDITORS, 302), ids(pk="lead", other_pk="other_lead")),
    "leads:imports": reads(page(EDITORS)),
    "leads:import_new": html(page(EDITORS), page(EDITORS, 400)),
    "leads:import_map": html(
        page(EDITORS, others={MARKETER: 404, MANAGER: 404}),
        page(EDITORS, 400, others={MARKETER: 404, MANAGER: 404}),
        upload_token,
        owned=True,
        prepare=keep_the_upload_in_the_session,
    ),
    "leads:import_detail": reads(page(EDITORS), ids(pk="import_job")),
    "leads:import_status": reads(page(EDITORS), ids(pk="import_job")),
    "leads:import_errors": reads(page(EDITORS), ids(pk="import_job")),
    "leads:job": reads(page(LOGGED_IN, others={MARKETER: 404, REP: 404, NOBODY: 404}), mine("job"), owned=True),
    # --- Capture: campaigns and forms ------------------------------------------------------------
    "leads:campaigns": reads(page(EDITORS)),
    "leads:campaign_new": html(page(EDITORS), page(EDITORS, 400)),
    "leads:campaign": reads(page(EDITORS), ids(pk="campaign")),
    "leads:campaign_edit": html(page(EDITORS), page(EDITORS, 400), ids(pk="campaign")),
    "leads:campaign_cost_add": html(page(EDITORS, 405), page(EDITORS, 400), ids(pk="campaign")),
    "leads:campaign_cost_remove": html(page(EDITORS), page(EDITORS, 302), ids(pk="campaign", cost_pk="cost")),
    "leads:forms": reads(page(EDITORS)),
    "leads:form_new": html(page(EDITORS), page(EDITORS, 400)),
    "leads:form_detail": reads(page(EDITORS), ids(pk="form")),
    "leads:form_edit": html(page(EDITORS), page(EDITORS, 400), ids(pk="form")),
    "capture-page": reads(everyone(200), ids(key="form_key")),
    "capture-thanks": reads(everyone(200), ids(key="form_key")),
    # --- Scoring ---------------------------------------------------------------------------------
    "leads:personas": reads(page(EDITORS)),
    "leads:persona_create": html(page(EDITORS), page(EDITORS, 400)),
    "leads:persona_edit": html(page(EDITORS), page(EDITORS, 400), ids(pk="persona")),
    "leads:persona_active": html(page(EDITORS), page(EDITORS, 302), ids(pk="persona")),
    "leads:scoring": reads(page(EDITORS)),
    "leads:rule_create": html(page(EDITORS), page(EDITORS, 400)),
    "leads:rule_edit": html(page(EDITORS), page(EDITORS, 400), ids(pk="rule")),
    "leads:rule_active": html(page(EDITORS), page(EDITORS, 302), ids(pk="rule")),
    # --- Qualification ---------------------------------------------------------------------------
    "leads:definitions": reads(page(ANY_ROLE)),
    "leads:definition_new": html(page(EDITORS), page(EDITORS, 302)),
    "leads:definition": reads(page(ANY_ROLE), ids(pk="draft")),
    "leads:definition_edit": html(page(EDITORS), page(EDITORS, 302), ids(pk="draft")),
    "leads:definition_propose": html(page(EDITORS, 405), page(EDITORS, 302), ids(pk="draft")),
    "leads:definition_sign": html(page(ANY_ROLE, 405), page(ANY_ROLE, 400), ids(pk="draft")),
    "leads:definition_activate": html(page(EDITORS, 405), page(EDITORS, 400), ids(pk="draft")),
    "leads:definition_retire": html(page((MANAGER,)), page((MANAGER,), 302), ids(pk="active")),
    "leads:definition_backtest": html(page(EDITORS, 405), page(EDITORS, 302), ids(pk="draft")),
    "leads:definition_review": reads(page(ANY_ROLE), ids(pk="draft")),
    "leads:definition_job": reads(page(ANY_ROLE), lambda w, r, o: {"pk": w.pages.draft, "job_pk": w.backtest_job}),
    # --- Sales: the queue, a lead's work, deals, notifications, teams ----------------------------
    "leads:queue": reads(page(SALES)),
    "leads:queue_claim": html(POST_ONLY, page((REP,), 302)),
    "leads:lead_activity": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), lead, owned=True),
    "leads:lead_accept": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), lead, owned=True),
    "leads:lead_reject": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), lead, owned=True),
    "leads:lead_recycle": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), lead, owned=True),
    "leads:lead_hand_off": html(POST_ONLY, page(EDITORS, 409), lead, owned=True),
    "leads:deals": reads(page(SALES)),
    "leads:deal_list": reads(page(SALES)),
    "leads:deal": reads(page(SALES, others=NOT_THEIR_TEAMS), deal, owned=True),
    "leads:deal_move": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), deal, owned=True),
    "leads:deal_edit": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), deal, owned=True),
    "leads:deal_won": html(POST_ONLY, page(SALES, 302, others=NOT_THEIR_TEAMS), deal, owned=True),
    "leads:deal_lost": html(POST_ONLY, page(SALES, 400, others=NOT_THEIR_TEAMS), deal, owned=True),
    # Only a manager reopens a deal (the rep's own is refused by the service, 403; this one is open: 400).
    "leads:deal_reopen": html(
        POST_ONLY, page(SALES, {REP: 403, MANAGER: 400}, others=NOT_THEIR_TEAMS), deal, owned=True
    ),
    "leads:notifications": reads(page(LOGGED_IN)),
    "leads:notifications_read": html(POST_ONLY, page(LOGGED_IN, 302)),
    "leads:notification_bell": reads(page(LOGGED_IN)),
    "leads:teams": html(page((MANAGER,)), page((MANAGER,), 400)),
    "leads:team": html(
        page((MANAGER,), others={MANAGER: 404}), page((MANAGER,), 400, others={MANAGER: 404}), team, owned=True
    ),
    "leads:team_rep_add": html(POST_ONLY, page((MANAGER,), 400, others={MANAGER: 404}), team, owned=True),
    "leads:team_rep_update": html(POST_ONLY, page((MANAGER,), 400, others={MANAGER: 404}), team_rep, owned=True),
    "leads:team_rep_remove": html(POST_ONLY, page((MANAGER,), 302, others={MANAGER: 404}), team_rep, owned=True),
    "leads:assignment_rule_new": html(page((MANAGER,)), page((MANAGER,), 400)),
    "leads:assignment_rule_edit": html(page((MANAGER,)), page((MANAGER,), 400), ids(pk="assignment_rule")),
    "leads:assignment_rule_delete": html(POST_ONLY, page((MANAGER,), 302), ids(pk="assignment_rule")),
    "leads:assignment_rule_move": html(POST_ONLY, page((MANAGER,), 302), ids(pk="assignment_rule")),
    # --- Reports ---------------------------------------------------------------------------------
    "reports:agreement": reads(page(ANY_ROLE)),
    "reports:agreement_edit": html(page((MANAGER,)), page((MANAGER,), 400)),
    "reports:roi": reads(page(EDITORS)),
    "reports:campaign-roi": reads(page(EDITORS), ids(pk="campaign")),
    "reports:win-loss": reads(page(EDITORS)),
    "reports:funnel": reads(page(EDITORS)),
    "reports:dashboard": reads(page(ANY_ROLE)),
    "reports:dashboard-leads": reads(page(ANY_ROLE, 400)),
    "reports:meeting-packs": reads(page(EDITORS)),
    "reports:meeting-pack-build": html(POST_ONLY, page((MANAGER,), 302)),
    "reports:meeting-pack": reads(page(EDITORS), lambda w, r, o: {"week": w.week}),
    "reports:meeting-pack-csv": reads(page(EDITORS), lambda w, r, o: {"week": w.week}),
    "reports:action-item-add": html(POST_ONLY, page(EDITORS, 400), lambda w, r, o: {"week": w.week}),
    "reports:action-item-assign": html(POST_ONLY, page((MANAGER,), 302), action_item, owned=True),
    "reports:action-item-close": html(POST_ONLY, page(EDITORS, 302, others={MARKETER: 403}), action_item, owned=True),
    "audit:changes": reads(page((MANAGER,))),
    # --- Playbooks, email, lists, referrals ------------------------------------------------------
    "playbooks:playbooks": reads(page(EDITORS)),
    "playbooks:playbook-new": html(page(EDITORS), page(EDITORS, 400)),
    "playbooks:playbook": reads(page(EDITORS), ids(pk="playbook")),
    "playbooks:playbook-edit": html(page(EDITORS), page(EDITORS, 400), ids(pk="playbook")),
    "playbooks:playbook-activate": html(POST_ONLY, page(EDITORS, 302), ids(pk="playbook")),
    "playbooks:playbook-pause": html(POST_ONLY, page(EDITORS, 302), ids(pk="playbook")),
    "playbooks:playbook-dry-run": reads(page(EDITORS), ids(pk="playbook")),
    "playbooks:playbook-enrol-list": html(POST_ONLY, page(EDITORS, 302), ids(pk="playbook")),
    "playbooks:playbook-delete": html(POST_ONLY, page(EDITORS, 302), ids(pk="playbook")),
    "playbooks:enrolment-remove": html(POST_ONLY, page(EDITORS, 302), lambda w, r, o: {"pk": w.enrolment}),
    # A lead's playbooks, a panel of its page: whoever opens the lead reads it; marketing and
    # managers enrol it (an empty POST names no playbook: 400).
    "playbooks:lead-playbooks": html(
        page(ANY_ROLE, others=NOT_THE_REPS),
        page(ANY_ROLE, {MARKETER: 400, MANAGER: 400, REP: 403}, others=NOT_THE_REPS),
        lead,
        owned=True,
    ),
    "playbooks:email-templates": reads(page(EDITORS)),
    "playbooks:email-template-new": html(page(EDITORS), page(EDITORS, 400)),
    "playbooks:email-template": html(page(EDITORS), page(EDITORS, 400), ids(pk="email_template")),
    "playbooks:email-template-preview": reads(page(EDITORS), ids(pk="email_template")),
    "playbooks:email-template-preview-html": reads(page(EDITORS), ids(pk="email_template")),
    "playbooks:email-template-test": html(page(EDITORS, 405), page(EDITORS, 302), ids(pk="email_template")),
    "playbooks:outbox": reads(page(EDITORS)),
    "playbooks:outbox-email": reads(page(EDITORS), ids(pk="outbox_email")),
    "playbooks:outbox-email-html": reads(page(EDITORS), ids(pk="outbox_email")),
    "playbooks:outbox-retry": html(page(EDITORS, 405), page(EDITORS, 400), ids(pk="outbox_email")),
    "playbooks:lists": reads(page(EDITORS)),
    "playbooks:list-new": html(page(EDITORS), page(EDITORS, 400)),
    "playbooks:list-preview": reads(page(EDITORS)),
    "playbooks:list": reads(page(EDITORS), ids(pk="lead_list")),
    "playbooks:list-edit": html(page(EDITORS), page(EDITORS, 400), ids(pk="segment")),
    "playbooks:list-delete": html(page(EDITORS), page(EDITORS, 302), ids(pk="segment")),
    "playbooks:list-members-add": html(page(EDITORS, 405), page(EDITORS, 302), ids(pk="lead_list")),
    "playbooks:list-member-remove": html(page(EDITORS), page(EDITORS, 302), lambda w, r, o: list_member(w)),
    "playbooks:list-import": html(page(EDITORS), page(EDITORS, 400), ids(pk="lead_list")),
    "playbooks:list-export": reads(page(EDITORS), ids(pk="lead_list")),
    "playbooks:referrals": reads(page(EDITORS)),
    "playbooks:referral-pay": html(page(EDITORS), page(EDITORS, 302), ids(pk="referral")),
    # --- Public links: the signed token is the authority -----------------------------------------
    "email:open": Entry({"GET": link(200), "POST": everyone(405)}, signed("email:open"), owned=True),
    "email:click": Entry({"GET": link(302), "POST": everyone(405)}, signed("email:click"), owned=True),
    "email:unsubscribe": Entry({"GET": link(200), "POST": link(200)}, signed("email:unsubscribe"), owned=True),
    "referrals:nps": Entry({"GET": link(200), "POST": link(400)}, signed("referrals:nps"), owned=True),
    "referrals:landing": html(everyone(200), everyone(400), ids(code="referral_code")),
    "referrals:thanks": html(everyone(200), everyone(405), ids(code="referral_code")),
    # --- The API, its schema and docs ------------------------------------------------------------
    # The schema and its docs are public (DESIGN, API essentials): they describe, they give no data.
    "schema": Entry({"GET": everyone(200)}),
    "api-docs": Entry({"GET": everyone(200)}),
    "api-me": Entry({"GET": api(LOGGED_IN)}),
    "api-leads": Entry({"GET": api(ANY_ROLE), "POST": api(EDITORS, 400)}),
    "api-lead-detail": Entry({"GET": api(ANY_ROLE, others=NOT_THE_REPS)}, lead, owned=True),
    "api-events": Entry({"POST": api(EDITORS, 400)}),
    "api-capture": Entry({"POST": everyone(400)}, lambda w, r, o: {"form_key": w.pages.form_key}),
    "api-campaigns": Entry({"GET": api(EDITORS), "POST": api(EDITORS, 400)}),
    "api-campaign-detail": Entry({"GET": api(EDITORS), "PATCH": api(EDITORS)}, ids(pk="campaign")),
    "api-campaign-costs": Entry({"GET": api(EDITORS), "POST": api(EDITORS, 400)}, ids(pk="campaign")),
    "api-campaign-cost-detail": Entry({"DELETE": api(EDITORS, 204)}, ids(pk="campaign", cost_pk="cost")),
    "api-queue": Entry({"GET": api(SALES, {REP: 200, MANAGER: 400})}),  # a manager names the rep
    "api-queue-claim": Entry({"POST": api((REP,), 204)}),
    "api-lead-accept": Entry({"POST": api(SALES, 400, others=NOT_THEIR_TEAMS)}, lead, owned=True),
    "api-lead-reject": Entry({"POST": api(SALES, 400, others=NOT_THEIR_TEAMS)}, lead, owned=True),
    "api-lead-recycle": Entry({"POST": api(SALES, 400, others=NOT_THEIR_TEAMS)}, lead, owned=True),
    "api-lead-activities": Entry(
        {"GET": api(ANY_ROLE, others=NOT_THE_REPS), "POST": api(SALES, 400, others=NOT_THEIR_TEAMS)}, lead, owned=True
    ),
    "api-deals": Entry({"GET": api(SALES), "POST": api(SALES, 400)}),
    "api-deal-stages": Entry({"GET": api(ANY_ROLE)}),
    "api-deal-detail": Entry(
        {"GET": api(SALES, others=NOT_THEIR_TEAMS), "PATCH": api(SALES, others=NOT_THEIR_TEAMS)}, deal, owned=True
    ),
    "api-deal-won": Entry({"POST": api(SALES, 200, others=NOT_THEIR_TEAMS)}, deal, owned=True),
    "api-deal-lost": Entry({"POST": api(SALES, 400, others=NOT_THEIR_TEAMS)}, deal, owned=True),
    "api-deal-reopen": Entry({"POST": api(SALES, {REP: 403, MANAGER: 400}, others=NOT_THEIR_TEAMS)}, deal, owned=True),
    "api-reasons": Entry({"GET": api(ANY_ROLE)}),
    "api-agreement": Entry({"GET": api(ANY_ROLE), "POST": api((MANAGER,), 400), "PUT": api((MANAGER,), 400)}),
    "api-reports-roi": Entry({"GET": api(EDITORS)}),
    "api-reports-win-loss": Entry({"GET": api(EDITORS)}),
    "api-reports-funnel": Entry({"GET": api(EDITORS)}),
    "api-reports-velocity": Entry({"GET": api(EDITORS)}),
    "api-reports-dashboard": Entry({"GET": api(ANY_ROLE)}),
    "api-reports-meeting-packs": Entry({"GET": api(EDITORS)}),
    "api-reports-meeting-pack": Entry({"GET": api(EDITORS)}, lambda w, r, o: {"week": w.week}),
    "api-email-templates": Entry({"GET": api(EDITORS), "POST": api(EDITORS, 400)}),
    "api-email-template-detail": Entry({"GET": api(EDITORS), "PATCH": api(EDITORS)}, ids(pk="email_template")),
    "api-lead-emails": Entry({"GET": api(ANY_ROLE, refused=404, others=NOT_THE_REPS)}, lead, owned=True),
    "api-lead-unsubscribe": Entry({"POST": api(EDITORS)}, lead, owned=True),
    "api-lists": Entry({"GET": api(EDITORS), "POST": api(EDITORS, 400)}),
    "api-list-detail": Entry(
        {"GET": api(EDITORS), "PATCH": api(EDITORS), "DELETE": api(EDITORS, 204)}, ids(pk="segment")
    ),
    "api-list-members": Entry(
        {"GET": api(EDITORS), "POST": api(EDITORS, 400), "DELETE": api(EDITORS, 400)}, ids(pk="lead_list")
    ),
    "api-referrals": Entry({"GET": api(EDITORS)}),
    "api-referral-pay": Entry({"POST": api(EDITORS)}, ids(pk="referral")),
    "api-playbooks": Entry({"GET": api(EDITORS), "POST": api(EDITORS, 400)}),
    "api-playbook-detail": Entry(
        {"GET": api(EDITORS), "PATCH": api(EDITORS), "DELETE": api(EDITORS, 400)}, ids(pk="playbook")
    ),
    "api-playbook-activate": Entry({"POST": api(EDITORS)}, ids(pk="playbook")),
    "api-playbook-pause": Entry({"POST": api(EDITORS)}, ids(pk="playbook")),
    "api-playbook-dry-run": Entry({"GET": api(EDITORS)}, ids(pk="playbook")),
    "api-lead-enrollments": Entry({"GET": api(ANY_ROLE, refused=404, others=NOT_THE_REPS)}, lead, owned=True),
    "api-notifications": Entry({"GET": api(LOGGED_IN)}),
    "api-notifications-read": Entry({"POST": api(LOGGED_IN)}),
    "api-teams": Entry({"GET": api((MANAGER,)), "POST": api((MANAGER,), 400)}),
    "api-team-detail": Entry(
        {"GET": api((MANAGER,), others={MANAGER: 404}), "PATCH": api((MANAGER,), others={MANAGER: 404})},
        team,
        owned=True,
    ),
    "api-team-reps": Entry({"POST": api((MANAGER,), 400, others={MANAGER: 404})}, team, owned=True),
    "api-team-rep": Entry(
        {"PATCH": api((MANAGER,), others={MANAGER: 404}), "DELETE": api((MANAGER,), 204, others={MANAGER: 404})},
        team_rep,
        owned=True,
    ),
    "api-assignment-rules": Entry({"GET": api((MANAGER,)), "POST": api((MANAGER,), 400)}),
    "api-assignment-rules-order": Entry({"POST": api((MANAGER,), 400)}),
    "api-assignment-rule": Entry(
        {"GET": api((MANAGER,)), "PATCH": api((MANAGER,)), "DELETE": api((MANAGER,), 204)}, ids(pk="assignment_rule")
    ),
    "api-audit": Entry({"GET": api((MANAGER,))}),
    "api-lead-export": Entry({"GET": api((MANAGER,))}, lead, owned=True),
    "api-lead-erase": Entry({"POST": api((MANAGER,), 400)}, lead, owned=True),
    "api-lead-hand-off": Entry({"POST": api(EDITORS, 409)}, lead, owned=True),
    **WEBHOOKS,
}

ADMIN_PREFIX = "admin/"  # Django's admin: staff only, checked apart (test_the_admin_is_for_staff_only)


# --- The URL configuration ---------------------------------------------------------------------


def routes(patterns: list[Any] | None = None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    """(route, name with its namespace, view) of every pattern in the URL configuration."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from routes(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            yield route, f"{namespace}{pattern.name}" if pattern.name else "", pattern.callback


def product_routes() -> dict[str, tuple[str, Any]]:
    return {name: (route, view) for route, name, view in routes() if not route.startswith(ADMIN_PREFIX)}


def api_methods(view: Any) -> set[str]:
    """The methods a DRF view answers (OPTIONS and HEAD aside)."""
    cls = getattr(view, "cls", None)
    if cls is None:
        return set()
    return {m.upper() for m in cls.http_method_names if m not in ("options", "head") and hasattr(cls, m)}


def test_every_route_is_in_the_matrix() -> None:
    found = list(routes())
    unnamed = [route for route, name, _ in found if not name and not route.startswith(ADMIN_PREFIX)]
    assert not unnamed, f"name these routes so the matrix can list them: {unnamed}"
    names = [name for route, name, _ in found if not route.startswith(ADMIN_PREFIX)]
    assert len(names) == len(set(names)), "two routes share a name"
    missing = sorted(set(names) - set(MATRIX))
    assert not missing, f"add these views to MATRIX in {__name__} (who gets what, per method): {missing}"
    gone = sorted(set(MATRIX) - set(names))
    assert not gone, f"in MATRIX but no longer routed: {gone}"


def test_every_api_method_is_in_the_matrix() -> None:
    """A method added to an API view (a DELETE beside the GET) needs its answers too."""
    wrong = {
        name: sorted(api_methods(view) ^ set(MATRIX[name].methods))
        for name, (_, view) in product_routes().items()
        if name in MATRIX and api_methods(view) and api_methods(view) != set(MATRIX[name].methods)
    }
    assert not wrong, f"methods the view answers and MATRIX does not list, or the reverse: {wrong}"


# --- The world, built once for the module --------------------------------------------------------


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MatrixWorld]:
    """Built once inside a transaction that is rolled back after the module; each test runs in a
    savepoint of its own, and each request in one more."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_matrix_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
    media.disable()


def cases() -> Iterator[Any]:
    for name, entry in MATRIX.items():
        for role in LOGGED_IN:
            for whose in (OWN, OTHER) if entry.owned else (ANY,):
                yield pytest.param(name, role, whose, id=f"{name}-{role}-{whose}")
        yield pytest.param(name, ANONYMOUS, OWN if entry.owned else ANY, id=f"{name}-{ANONYMOUS}")


# Rows no refused request may change; sessions and axes' records are the login's own bookkeeping.
UNWATCHED_APPS = {"sessions", "axes"}


def database_state() -> dict[str, str]:
    """A digest of every table's rows."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label in UNWATCHED_APPS or not model._meta.managed:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            state[model._meta.db_table] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    return state


def test_the_database_state_sees_a_change(world: MatrixWorld, db: None) -> None:
    """The check that a refused request changed nothing can fail: one field of one row shows."""
    before = database_state()
    Lead.objects.filter(pk=world.own.lead).update(title="Changed")
    assert changed_tables(before, database_state()) == [Lead._meta.db_table]


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(table for table in before if before[table] != after[table])


def request(client: Client, method: str, path: str, data: dict[str, Any], *, api: bool) -> HttpResponse:
    if method == "GET":
        return client.get(path)
    if api:
        return client.generic(method, path, json.dumps(data), content_type="application/json")
    if method == "POST":
        return client.post(path, data)
    return client.generic(method, path)


def answered(response: HttpResponse) -> Answer:
    if response.status_code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL) + "?"):
        return LOGIN
    return response.status_code


@pytest.fixture(scope="module")
def sessions(world: MatrixWorld, django_db_blocker: Any) -> dict[str, str]:
    """Each user's session, made once in the module's transaction (a login per test was a third
    of the matrix's time)."""
    keys = {}
    with django_db_blocker.unblock():
        for role, user in world.users.items():
            client = Client()
            client.force_login(user)
            keys[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return keys


def client_of(role: str, sessions: dict[str, str]) -> Client:
    client = Client()
    if role != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = sessions[role]
    return client


# Who may do what is the views' code, the same on either database: the matrix's 1,300 requests run
# once, on the embedded default (`make test`, the first stage of .ci/run); the route check runs on both.
ONCE = pytest.mark.skipif(
    "postgresql" in settings.DATABASES["default"]["ENGINE"],
    reason="the permission matrix runs once, on SQLite: permissions do not depend on the database",
)


@ONCE
@pytest.mark.parametrize(("name", "role", "whose"), list(cases()))
def test_permission_matrix(
    world: MatrixWorld, sessions: dict[str, str], db: None, name: str, role: str, whose: str
) -> None:
    entry = MATRIX[name]
    client = client_of(role, sessions)
    if role != ANONYMOUS and entry.prepare:
        entry.prepare(client, world, whose)
    kwargs = entry.kwargs(world, role, whose)
    path = reverse(name, kwargs=kwargs)
    is_api = path.startswith("/api/")
    wrong = []
    for method, answers in entry.methods.items():
        expected = answers.expected(role, whose)
        watch = method in UNSAFE and (expected in REFUSALS or entry.read_only)
        with transaction.atomic():
            before = database_state() if watch else {}
            response = request(client, method, path, entry.data, api=is_api)
            got = answered(response)
            if got != expected:
                wrong.append(f"{method} {path} answered {got}, expected {expected}")
            elif watch and (changes := changed_tables(before, database_state())):
                wrong.append(f"{method} {path} answered {got} but changed {changes}")
            transaction.set_rollback(True)
    assert not wrong, f"{name} as {role} ({whose}):\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(WEBHOOKS))
def test_an_email_webhook_refuses_a_post_without_the_shared_secret(
    world: MatrixWorld, db: None, settings: Any, name: str
) -> None:
    """Switched on, a webhook refuses whoever does not send the secret (HTTP basic auth, 400), and
    one of a service whose own key is not set here is not found (404): never a server error."""
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook-user:hook-password"}
    before = database_state()
    answer = Client().post(reverse(name), "{}", content_type="application/json")
    assert answer.status_code in (400, 404)
    assert changed_tables(before, database_state()) == []


# --- Django's admin: staff only ------------------------------------------------------------------


def admin_paths() -> list[str]:
    paths = [reverse("admin:index")]
    for model in admin.site._registry:
        paths.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    return paths


@pytest.mark.parametrize("role", [*LOGGED_IN, ANONYMOUS])
def test_the_admin_is_for_staff_only(world: MatrixWorld, sessions: dict[str, str], db: None, role: str) -> None:
    client = client_of(role, sessions)
    login = reverse("admin:login")
    let_in = [path for path in admin_paths() if not client.get(path).get("Location", "").startswith(login)]
    assert not let_in, f"the admin did not send {role} to its login: {let_in}"
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    assert staff.get(reverse("admin:index")).status_code == 200
