"""The permission matrix's world: the every-page world (tests/browser/pages_world.py) and a
second side beside it, so that each kind of object that belongs to someone exists as one's own
and as another's.

The users the matrix logs in as are the first side's: `marketer`, `rep` and `manager` (who runs
the rep's team), and `nobody`, a login without a role. The second side is another team, DACH,
run by `manager2`, whose rep `rep3` holds a lead with an open deal, and things of theirs: a saved
view, a background job, an action item. Public links come signed and forged.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import make_user
from leads.capture import imports
from leads.models import Deal, Job, Lead
from leads.sales import manual_handoff, teams, worklog
from leads.services import saved_view_create
from playbooks.email import tracking
from playbooks.models import Enrollment, ListMembership, OutboundEmail
from reports.pack.selectors import last_week
from reports.pack.services import action_item_add, meeting_pack_build
from smarketing.roles import Role
from tests.browser.pages_world import IMPORT_CSV, World, build_world

MARKETER, REP, MANAGER, NOBODY, ANONYMOUS = "marketer", "rep", "manager", "nobody", "anonymous"
ROLES = (MARKETER, REP, MANAGER, NOBODY, ANONYMOUS)


@dataclass(frozen=True)
class Side:
    """One side's objects that belong to someone: `by_user` holds those each user has of their own."""

    lead: int
    deal: int
    team: int
    rep: int  # a rep in `team`
    by_user: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class MatrixWorld:
    pages: World  # the every-page world's ids: campaigns, definitions, playbooks, lists, …
    own: Side
    other: Side
    users: dict[str, User]
    week: str  # last week's meeting pack
    enrolment: int
    backtest_job: int  # the draft definition's backtest
    upload: dict[str, Any]  # a stored CSV upload, the draft a marketer maps before importing
    tokens: dict[str, str]  # signed public links' tokens, by URL name
    forged: dict[str, str]  # the same, changed by one character


def build_matrix_world() -> MatrixWorld:
    pages = build_world()
    users = {name: User.objects.get(username=name) for name in (MARKETER, REP, MANAGER)}
    users[NOBODY] = make_user("nobody")
    other_manager = make_user("manager2", Role.MANAGER)
    other_rep = make_user("rep3", Role.SALES)
    other_team = teams.team_create(by=other_manager, name="DACH", manager=other_manager)
    teams.team_rep_add(team=other_team, rep=other_rep, by=other_manager)
    other_lead = Lead.objects.filter(owner__isnull=True, handoff__isnull=True, stage="lead").order_by("id").first()
    manual_handoff.lead_hand_off_by_hand(lead=other_lead, by=other_manager, rep=other_rep, note="Knows them")
    other_deal = worklog.lead_accept(lead=other_lead, by=other_rep)
    theirs = _belongings(other_manager, last_week())
    week = meeting_pack_build(monday=last_week(), email=False).week
    own = Side(
        lead=pages.lead,
        deal=pages.deal,
        team=pages.team,
        rep=users[REP].pk,
        by_user={name: _belongings(user, last_week()) for name, user in users.items()},
    )
    other = Side(
        lead=other_lead.pk,
        deal=other_deal.pk,
        team=other_team.pk,
        rep=other_rep.pk,
        by_user=dict.fromkeys(users, theirs),
    )
    assert Deal.objects.get(pk=other_deal.pk).owner_id == other_rep.pk
    tokens = _tokens(pages)
    return MatrixWorld(
        pages=pages,
        own=own,
        other=other,
        users=users,
        week=week,
        backtest_job=Job.objects.get(kind="backtest", params__definition_id=pages.draft).pk,
        upload=vars(imports.import_store_upload(upload=SimpleUploadedFile("contacts.csv", IMPORT_CSV.encode()))),
        enrolment=Enrollment.objects.get(playbook_id=pages.playbook, lead_id=pages.lead).pk,
        tokens=tokens,
        forged={name: token[:-1] + ("A" if token[-1] != "A" else "B") for name, token in tokens.items()},
    )


def _belongings(user: User, monday: Any) -> dict[str, int]:
    """What a user has of their own: a saved view, a background job, an action item they opened."""
    things = {
        "view": saved_view_create(owner=user, name=f"{user.username}'s SQLs", query="stage=sql", shared=False).pk,
        "job": Job.objects.create(kind="rescore", params={}, total=0, created_by=user, status="done").pk,
    }
    if user.groups.filter(name__in=[Role.MARKETING.value, Role.MANAGER.value]).exists():
        item = action_item_add(monday=monday, text=f"{user.username} follows up", owner=None, due=None, by=user)
        things["action_item"] = item.pk
    return things


def _tokens(pages: World) -> dict[str, str]:
    sent = OutboundEmail.objects.get(pk=pages.outbox_email)
    urls = {
        "email:open": tracking.open_url(sent.pk),
        "email:click": tracking.click_url(sent.pk, "https://example.com/pricing"),
        "email:unsubscribe": tracking.unsubscribe_url(sent.lead_id, sent.pk),
    }
    tokens = {name: url.rstrip("/").rsplit("/", 1)[1] for name, url in urls.items()}
    tokens["referrals:nps"] = pages.nps_token
    return tokens


def list_member(world: MatrixWorld) -> dict[str, int]:
    membership = ListMembership.objects.filter(list_id=world.pages.lead_list).order_by("id").first()
    return {"pk": membership.list_id, "lead_pk": membership.lead_id}
