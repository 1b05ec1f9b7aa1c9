"""Teams in the app: the services (teams, reps, capacity and time away, assignment rules), the
pages a manager works them from, and /api/v1/teams/ and /api/v1/assignment-rules/ — each role
refused where it should be, another manager's team 404, bad input answered per field."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import logged_in, make_user
from leads.models import AssignmentRule, Handoff, HandoffStatus, Persona, RepProfile, Team
from leads.sales import teams
from leads.sales.assignment import placements_preview
from leads.sales.selectors import pool_preview, rule_sentence
from leads.sales.services import SalesError
from smarketing.roles import Role
from tests.leads.sales.helpers import assigned_lead, new_rep, pooled_lead, rule_to, team_with

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
JSON = "application/json"
TEAMS = reverse("leads:teams")


def team_url(team: Team, name: str = "team", *args: int) -> str:
    return reverse(f"leads:{name}", args=[team.pk, *args])


@pytest.fixture
def team(rep, manager):
    return team_with("Iberia", rep, manager=manager)


@pytest.fixture
def other_manager(db: None) -> User:
    return make_user("boss2", Role.MANAGER)


@pytest.fixture
def theirs(other_manager, other_rep):
    return team_with("Nordics", other_rep, manager=other_manager)


@pytest.fixture
def admin(db: None) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "pw")


def refused(call, *, field: str | None = None, status: int = 400) -> SalesError:
    with pytest.raises(SalesError) as error:
        call()
    assert error.value.status == status
    if field is not None:
        assert error.value.field == field, error.value.message
    return error.value


# --- Services: teams ------------------------------------------------------------------------------


def test_a_manager_creates_a_team_of_their_own(manager):
    team = teams.team_create(by=manager, name="  Iberia ")
    assert team.name == "Iberia" and team.manager == manager


def test_an_administrator_names_the_manager_or_none(admin, manager):
    assert teams.team_create(by=admin, name="A", manager=manager).manager == manager
    assert teams.team_create(by=admin, name="B").manager is None


def test_team_names_are_unique_given_and_short(manager, team):
    refused(lambda: teams.team_create(by=manager, name="iberia"), field="name")
    refused(lambda: teams.team_create(by=manager, name="  "), field="name")
    refused(lambda: teams.team_create(by=manager, name="x" * 101), field="name")


def test_only_an_administrator_gives_a_team_to_another_manager(manager, other_manager, admin, team, rep):
    refused(lambda: teams.team_create(by=manager, name="New", manager=other_manager), field="manager")
    refused(lambda: teams.team_update(team=team, by=manager, manager=other_manager), field="manager")
    refused(lambda: teams.team_create(by=admin, name="New", manager=rep), field="manager")
    teams.team_update(team=team, by=admin, manager=other_manager)
    team.refresh_from_db()
    assert team.manager == other_manager


def test_renaming_keeps_names_unique_and_another_managers_team_is_404(manager, team, theirs):
    teams.team_update(team=team, by=manager, name="Iberia South")
    assert Team.objects.get(pk=team.pk).name == "Iberia South"
    refused(lambda: teams.team_update(team=team, by=manager, name="NORDICS"), field="name")
    refused(lambda: teams.team_update(team=theirs, by=manager, name="Mine now"), status=404)
    refused(lambda: teams.team_update(team=team, by=manager, colour="red"), field="colour")


def test_reps_and_marketers_manage_no_team(rep, marketer, team):
    for user in (rep, marketer):
        refused(lambda user=user: teams.team_create(by=user, name="X"), status=403)
        refused(lambda user=user: teams.team_rep_add(team=team, rep=user, by=user), status=403)


# --- Services: reps -------------------------------------------------------------------------------


def test_a_rep_without_a_team_joins_with_a_capacity(manager, team):
    ana = new_rep("ana")
    profile = teams.team_rep_add(team=team, rep=ana, by=manager, capacity=10)
    assert (profile.team, profile.capacity) == (team, 10)


def test_only_active_sales_reps_join_and_not_twice(manager, marketer, team, rep):
    refused(lambda: teams.team_rep_add(team=team, rep=marketer, by=manager), field="rep")
    gone = new_rep("gone")
    gone.is_active = False
    gone.save()
    refused(lambda: teams.team_rep_add(team=team, rep=gone, by=manager), field="rep")
    refused(lambda: teams.team_rep_add(team=team, rep=rep, by=manager), field="rep")


def test_a_rep_of_another_managers_team_is_not_taken_but_one_of_yours_moves(manager, team, theirs, other_rep):
    refused(lambda: teams.team_rep_add(team=team, rep=other_rep, by=manager), field="rep")
    second = team_with("Iberia North", manager=manager)
    ana = new_rep("ana", team=second)
    teams.team_rep_add(team=team, rep=ana, by=manager)
    assert RepProfile.objects.get(user=ana).team == team


@pytest.mark.parametrize("capacity", [-1, 1_001, True, "5"])
def test_capacity_is_from_0_to_1000(manager, team, capacity):
    refused(lambda: teams.team_rep_add(team=team, rep=new_rep("ana"), by=manager, capacity=capacity), field="capacity")


def test_a_rep_taken_out_keeps_their_open_leads(manager, team, rep):
    lead = assigned_lead(rep)
    teams.team_rep_remove(team=team, rep=rep, by=manager)
    assert RepProfile.objects.get(user=rep).team is None
    handoff = Handoff.objects.get(lead=lead)
    assert handoff.assigned_to == rep and handoff.status == HandoffStatus.ASSIGNED
    refused(lambda: teams.team_rep_remove(team=team, rep=rep, by=manager), status=404)


def test_capacity_and_time_away_are_set_whole(manager, team, rep):
    today = timezone.localdate()
    profile = teams.rep_profile_update(rep=rep, by=manager, capacity=5, away_from=today, away_until=today)
    assert (profile.capacity, profile.away_from, profile.away_until) == (5, today, today)
    assert profile.is_away(today)
    profile = teams.rep_profile_update(rep=rep, by=manager)  # the time away given whole: none
    assert (profile.capacity, profile.away_from, profile.away_until) == (5, None, None)


def test_time_away_ends_after_it_starts_and_only_your_reps_change(manager, team, theirs, rep, other_rep):
    today = timezone.localdate()
    refused(
        lambda: teams.rep_profile_update(rep=rep, by=manager, away_from=today, away_until=today - timedelta(days=1)),
        field="away_until",
    )
    refused(lambda: teams.rep_profile_update(rep=rep, by=manager, capacity=1_001), field="capacity")
    refused(lambda: teams.rep_profile_update(rep=other_rep, by=manager, capacity=3), status=404)


# --- Services: assignment rules -------------------------------------------------------------------


def test_a_new_rule_goes_last_and_reads_as_a_sentence(manager, team, rep):
    rule_to(team=team, position=4)
    persona = Persona.objects.create(name="Ops lead")
    rule = teams.assignment_rule_save(
        by=manager,
        name="Big Iberia",
        regions=["emea"],
        countries=["es", "PT"],
        company_size_min=200,
        industries=["SaaS"],
        personas=[persona.pk],
        sources=["webinar"],
        team=team,
    )
    assert rule.position == 5 and rule.regions == ["EMEA"] and rule.countries == ["ES", "PT"]
    assert rule_sentence(rule) == (
        "Region is one of EMEA and Country is one of ES, PT and Company size is at least 200 and "
        "Industry is one of SaaS and Source is one of webinar and Persona is one of Ops lead → team Iberia"
    )
    to_rep = teams.assignment_rule_save(by=manager, name="Ana's", rep=rep)
    assert rule_sentence(to_rep) == "Any lead → Rafa Sales"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"countries": ["Spain"]}, "countries"),
        ({"countries": "ES"}, "countries"),
        ({"regions": ["MARS"]}, "regions"),
        ({"company_size_min": 500, "company_size_max": 100}, "company_size_max"),
        ({"company_size_min": -1}, "company_size_min"),
        ({"industries": ["x" * 101]}, "industries"),
        ({"personas": [999_999]}, "personas"),
        ({"team": None}, "team"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_rule_fields_are_checked_one_message_per_field(manager, team, fields, field):
    refused(lambda: teams.assignment_rule_save(by=manager, **({"name": "R", "team": team} | fields)), field=field)
    assert not AssignmentRule.objects.exists()


def test_a_rule_names_a_team_or_an_active_sales_rep_not_both(manager, marketer, team, rep):
    refused(lambda: teams.assignment_rule_save(by=manager, name="R", team=team, rep=rep), field="rep")
    refused(lambda: teams.assignment_rule_save(by=manager, name="R", rep=marketer), field="rep")


def test_rule_names_are_unique_and_a_change_keeps_the_rest(manager, team, rep):
    first = teams.assignment_rule_save(by=manager, name="Spain", countries=["ES"], team=team)
    refused(lambda: teams.assignment_rule_save(by=manager, name="SPAIN", team=team), field="name")
    changed = teams.assignment_rule_save(by=manager, rule=first, team=None, rep=rep)
    assert (changed.name, changed.countries, changed.rep, changed.team) == ("Spain", ["ES"], rep, None)


def test_any_manager_orders_and_deletes_rules_others_may_not(manager, other_manager, team, rep, marketer):
    a, b, c = rule_to(team=team, position=0), rule_to(team=team, position=1), rule_to(rep=rep, position=2)
    teams.assignment_rules_order(by=other_manager, rule_ids=[c.pk, a.pk, b.pk])
    assert list(AssignmentRule.objects.order_by("position").values_list("pk", flat=True)) == [c.pk, a.pk, b.pk]
    refused(lambda: teams.assignment_rules_order(by=manager, rule_ids=[a.pk, b.pk]), field="rule_ids")
    refused(lambda: teams.assignment_rules_order(by=manager, rule_ids=[a.pk, a.pk, b.pk]), field="rule_ids")
    for user in (rep, marketer):
        refused(lambda user=user: teams.assignment_rules_order(by=user, rule_ids=[a.pk, b.pk, c.pk]), status=403)
        refused(lambda user=user: teams.assignment_rule_save(by=user, name="R", team=team), status=403)
        refused(lambda user=user: teams.assignment_rule_delete(rule=a, by=user), status=403)
    teams.assignment_rule_delete(rule=a, by=manager)
    assert not AssignmentRule.objects.filter(pk=a.pk).exists()


# --- The preview writes nothing -------------------------------------------------------------------


def test_the_preview_places_pooled_leads_without_writing_anything(manager, team, rep, other_rep):
    RepProfile.objects.create(user=other_rep, team=team)
    rule_to(team=team, countries=["ES"])
    leads = [pooled_lead(country="FR") for _ in range(2)]  # no rule took them: pooled
    rule_to(team=team, position=1, countries=["FR"])
    turns = list(RepProfile.objects.order_by("pk").values_list("last_assigned_at", flat=True))
    handoffs = list(Handoff.objects.order_by("pk").values())
    preview = pool_preview(team)
    assert [row["lead"] for row in preview] == leads
    assert {row["rep"] for row in preview} == {"Rafa Sales", "rep2"}  # round-robin within the preview
    assert all(row["team"] == "Iberia" and row["rule"] == "rule 1" for row in preview)
    assert list(RepProfile.objects.order_by("pk").values_list("last_assigned_at", flat=True)) == turns
    assert list(Handoff.objects.order_by("pk").values()) == handoffs


def test_the_preview_takes_no_lock(manager, team, rep, django_assert_num_queries):
    rule_to(team=team)
    with django_assert_num_queries(4) as queries:  # rules, their personas, the roster, its load
        placements_preview([{"id": 1, "country": "ES", "company_size": 1, "industry": "", "source": ""}])
    assert not any("FOR UPDATE" in query["sql"] for query in queries.captured_queries)


# --- Pages ----------------------------------------------------------------------------------------


def test_the_pages_are_refused_to_reps_and_marketers(rep_client, marketer_client, team):
    rule = rule_to(team=team)
    pages = [
        TEAMS,
        team_url(team),
        reverse("leads:assignment_rule_new"),
        reverse("leads:assignment_rule_edit", args=[rule.pk]),
    ]
    posts = [
        team_url(team, "team_rep_add"),
        team_url(team, "team_rep_remove", team.manager.pk),
        reverse("leads:assignment_rule_move", args=[rule.pk]),
        reverse("leads:assignment_rule_delete", args=[rule.pk]),
    ]
    for client in (rep_client, marketer_client):
        assert all(client.get(url).status_code == 403 for url in pages)
        assert all(client.post(url).status_code == 403 for url in posts)
    assert logged_in(make_user("nobody")).get(TEAMS).status_code == 403
    assert Client().get(TEAMS).status_code == 302  # to the login page


def test_another_managers_team_is_404_on_every_page(manager_client, theirs, other_rep):
    for url in (team_url(theirs), reverse("leads:team", args=[999_999])):
        assert manager_client.get(url).status_code == 404
    for name, args in [
        ("team_rep_add", ()),
        ("team_rep_update", (other_rep.pk,)),
        ("team_rep_remove", (other_rep.pk,)),
    ]:
        assert manager_client.post(team_url(theirs, name, *args)).status_code == 404
    assert RepProfile.objects.get(user=other_rep).team == theirs


def test_the_teams_list_shows_my_teams_and_creates_one(manager_client, manager, team, theirs, rep):
    assigned_lead(rep)
    response = manager_client.get(TEAMS)
    assert [t.name for t in response.context["teams"]] == ["Iberia"]
    row = response.context["teams"][0]
    assert (row.rep_count, row.open_leads, row.pooled) == (1, 1, 0)
    created = manager_client.post(TEAMS, {"name": "Iberia South"}, follow=True)
    assert Team.objects.get(name="Iberia South").manager == manager
    assert "Created Iberia South" in created.content.decode()
    again = manager_client.post(TEAMS, {"name": "IBERIA"})
    assert again.status_code == 400 and "There is already a team called" in again.content.decode()


def test_a_team_sent_without_its_name_is_a_400_naming_the_field(manager_client, team):
    """Not the blank form again as if nothing had been sent: the name says it is required."""
    response = manager_client.post(TEAMS, {})
    assert response.status_code == 400
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert '<ul class="errorlist" id="team_name_error"><li>This field is required.</li></ul>' in response.text
    assert list(Team.objects.values_list("name", flat=True)) == ["Iberia"]


def test_the_team_page_shows_reps_rules_and_the_preview(manager_client, team, rep):
    lead = assigned_lead(rep)
    Handoff.objects.filter(lead=lead).update(first_touch_at=timezone.now())
    rule_to(team=team, countries=["ES"])
    waiting = pooled_lead(country="FR")
    html = manager_client.get(team_url(team)).content.decode()
    assert "Rafa Sales" in html and "1 / 25" in html and "100%" in html
    assert "Country is one of ES → team Iberia" in html
    assert str(waiting) in html and "the general pool" in html
    assert "keeps the 1 lead they hold" in html


def test_the_list_and_team_page_take_the_same_queries_whatever_the_size(
    manager_client, manager, team, django_assert_max_num_queries
):
    def grow(n: int) -> None:
        for i in range(n):
            rep = new_rep(f"r{n}-{i}", team=team)
            assigned_lead(rep)
            pooled_lead()
            rule_to(
                team=team, position=10 * n + i, countries=["ES"], personas=[Persona.objects.create(name=f"p{n}{i}")]
            )
            team_with(f"T{n}-{i}", manager=manager)

    grow(1)
    with django_assert_max_num_queries(12) as list_few:
        manager_client.get(TEAMS)
    with django_assert_max_num_queries(20) as page_few:
        manager_client.get(team_url(team))
    grow(6)
    with django_assert_max_num_queries(len(list_few.captured_queries)):
        manager_client.get(TEAMS)
    with django_assert_max_num_queries(len(page_few.captured_queries)):
        manager_client.get(team_url(team))


def test_adding_a_rep_answers_htmx_with_the_table_and_errors_per_field(manager_client, team):
    ana = new_rep("ana")
    response = manager_client.post(team_url(team, "team_rep_add"), {"rep": ana.pk, "capacity": 8}, **HTMX)
    assert response.status_code == 200 and "joined Iberia with a capacity of 8" in response.content.decode()
    assert response["HX-Trigger-After-Settle"] == "teamChanged"
    assert RepProfile.objects.get(user=ana).team == team
    bad = manager_client.post(team_url(team, "team_rep_add"), {"rep": "", "capacity": 5_000}, **HTMX)
    assert bad.status_code == 400 and bad["HX-Reswap"] == "outerHTML"
    assert "Choose a rep to add." in bad.content.decode() and "1000" in bad.content.decode()


def test_a_rep_of_another_team_is_refused_on_the_add_form(manager_client, team, theirs, other_rep):
    response = manager_client.post(team_url(team, "team_rep_add"), {"rep": other_rep.pk}, **HTMX)
    assert response.status_code == 400 and "its manager takes them out of it first" in response.content.decode()


def test_capacity_and_time_away_from_the_row(manager_client, team, rep):
    today = timezone.localdate()
    data = {"capacity": 3, "away_from": today.isoformat(), "away_until": (today + timedelta(days=4)).isoformat()}
    response = manager_client.post(team_url(team, "team_rep_update", rep.pk), data, **HTMX)
    assert response.status_code == 200 and "the rules pass them over on those days" in response.content.decode()
    profile = RepProfile.objects.get(user=rep)
    assert (profile.capacity, profile.away_from) == (3, today)
    backwards = {"capacity": 3, "away_from": today.isoformat(), "away_until": (today - timedelta(days=1)).isoformat()}
    bad = manager_client.post(team_url(team, "team_rep_update", rep.pk), backwards, **HTMX)
    assert bad.status_code == 400 and "cannot come before the first" in bad.content.decode()
    plain = manager_client.post(team_url(team, "team_rep_update", rep.pk), {"capacity": 4})
    assert plain.status_code == 302 and RepProfile.objects.get(user=rep).away_from is None


def test_taking_a_rep_out_from_the_page_says_they_keep_their_leads(manager_client, team, rep):
    assigned_lead(rep)
    response = manager_client.post(team_url(team, "team_rep_remove", rep.pk), **HTMX)
    assert "They keep the leads they hold" in response.content.decode()
    assert RepProfile.objects.get(user=rep).team is None
    assert manager_client.post(team_url(team, "team_rep_remove", rep.pk), **HTMX).status_code == 404


def test_renaming_from_the_team_page(manager_client, team, theirs):
    assert manager_client.post(team_url(team), {"name": "Iberia Sur"}).status_code == 302
    clash = manager_client.post(team_url(team), {"name": "Nordics"})
    assert clash.status_code == 400 and "There is already a team called" in clash.content.decode()


def test_rules_are_created_edited_and_deleted_from_their_form(manager_client, team, rep):
    data = {"name": "Spain", "countries": "es, pt", "regions": ["EMEA"], "target": f"team:{team.pk}", "is_active": "on"}
    response = manager_client.post(reverse("leads:assignment_rule_new") + f"?team={team.pk}", data | {"team": team.pk})
    assert response.status_code == 302 and response.url == team_url(team)
    rule = AssignmentRule.objects.get()
    assert (rule.countries, rule.regions, rule.team, rule.is_active) == (["ES", "PT"], ["EMEA"], team, True)
    edit = reverse("leads:assignment_rule_edit", args=[rule.pk])
    assert 'value="es, pt"' not in manager_client.get(edit).content.decode()  # shown as saved: ES, PT
    bad = manager_client.post(edit, data | {"countries": "Spain", "company_size_min": "9", "company_size_max": "2"})
    assert bad.status_code == 400 and "two-letter country codes" in bad.content.decode()
    moved = manager_client.post(edit, data | {"target": f"rep:{rep.pk}", "is_active": ""})
    assert moved.status_code == 302
    rule.refresh_from_db()
    assert (rule.rep, rule.team, rule.is_active) == (rep, None, False)
    assert manager_client.post(reverse("leads:assignment_rule_delete", args=[rule.pk])).status_code == 302
    assert not AssignmentRule.objects.exists()
    assert manager_client.get(edit).status_code == 404


def test_the_rule_form_refuses_a_missing_target(manager_client):
    response = manager_client.post(reverse("leads:assignment_rule_new"), {"name": "R"})
    assert response.status_code == 400 and "Choose a team or a rep." in response.content.decode()


@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_a_rule_sent_without_its_fields_is_a_400_naming_each_required_one(manager_client, team, editing):
    rule = rule_to(team=team, countries=["ES"]) if editing else None
    path = reverse("leads:assignment_rule_edit", args=[rule.pk]) if editing else reverse("leads:assignment_rule_new")
    response = manager_client.post(path, {})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert (errors["name"], errors["target"]) == (["This field is required."], ["Choose a team or a rep."])
    assert '<ul class="errorlist" id="rule_name_error"><li>This field is required.</li></ul>' in response.text
    assert '<ul class="errorlist" id="rule_target_error"><li>Choose a team or a rep.</li></ul>' in response.text
    saved = [("rule 0", ["ES"], team.pk, True)] if editing else []
    assert list(AssignmentRule.objects.values_list("name", "countries", "team", "is_active")) == saved


def test_up_and_down_move_a_rule_and_keep_the_keyboard_on_it(manager_client, team):
    a, b, c = (rule_to(team=team, position=n) for n in range(3))
    move = reverse("leads:assignment_rule_move", args=[c.pk])
    response = manager_client.post(move, {"direction": "up", "team": team.pk}, **HTMX)
    assert response.status_code == 200 and "Moved “rule 2” to place 2." in response.content.decode()
    assert list(AssignmentRule.objects.order_by("position").values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]
    html = response.content.decode()
    assert 'aria-label="Move “rule 2” up" title="Move up" autofocus' in html
    response = manager_client.post(move, {"direction": "up"}, **HTMX)  # now first: focus goes to "down"
    assert 'aria-label="Move “rule 2” down" title="Move down" autofocus' in response.content.decode()
    top = manager_client.post(move, {"direction": "up"}, **HTMX)
    assert top.status_code == 400 and "cannot move further" in top.content.decode()
    plain = manager_client.post(move, {"direction": "down", "team": team.pk})
    assert plain.status_code == 302 and plain.url == team_url(team) + "#rules"


def test_managers_see_teams_in_their_navigation_and_staff_the_admin(manager_client, rep_client):
    labels = [item["label"] for item in manager_client.get(TEAMS).context["nav_items"]]
    assert "Teams" in labels
    assert "Teams" not in [item["label"] for item in rep_client.get(reverse("leads:queue")).context["nav_items"]]
    staff = make_user("staffer", Role.MANAGER, is_staff=True)
    assert 'href="/admin/">Admin</a>' in logged_in(staff).get(TEAMS).content.decode()
    assert 'href="/admin/">Admin</a>' not in manager_client.get(TEAMS).content.decode()


# --- API ------------------------------------------------------------------------------------------


def test_the_api_is_refused_to_reps_and_marketers(rep_client, marketer_client, team):
    rule = rule_to(team=team)
    urls = [
        reverse("api-teams"),
        reverse("api-team-detail", args=[team.pk]),
        reverse("api-assignment-rules"),
        reverse("api-assignment-rule", args=[rule.pk]),
    ]
    for client in (rep_client, marketer_client):
        assert all(client.get(url).status_code == 403 for url in urls)
        assert client.post(reverse("api-teams"), {"name": "X"}, content_type=JSON).status_code == 403
        assert client.post(reverse("api-assignment-rules-order"), {}, content_type=JSON).status_code == 403


def test_the_api_lists_creates_and_renames_teams(manager_client, manager, team, theirs):
    listed = manager_client.get(reverse("api-teams")).json()
    assert [row["name"] for row in listed] == ["Iberia"] and listed[0]["rep_count"] == 1
    created = manager_client.post(reverse("api-teams"), {"name": "Iberia South"}, content_type=JSON)
    assert created.status_code == 201 and created.json()["manager"] == {"id": manager.pk, "username": "manager"}
    clash = manager_client.post(reverse("api-teams"), {"name": "nordics"}, content_type=JSON)
    assert clash.status_code == 400 and "name" in clash.json()
    missing = manager_client.post(reverse("api-teams"), {}, content_type=JSON)
    assert missing.status_code == 400 and "name" in missing.json()
    detail = reverse("api-team-detail", args=[team.pk])
    renamed = manager_client.patch(detail, {"name": "Iberia Sur"}, content_type=JSON)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Iberia Sur"
    assert renamed.json()["reps"][0]["capacity"] == 25
    assert manager_client.get(reverse("api-team-detail", args=[theirs.pk])).status_code == 404
    assert manager_client.patch(reverse("api-team-detail", args=[theirs.pk]), {}, content_type=JSON).status_code == 404


def test_the_api_adds_updates_and_removes_reps(manager_client, team, rep, theirs, other_rep):
    reps = reverse("api-team-reps", args=[team.pk])
    ana = new_rep("ana")
    added = manager_client.post(reps, {"rep": ana.pk, "capacity": 7}, content_type=JSON)
    assert added.status_code == 201 and {r["username"]: r["capacity"] for r in added.json()["reps"]}["ana"] == 7
    assert manager_client.post(reps, {"rep": other_rep.pk}, content_type=JSON).json()["rep"]
    assert "capacity" in manager_client.post(reps, {"rep": ana.pk, "capacity": -2}, content_type=JSON).json()
    assert "rep" in manager_client.post(reps, {"rep": 999_999}, content_type=JSON).json()
    one = reverse("api-team-rep", args=[team.pk, rep.pk])
    today = timezone.localdate()
    manager_client.patch(one, {"away_from": today.isoformat()}, content_type=JSON)
    kept = manager_client.patch(one, {"capacity": 2}, content_type=JSON)  # left out: the time away stays
    row = {r["username"]: r for r in kept.json()["reps"]}["rep"]
    assert (row["capacity"], row["away_from"], row["away_until"]) == (2, today.isoformat(), None)
    cleared = manager_client.patch(one, {"away_from": None}, content_type=JSON)
    assert {r["username"]: r for r in cleared.json()["reps"]}["rep"]["away_from"] is None
    backwards = {"away_from": today.isoformat(), "away_until": (today - timedelta(days=1)).isoformat()}
    assert "away_until" in manager_client.patch(one, backwards, content_type=JSON).json()
    assert manager_client.delete(one).status_code == 204
    assert manager_client.delete(one).status_code == 404
    assert (
        manager_client.patch(reverse("api-team-rep", args=[theirs.pk, other_rep.pk]), {}, content_type=JSON).status_code
        == 404
    )


def test_the_api_creates_changes_orders_and_deletes_rules(manager_client, team, rep):
    rules = reverse("api-assignment-rules")
    created = manager_client.post(
        rules, {"name": "Spain", "countries": ["ES"], "company_size_min": 50, "team": team.pk}, content_type=JSON
    )
    assert created.status_code == 201
    body = created.json()
    assert body["sentence"] == "Country is one of ES and Company size is at least 50 → team Iberia"
    second = manager_client.post(rules, {"name": "Rest", "rep": rep.pk}, content_type=JSON).json()
    assert second["position"] == body["position"] + 1
    errors = [
        ({"name": "X", "team": team.pk, "rep": rep.pk}, "rep"),
        ({"name": "X"}, "team"),
        ({"name": "X", "team": 999_999}, "team"),
        ({"name": "X", "team": team.pk, "regions": ["MARS"]}, "regions"),
        ({"name": "X", "team": team.pk, "countries": ["ESP"]}, "countries"),
        ({"name": "X", "team": team.pk, "company_size_min": -5}, "company_size_min"),
        ({"name": "X", "team": team.pk, "personas": [999_999]}, "personas"),
        ({"team": team.pk}, "name"),
    ]
    for data, field in errors:
        response = manager_client.post(rules, data, content_type=JSON)
        assert response.status_code == 400 and field in response.json(), (data, response.json())
    one = reverse("api-assignment-rule", args=[body["id"]])
    patched = manager_client.patch(one, {"is_active": False}, content_type=JSON).json()
    assert patched["is_active"] is False and patched["countries"] == ["ES"]
    order = reverse("api-assignment-rules-order")
    reordered = manager_client.post(order, {"rule_ids": [second["id"], body["id"]]}, content_type=JSON)
    assert [row["id"] for row in reordered.json()] == [second["id"], body["id"]]
    assert "rule_ids" in manager_client.post(order, {"rule_ids": [body["id"]]}, content_type=JSON).json()
    assert manager_client.delete(one).status_code == 204
    assert manager_client.get(one).status_code == 404


def test_the_schema_holds_the_new_endpoints(manager_client):
    schema = manager_client.get(reverse("schema")).content.decode()
    for path in ("/api/v1/teams/{id}/reps/{rep_id}/", "/api/v1/assignment-rules/order/"):
        assert path in schema
