"""The demo is what the product made of a year of a company's work: checked against the product's
own rules, and against what a new user must find on the first run."""

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from leads.management.commands.seed_demo import DEMO_ADMIN, DEMO_MORE_USERS, DEMO_PASSWORD, DEMO_USERS
from leads.models import (
    Activity,
    Campaign,
    CampaignCost,
    ChangeSource,
    Deal,
    DealStage,
    DefinitionStatus,
    Event,
    Handoff,
    HandoffStatus,
    HistoryReader,
    Job,
    Lead,
    Persona,
    QualificationDefinition,
    Reason,
    ScoringRule,
    Stage,
    StageChange,
)
from leads.qualification import trees
from leads.qualification.services import leads_qualify
from smarketing.roles import Role

LEADS = 3_000  # what `make run` seeds: the first run is what these tests look at


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> str:
    """One demo for the module (it takes seconds), rolled back afterwards: the other tests keep
    the database as the migrations left it (its pipeline and reasons included)."""
    fast_hasher = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as the suite's own users have
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=fast_hasher), transaction.atomic():
        out = StringIO()
        call_command("seed_demo", "--leads", str(LEADS), stdout=out)
        # The demo's deferred foreign-key checks, run once here: left pending, each test's
        # constraint check would run them all again inside its savepoint (a minute a test on
        # PostgreSQL), since rolling that savepoint back forgets they ran.
        connection.check_constraints()
        yield out.getvalue()
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db

# Logins go through django-axes, which counts them per request.
LOGIN_REQUEST = RequestFactory().post("/login/")


def test_demo_logins_work_and_an_admin_may_open_the_admin(demo):
    for username, role in [*DEMO_USERS, *DEMO_MORE_USERS]:
        user = authenticate(LOGIN_REQUEST, username=username, password=DEMO_PASSWORD)
        assert user is not None and user.groups.filter(name=role.value).exists(), username
        assert user.get_full_name()
    admin = authenticate(LOGIN_REQUEST, username=DEMO_ADMIN, password=DEMO_PASSWORD)
    assert admin is not None and admin.is_superuser
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200


def test_every_rule_a_stage_move_cites_is_in_the_version_it_names(demo):
    versions = {d.version: d for d in QualificationDefinition.objects.all()}
    described = {
        version: {trees.describe(leaf) for tree in (d.mql_rule, d.sql_rule) if tree for leaf in trees.leaves(tree)}
        for version, d in versions.items()
    }
    by_rule = StageChange.objects.filter(source=ChangeSource.RULE)
    assert by_rule.count() > 300
    for change in by_rule:
        assert change.definition_version in versions, change
        assert change.matched_rules and set(change.matched_rules) <= described[change.definition_version], change


def test_each_move_was_made_under_the_definition_active_at_that_moment(demo):
    active = {
        d.version: (d.activated_at, d.retired_at or timezone.now())
        for d in QualificationDefinition.objects.exclude(activated_at=None)
    }
    assert len(active) == 2  # v1 from the start, v2 signed and activated during the year
    assert QualificationDefinition.objects.get(status=DefinitionStatus.ACTIVE).version == 2
    for change in StageChange.objects.filter(source=ChangeSource.RULE):
        since, until = active[change.definition_version]
        assert since <= change.changed_at <= until, change
    assert leads_qualify() == {Stage.MQL: 0, Stage.SQL: 0}  # nothing left that the product would promote


def test_each_lead_has_an_ascending_history_ending_at_its_stage(demo):
    last = {}
    for change in StageChange.objects.order_by("lead_id", "changed_at", "id"):
        before = last.get(change.lead_id)
        if before is None:
            assert change.from_stage == ""
        else:
            assert change.from_stage == before.to_stage and change.changed_at >= before.changed_at
        last[change.lead_id] = change
    for lead in Lead.objects.all():
        assert last[lead.pk].to_stage == lead.stage


def test_each_demo_rep_has_leads_in_the_queue_some_overdue_some_due_soon(demo):
    now = timezone.now()
    reps = [name for name, role in [*DEMO_USERS, *DEMO_MORE_USERS] if role == Role.SALES]
    open_by_rep = Counter(
        Handoff.objects.filter(status=HandoffStatus.ASSIGNED).values_list("assigned_to__username", flat=True)
    )
    for rep in reps:
        assert 5 <= open_by_rep[rep] <= 15, (rep, open_by_rep)
    untouched = Handoff.objects.filter(status=HandoffStatus.ASSIGNED, first_touch_at=None)
    assert untouched.filter(due_at__lt=now).exists()
    assert untouched.filter(due_at__gte=now, due_at__lt=now + timedelta(hours=24)).exists()


