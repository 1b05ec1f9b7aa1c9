"""Changes made in the Django admin are logged like the app's: the admin's user, source "admin",
from the change form, the list's editable columns, a team's inline reps, and both kinds of
deletion."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from leads.models import Agreement, AssignmentRule, RepProfile, Team
from smarketing.audit.models import ConfigChange
from smarketing.lib.periods import month_first

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(manager) -> Team:
    return Team.objects.create(name="Iberia", manager=manager)


@pytest.fixture
def rule(team) -> AssignmentRule:
    return AssignmentRule.objects.create(name="Spain", position=0, countries=["ES"], team=team)


def rule_post(rule: AssignmentRule, **changes: object) -> dict:
    data = {
        "position": rule.position,
        "name": rule.name,
        "is_active": "on",
        "countries": '["ES"]',
        "regions": "[]",
        "industries": "[]",
        "sources": "[]",
        "company_size_min": "",
        "company_size_max": "",
        "team": rule.team_id,
        "rep": "",
    }
    return data | changes


def only_entry() -> ConfigChange:
    (entry,) = ConfigChange.objects.all()
    return entry


def test_the_change_form_records_the_fields_it_changed(admin_client, admin_user: User, rule):
    url = reverse("admin:leads_assignmentrule_change", args=[rule.pk])
    response = admin_client.post(url, rule_post(rule, countries='["ES", "PT"]', name="Iberia"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entry = only_entry()
    assert (entry.actor, entry.source, entry.action, entry.kind) == (admin_user, "admin", "changed", "assignment_rule")
    assert entry.before == {"name": "Spain", "countries": ["ES"]}
    assert entry.after == {"name": "Iberia", "countries": ["ES", "PT"]}


def test_the_list_s_editable_columns_are_recorded(admin_client, rule):
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": rule.pk,
        "form-0-position": "4",
        "_save": "Save",
    }  # is_active left unticked: switched off
    response = admin_client.post(reverse("admin:leads_assignmentrule_changelist"), data)
    assert response.status_code == 302
    entry = only_entry()
    assert (entry.before, entry.after) == ({"position": 0, "is_active": True}, {"position": 4, "is_active": False})


def test_a_team_s_inline_reps_are_recorded_as_reps(admin_client, team, manager, rep):
    profile = RepProfile.objects.create(user=rep, team=team, capacity=25)
    data = {
        "name": "Iberia",
        "manager": manager.pk,
        "reps-TOTAL_FORMS": "1",
        "reps-INITIAL_FORMS": "1",
        "reps-MIN_NUM_FORMS": "0",
        "reps-MAX_NUM_FORMS": "1000",
        "reps-0-id": profile.pk,
        "reps-0-team": team.pk,
        "reps-0-user": rep.pk,
        "reps-0-capacity": "30",
        "reps-0-away_from": "",
        "reps-0-away_until": "",
    }
    response = admin_client.post(reverse("admin:leads_team_change", args=[team.pk]), data)
    assert response.status_code == 302
    entry = only_entry()  # the team itself did not change: no entry for it
    assert (entry.kind, entry.object_id, entry.before, entry.after) == (
        "rep",
        profile.pk,
        {"capacity": 25},
        {"capacity": 30},
    )


def test_adding_an_agreement_in_the_admin_is_a_creation(admin_client, admin_user):
    data = {
        "month": month_first().isoformat(),
        "mql_target": "25",
        "close_quota": "5",
        "close_per": "20",
        "speed_to_lead_hours": "24",
        "reassign_after_hours": "24",
        "first_touch_target_pct": "90",
        "handoff_stage": "mql",
    }
    assert admin_client.post(reverse("admin:leads_agreement_add"), data).status_code == 302
    entry = only_entry()
    assert (entry.action, entry.object_id, entry.actor) == ("created", Agreement.objects.get().pk, admin_user)
    assert entry.after["mql_target"] == 25 and entry.before == {}


def test_deleting_one_rule_or_several_records_each(admin_client, rule, team):
    other = AssignmentRule.objects.create(name="Portugal", position=1, countries=["PT"], team=team)
    third = AssignmentRule.objects.create(name="Andorra", position=2, countries=["AD"], team=team)
    rule_id = rule.pk
    response = admin_client.post(reverse("admin:leads_assignmentrule_delete", args=[rule_id]), {"post": "yes"})
    assert response.status_code == 302
    data = {"action": "delete_selected", "_selected_action": [other.pk, third.pk], "post": "yes"}
    assert admin_client.post(reverse("admin:leads_assignmentrule_changelist"), data).status_code == 302
    deleted = ConfigChange.objects.order_by("id")
    assert [(e.action, e.object_id, e.before["name"], e.after) for e in deleted] == [
        ("deleted", rule_id, "Spain", {}),
        ("deleted", other.pk, "Portugal", {}),
        ("deleted", third.pk, "Andorra", {}),
    ]
    assert not AssignmentRule.objects.exists()


def test_deleting_a_team_records_what_goes_with_it(admin_client, team, rule, rep):
    """The team's rules are deleted with it and its reps lose their team: each is an entry."""
    profile = RepProfile.objects.create(user=rep, team=team)
    team_id, rule_id = team.pk, rule.pk
    response = admin_client.post(reverse("admin:leads_team_delete", args=[team_id]), {"post": "yes"})
    assert response.status_code == 302
    found = {(e.kind, e.object_id): (e.action, e.before.get("name"), e.after) for e in ConfigChange.objects.all()}
    assert found == {
        ("team", team_id): ("deleted", "Iberia", {}),
        ("assignment_rule", rule_id): ("deleted", "Spain", {}),
        ("rep", profile.pk): ("changed", None, {"team": None}),
    }
    assert ConfigChange.objects.get(kind="rep").before == {"team": {"id": team_id, "label": "Iberia"}}
    assert RepProfile.objects.get(pk=profile.pk).team is None
