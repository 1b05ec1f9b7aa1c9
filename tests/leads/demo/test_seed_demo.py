from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db.models import Avg, Count, Min

from leads.management.commands.seed_demo import DEMO_MORE_USERS, DEMO_PASSWORD, DEMO_USERS
from leads.models import (
    Campaign,
    CampaignCost,
    ChangeSource,
    DefinitionStatus,
    Event,
    Lead,
    QualificationDefinition,
    Stage,
    StageChange,
)
from leads.qualification import services as qualification
from smarketing.roles import Role
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

SMALL = ["--leads", "300"]
LATER = {Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.EVANGELIST}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [Lead, Event, StageChange, Campaign, CampaignCost]
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def seeded() -> None:
    seed(*SMALL)


def first_event(lead: Lead, kind: str) -> Event | None:
    return lead.events.filter(type=kind).order_by("occurred_at").first()


def test_demo_users_log_in_with_the_demo_password_and_hold_their_role(seeded):
    for username, role in [*DEMO_USERS, *DEMO_MORE_USERS]:
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert user.groups.filter(name=role).exists()
        assert user.get_full_name(), "demo users have real-looking names"
    assert sum(role == Role.SALES for _, role in [*DEMO_USERS, *DEMO_MORE_USERS]) >= 3


def test_campaigns_span_channels_and_carry_six_months_of_costs(seeded):
    campaigns = Campaign.objects.annotate(costs_n=Count("costs"))
    assert 8 <= campaigns.count() <= 12
    assert len({campaign.channel for campaign in campaigns}) >= 6
    assert all(campaign.costs_n > 0 and campaign.utm_campaign for campaign in campaigns)
    dates = CampaignCost.objects.values_list("incurred_on", flat=True)
    assert (max(dates) - min(dates)).days > 150


def test_leads_reach_every_stage_with_believable_profiles(seeded):
    assert Lead.objects.count() == 300
    assert set(Lead.objects.values_list("stage", flat=True)) == set(Stage.values)
    lead = Lead.objects.exclude(company="").first()
    assert lead.first_name and lead.last_name and lead.title and lead.industry and lead.country
    assert lead.email.endswith(".example"), "demo addresses never reach a real inbox"
    assert Lead.objects.filter(company_size__isnull=True).count() == 0


def test_qualified_leads_registered_for_a_webinar_before_attending_it(seeded):
    qualified = Lead.objects.exclude(stage__in=[Stage.SUBSCRIBER, Stage.LEAD, Stage.DISQUALIFIED, Stage.RECYCLED])
    assert qualified.count() > 30
    for lead in qualified:
        registered, attended = first_event(lead, "webinar_registered"), first_event(lead, "webinar_attended")
        assert registered.occurred_at < attended.occurred_at, lead.email
        mql = lead.stage_changes.get(to_stage=Stage.MQL)
        assert attended.occurred_at < mql.changed_at
        assert mql.source == ChangeSource.RULE


def test_sql_leads_then_downloaded_the_price_list_and_started_a_trial(seeded):
    for lead in Lead.objects.filter(stage__in=LATER):
        attended = first_event(lead, "webinar_attended")
        pricing, trial = first_event(lead, "pricing_downloaded"), first_event(lead, "trial_started")
        sql = lead.stage_changes.get(to_stage=Stage.SQL)
        assert attended.occurred_at < pricing.occurred_at < trial.occurred_at < sql.changed_at, lead.email


def test_each_lead_has_an_ascending_stage_history_ending_at_its_stage(seeded):
    for lead in Lead.objects.all():
        changes = list(lead.stage_changes.order_by("changed_at"))
        assert changes[0].from_stage == ""
        assert changes[0].changed_at == lead.created_at
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage == before.to_stage
            assert after.changed_at > before.changed_at
        assert changes[-1].to_stage == lead.stage
        assert changes[-1].changed_at == lead.stage_changed_at


def test_people_make_the_moves_rules_cannot(seeded):
    by_hand = StageChange.objects.filter(to_stage__in=[Stage.OPPORTUNITY, Stage.RECYCLED, Stage.DISQUALIFIED])
    assert by_hand.exists()
    assert not by_hand.exclude(source=ChangeSource.USER).exists()
    assert not by_hand.filter(changed_by=None).exists()
    assert not StageChange.objects.filter(to_stage__in=[Stage.RECYCLED, Stage.DISQUALIFIED], reason="").exists()


def test_reps_own_leads_from_sql_on(seeded):
    owned = Lead.objects.filter(stage__in=LATER)
    assert not owned.filter(owner=None).exists()
    assert set(owned.values_list("owner__groups__name", flat=True)) == {Role.SALES.value}
    assert owned.values("owner").distinct().count() >= 3
    assert not Lead.objects.exclude(stage__in=LATER).exclude(owner=None).exists()


def test_the_products_rules_score_every_lead_and_the_scores_explain_themselves(seeded):
    for lead in Lead.objects.all():
        assert lead.persona_id is not None
        assert 0 <= lead.fit_score <= 100
        assert lead.score == lead.fit_score + lead.engagement_score
        assert sum(lead.score_breakdown.values()) == lead.score


def test_leads_that_got_far_fit_better_than_disqualified_ones(seeded):
    def fit(stages: set[str]) -> float:
        return Lead.objects.filter(stage__in=stages).aggregate(fit=Avg("scoring__fit"))["fit"]

    assert fit(LATER) > fit({Stage.LEAD}) > fit({Stage.DISQUALIFIED})


def test_the_histories_already_follow_the_active_definition(seeded):
    definition = QualificationDefinition.objects.get(status=DefinitionStatus.ACTIVE)
    assert definition.version == 1
    assert qualification.leads_qualify() == {Stage.MQL: 0, Stage.SQL: 0}
    assert set(Lead.objects.exclude(qualified_version=None).values_list("qualified_version", flat=True)) == {1}


def test_first_and_last_touch_are_filled(seeded):
    assert not Lead.objects.filter(source="").exists()
    assert Lead.objects.exclude(first_campaign=None).count() > 200
    assert not Lead.objects.filter(last_touch_at=None).exists()
    first = Lead.objects.annotate(first_event=Min("events__occurred_at")).first()
    assert first.created_at == first.first_event


def test_running_twice_changes_no_counts(seeded):
    before = counts()
    out = seed(*SMALL)
    assert counts() == before
    assert "created 0 leads" in out


def test_same_seed_gives_the_same_people(seeded):
    people = set(Lead.objects.values_list("email", "first_name", "company", "stage"))
    Lead.objects.all().delete()
    seed(*SMALL)
    assert set(Lead.objects.values_list("email", "first_name", "company", "stage")) == people


def test_if_empty_leaves_an_existing_database_alone():
    LeadFactory()
    out = seed("--if-empty")
    assert "not seeded" in out
    assert counts() == {"Lead": 1, "Event": 0, "StageChange": 0, "Campaign": 0, "CampaignCost": 0}


def test_default_seed_makes_a_few_thousand_leads():
    out = seed("--if-empty")
    assert Lead.objects.count() == 3_000
    assert Event.objects.count() > 15_000
    assert "created 3000 leads" in out
