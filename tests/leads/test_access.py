"""Who may see what, one helper per object kind (leads, deals, background jobs, teams), per role.

The world: two teams. Rafa (rep) is in Iberia, managed by Mona (manager); Rep2 is in Nordics,
managed by another manager. Each rep holds a lead and a deal; a lead waits in Iberia's pool.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from conftest import make_user
from leads.jobs import job_for_user, jobs_visible_to
from leads.models import Deal, DealStage, Handoff, HandoffStatus, Job, Stage
from leads.sales.selectors import (
    deal_for_user,
    deals_visible_to,
    handoffs_visible_to,
    rep_for_user,
    team_for_user,
    teams_managed_by,
)
from leads.selectors import lead_for_user, lead_may_work, leads_visible_to
from smarketing.roles import Role
from tests.factories import LeadFactory
from tests.leads.sales.helpers import team_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(marketer, rep, other_rep, manager, nobody):
    boss = make_user("boss2", Role.MANAGER)
    iberia = team_with("Iberia", rep, manager=manager)
    nordics = team_with("Nordics", other_rep, manager=boss)
    stage = DealStage.objects.order_by("position").first()
    mine, theirs = LeadFactory(stage=Stage.MQL, owner=rep), LeadFactory(stage=Stage.MQL, owner=other_rep)
    pooled, unrelated = LeadFactory(stage=Stage.MQL), LeadFactory(stage=Stage.LEAD)
    for lead, holder, team in ((mine, rep, iberia), (theirs, other_rep, nordics), (pooled, None, iberia)):
        status = HandoffStatus.ASSIGNED if holder else HandoffStatus.POOLED
        due = timezone.now() + timedelta(hours=4)
        Handoff.objects.create(
            lead=lead,
            stage=Stage.MQL,
            status=status,
            team=team,
            assigned_to=holder,
            deadline=due,
            due_at=due,
            reassign_at=due,
        )
    return SimpleNamespace(
        marketer=marketer,
        rep=rep,
        other_rep=other_rep,
        manager=manager,
        boss=boss,
        nobody=nobody,
        anonymous=AnonymousUser(),
        superuser=make_user("root", is_superuser=True),
        iberia=iberia,
        nordics=nordics,
        leads={"mine": mine, "theirs": theirs, "pooled": pooled, "unrelated": unrelated},
        deals={
            "mine": Deal.objects.create(lead=mine, name="Mine", owner=rep, stage=stage),
            "theirs": Deal.objects.create(lead=theirs, name="Theirs", owner=other_rep, stage=stage),
        },
        jobs={
            "import by marketer": Job.objects.create(kind="import", created_by=marketer),
            "rescore by marketer": Job.objects.create(kind="rescore", created_by=marketer),
            "rescore by manager": Job.objects.create(kind="rescore", created_by=manager),
            "backtest by marketer": Job.objects.create(kind="backtest", created_by=marketer),
            "set_owner by rep": Job.objects.create(kind="set_owner", created_by=rep),
        },
    )


ALL_LEADS = {"mine", "theirs", "pooled", "unrelated"}


@pytest.mark.parametrize(
    ("who", "opens", "works"),
    [
        ("marketer", ALL_LEADS, set()),
        ("rep", {"mine"}, {"mine"}),
        ("other_rep", {"theirs"}, {"theirs"}),
        ("manager", ALL_LEADS, {"mine", "pooled"}),  # works their team's: their rep's and their pool's
        ("boss", ALL_LEADS, {"theirs"}),
        ("superuser", ALL_LEADS, ALL_LEADS),
        ("nobody", set(), set()),
        ("anonymous", set(), set()),
    ],
)
def test_leads_a_user_may_open_and_work(world, who, opens, works):
    user = getattr(world, who)
    names = {lead.pk: name for name, lead in world.leads.items()}
    assert {names[pk] for pk in leads_visible_to(user).values_list("pk", flat=True)} == opens
    assert {names[pk] for pk in leads_visible_to(user, work=True).values_list("pk", flat=True)} == works
    for name, lead in world.leads.items():
        assert lead_may_work(user, lead) == (name in works)
        if name in opens:
            assert lead_for_user(user, lead.pk) == lead
        else:
            with pytest.raises(Http404):
                lead_for_user(user, lead.pk)
        if name not in works:
            with pytest.raises(Http404):
                lead_for_user(user, lead.pk, work=True)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("marketer", set()),
        ("rep", {"mine"}),
        ("other_rep", {"theirs"}),
        ("manager", {"mine"}),
        ("boss", {"theirs"}),
        ("superuser", {"mine", "theirs"}),
        ("nobody", set()),
        ("anonymous", set()),
    ],
)
def test_deals_a_user_may_see(world, who, sees):
    user = getattr(world, who)
    assert {deal.name.lower() for deal in deals_visible_to(user)} == sees
    for name, deal in world.deals.items():
        if name in sees:
            assert deal_for_user(user, deal.pk) == deal
        else:
            with pytest.raises(Http404):
                deal_for_user(user, deal.pk)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("marketer", {"import by marketer", "rescore by marketer", "backtest by marketer"}),
        ("rep", {"backtest by marketer", "set_owner by rep"}),  # a definition's backtest is read by sales too
        (
            "manager",
            {
                "import by marketer",
                "rescore by marketer",
                "rescore by manager",
                "backtest by marketer",
                "set_owner by rep",
            },
        ),
        ("nobody", set()),
        ("anonymous", set()),
    ],
)
def test_background_jobs_a_user_may_follow(world, who, sees):
    user = getattr(world, who)
    names = {job.pk: name for name, job in world.jobs.items()}
    assert {names[pk] for pk in jobs_visible_to(user).values_list("pk", flat=True)} == sees
    for name, job in world.jobs.items():
        if name in sees:
            assert job_for_user(user, job.pk) == job
        else:
            with pytest.raises(Http404):
                job_for_user(user, job.pk)
    if sees:
        job = world.jobs[sorted(sees)[0]]
        with pytest.raises(Http404):  # of another kind than the page asks for
            job_for_user(user, job.pk, kinds=("no such kind",))


@pytest.mark.parametrize(
    ("who", "teams", "reps"),
    [
        ("manager", {"Iberia"}, {"rep"}),
        ("boss", {"Nordics"}, {"rep2"}),
        ("superuser", {"Iberia", "Nordics"}, {"rep", "rep2"}),
        ("rep", set(), {"rep"}),  # a rep reads their own queue, nobody else's
        ("marketer", set(), set()),
        ("nobody", set(), set()),
    ],
)
def test_teams_and_their_reps_a_user_may_manage(world, who, teams, reps):
    user = getattr(world, who)
    assert {team.name for team in teams_managed_by(user)} == teams
    for team in (world.iberia, world.nordics):
        if team.name in teams:
            assert team_for_user(user, team.pk) == team
        else:
            with pytest.raises(Http404):
                team_for_user(user, team.pk)
    for rep in (world.rep, world.other_rep):
        if rep.username in reps:
            assert rep_for_user(user, rep.pk) == rep
        else:
            with pytest.raises(Http404):
                rep_for_user(user, rep.pk)
    with pytest.raises(Http404):
        rep_for_user(user, "not a number")


def test_handoffs_follow_the_teams(world):
    assert {h.lead_id for h in handoffs_visible_to(world.rep)} == {world.leads["mine"].pk}
    assert {h.lead_id for h in handoffs_visible_to(world.manager)} == {world.leads["mine"].pk, world.leads["pooled"].pk}
    assert not handoffs_visible_to(world.marketer).exists()