def test_the_pools_hold_leads_to_claim(demo):
    assert Handoff.objects.filter(status=HandoffStatus.POOLED).count() >= 20


def test_deals_in_every_stage_and_closes_with_reasons_over_past_months(demo):
    stages = set(Deal.objects.values_list("stage__name", flat=True))
    assert stages == set(DealStage.objects.values_list("name", flat=True))
    lost = Deal.objects.filter(stage__outcome=DealStage.Outcome.LOST)
    assert not lost.filter(lost_reason=None).exists()
    months = {d.closed_at.strftime("%Y-%m") for d in Deal.objects.exclude(closed_at=None)}
    assert len(months) >= 6
    won = Deal.objects.filter(stage__outcome=DealStage.Outcome.WON)
    assert won.count() >= 20 and not won.filter(amount=None).exists()
    assert Lead.objects.filter(stage=Stage.CUSTOMER).count() == won.values("lead").distinct().count()


def test_sales_rejected_and_recycled_leads_with_reasons(demo):
    reasons = set(Reason.objects.values_list("label", flat=True))
    for stage in (Stage.DISQUALIFIED, Stage.RECYCLED):
        moves = StageChange.objects.filter(to_stage=stage)
        assert moves.count() >= 10
        assert not moves.exclude(source=ChangeSource.USER).exists()
        given = {reason.removeprefix("Deal lost: ") for reason in moves.values_list("reason", flat=True)}
        assert given <= reasons


def test_reps_worked_their_leads_and_mostly_in_time(demo):
    assert Activity.objects.count() > 300
    touched = Handoff.objects.exclude(first_touch_at=None)
    late = touched.filter(first_touch_at__gt=timezone.now()).count()
    assert late == 0  # nothing happens in the future
    in_time = sum(1 for h in touched if h.first_touch_at <= h.deadline)
    assert 0.6 < in_time / touched.count() < 1.0


def test_campaigns_spend_through_the_year_and_bring_leads(demo):
    assert Campaign.objects.count() == 10
    dates = sorted(CampaignCost.objects.values_list("incurred_on", flat=True))
    assert (dates[-1] - dates[0]).days > 300
    assert Lead.objects.exclude(first_campaign=None).count() > LEADS // 2


def test_the_worker_has_nothing_left_to_do(demo):
    assert not Job.objects.exclude(status=Job.Status.DONE).exists()
    assert HistoryReader.objects.get(name="sales.handoffs").last_id == StageChange.objects.order_by("-id").first().pk


@pytest.mark.parametrize("username", ["marketer", "rep", "manager"])
def test_every_landing_page_shows_figures(demo, username):
    client = Client()
    client.force_login(authenticate(LOGIN_REQUEST, username=username, password=DEMO_PASSWORD))
    figures = client.get("/").context
    attainment = figures["attainment"]
    assert attainment["previous"]["handed_off"] > 0
    if username == "manager":  # the alignment dashboard: the agreement's year, month by month
        trend = [month["row"] for month in figures["trend"]]
        assert sum(row.mql_delivered for row in trend) > 0 and sum(row.handed_off for row in trend) > 0
    else:
        assert figures["total"] > 0 and figures["recent"]
    if timezone.localdate().day > 3:  # a month's first days may have no figures of their own yet
        assert username == "manager" or figures["new_this_month"] > 0
        assert attainment["mql_delivered"] > 0 and attainment["handed_off"] > 0 and attainment["decided"] > 0


def test_the_rep_page_and_pools_answer(demo):
    client = Client()
    client.force_login(authenticate(LOGIN_REQUEST, username="rep", password=DEMO_PASSWORD))
    page = client.get("/leads/queue/")
    assert page.status_code == 200 and len(page.context["results"]) >= 5
    assert page.context["waiting_in_pools"] >= 1


def test_events_came_in_through_forms_and_the_api(demo):
    assert Event.objects.filter(type="form_submitted").exclude(properties__form=None).exists()
    assert Event.objects.count() > LEADS * 3


def test_the_audit_log_shows_who_set_up_the_scoring_and_the_definitions(demo):
    """Personas, rules and definitions went through the services a person's edits go through:
    each is logged as created by the demo's marketer, before the first lead arrived, and the
    definitions' sign-offs and activations by the side that gave them."""
    from smarketing.audit.models import ConfigChange, ConfigKind

    first_lead_at = Lead.objects.order_by("created_at").values_list("created_at", flat=True).first()
    created = ConfigChange.objects.filter(action=ConfigChange.Action.CREATED, source=ConfigChange.Source.APP)
    for kind, model in [
        (ConfigKind.PERSONA, Persona),
        (ConfigKind.SCORING_RULE, ScoringRule),
        (ConfigKind.DEFINITION, QualificationDefinition),
    ]:
        entries = created.filter(kind=kind)
        assert set(entries.values_list("object_id", flat=True)) == set(model.objects.values_list("pk", flat=True))
        assert set(entries.values_list("actor__username", "actor_name")) == {("marketer", "marketer")}, kind
    setup = created.filter(kind__in=[ConfigKind.PERSONA, ConfigKind.SCORING_RULE])
    assert setup.count() == Persona.objects.count() + ScoringRule.objects.count() > 0
    assert not setup.filter(at__gte=first_lead_at).exists()
    changes = ConfigChange.objects.filter(kind=ConfigKind.DEFINITION, action=ConfigChange.Action.CHANGED)
    for definition in QualificationDefinition.objects.exclude(activated_at=None):
        mine = changes.filter(object_id=definition.pk)
        signed = {entry.actor_name for entry in mine if "sales_signed_by" in entry.after}
        activated = {entry.actor_name for entry in mine if entry.after.get("status") == DefinitionStatus.ACTIVE}
        assert signed == {"manager"} and activated == {"manager"}, definition


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_the_planner_knows_how_many_rows_the_demo_wrote(demo):
    """The seed analyzes the tables it fills (inside the one transaction this module runs it
    in): a plan made on them counts their rows, instead of taking them as empty."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname IN ('leads_lead', 'leads_event')")
        counted = dict(cursor.fetchall())
    assert counted["leads_lead"] >= 0.9 * Lead.objects.count()
    assert counted["leads_event"] >= 0.9 * Event.objects.count()


def test_seeding_again_is_refused_and_if_empty_leaves_it_alone(demo):
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "not seeded" in out.getvalue()


# --- Nurture and email (playbooks.demo, through settings.DEMO_EXTENSIONS) ----------------------


def test_a_year_of_nurture_was_sent_opened_and_clicked_by_running_the_playbooks(demo):
    from playbooks.models import Enrollment, OutboundEmail, Playbook, Referral

    playbooks = Playbook.objects.all()
    assert playbooks.count() == 6 and all(p.status == "active" for p in playbooks)
    for playbook in playbooks:
        assert Enrollment.objects.filter(playbook=playbook).exists(), playbook.name
    sent = OutboundEmail.objects.filter(status="sent")
    days = sorted(sent.values_list("sent_at", flat=True))
    assert sent.count() > 300 and (days[-1] - days[0]).days > 300
    assert sent.exclude(opened_at=None).exists() and sent.exclude(clicked_at=None).exists()
    assert set(OutboundEmail.objects.filter(status="suppressed").values_list("reason", flat=True)) <= {
        "no_consent",
        "unsubscribed",
        "frequency_cap",
        "stage",
    }
    # Every send, open and click made through the tracking links is on its lead's timeline (a
    # click marks a message opened too, without an open of its own).
    assert Event.objects.filter(type="email_sent").count() == sent.exclude(kind="transactional").count()
    tracked = Event.objects.filter(properties__email_id__isnull=False)
    clicked = set(tracked.filter(type="email_clicked").values_list("properties__email_id", flat=True))
    assert clicked == set(sent.exclude(clicked_at=None).values_list("pk", flat=True))
    opened = set(tracked.filter(type="email_opened").values_list("properties__email_id", flat=True))
    assert opened | clicked == set(sent.exclude(opened_at=None).values_list("pk", flat=True))
    assert Event.objects.filter(type="nps_answered").exists() and Referral.objects.exists()


def test_the_stage_policies_held_through_the_year(demo):
    from playbooks.lists.selectors import lists_of_lead
    from playbooks.models import Enrollment, OutboundEmail

    buying = Lead.objects.filter(stage__in=[Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST])
    assert not Enrollment.objects.filter(lead__in=buying, status="active", playbook__promotional=True).exists()
    for lead in buying.filter(stage=Stage.OPPORTUNITY)[:20]:
        names = {item.name for item in lists_of_lead(lead)}
        assert "Newsletter" not in names
    # Conversion content reached new opportunities; promotional email never reached a buyer.
    assert Enrollment.objects.filter(playbook__name="Conversion content", cause__startswith="policy:").exists()
    refused_late = OutboundEmail.objects.filter(kind="promotional", status="sent", lead__in=buying)
    for email in refused_late.select_related("lead")[:200]:
        moved = email.lead.stage_changes.filter(to_stage=Stage.OPPORTUNITY).order_by("changed_at").first()
        assert moved is None or email.created_at <= moved.changed_at
