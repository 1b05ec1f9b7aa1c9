"""Every configuration kind's creation, change and deletion through the product's services (what
the pages and the API call) writes one audit entry: the actor, the action, the object, and the
fields that changed before and after. Set-based writes are recorded too, and recording costs one
INSERT on configuration paths and nothing on capture."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.capture.ingest import EventIn, events_ingest
from leads.demo.scoring import ARTICLE_MQL, ARTICLE_SQL
from leads.models import DefinitionStatus, Persona, RepProfile, ScoringRule, Team
from leads.qualification import services as definitions
from leads.sales import teams
from leads.sales.services import agreement_set
from leads.scoring.rules import persona_save, persona_set_active, rule_save, rule_set_active
from playbooks.email.services import template_save
from playbooks.engine import services as playbooks
from playbooks.models import Playbook
from smarketing.audit.models import ConfigChange
from smarketing.lib.periods import month_first

pytestmark = pytest.mark.django_db

CTO = {"field": "title", "op": "contains", "value": "CTO", "weight": 3}
FINTECH = {"field": "industry", "op": "eq", "value": "Fintech", "weight": 1}


def entries(kind: str) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(kind=kind).order_by("id"))


def only_new(kind: str, seen: int) -> ConfigChange:
    """The one entry written since `seen` entries of this kind."""
    found = entries(kind)
    assert len(found) == seen + 1, [(e.action, e.before, e.after) for e in found]
    return found[-1]


def person(user) -> dict:
    return {"id": user.pk, "label": user.get_username()}


def test_a_persona_s_creation_edit_and_switch_off_are_each_one_entry(marketer):
    persona, _ = persona_save(by=marketer, name="CTO", description="", conditions=[CTO])
    created = only_new("persona", 0)
    assert (created.action, created.object_id, created.object_label) == ("created", persona.pk, "CTO")
    assert (created.actor, created.actor_name, created.source) == (marketer, "marketer", "app")
    assert created.before == {}
    assert created.after == {"name": "CTO", "description": "", "conditions": [CTO], "is_active": True}

    persona_save(by=marketer, persona=persona, name="CTO", description="Tech buyers", conditions=[CTO, FINTECH])
    changed = only_new("persona", 1)
    assert changed.action == "changed"
    assert changed.before == {"description": "", "conditions": [CTO]}
    assert changed.after == {"description": "Tech buyers", "conditions": [CTO, FINTECH]}

    persona_set_active(persona=persona, is_active=False, by=marketer)
    switched = only_new("persona", 2)
    assert (switched.before, switched.after) == ({"is_active": True}, {"is_active": False})

    persona_save(by=marketer, persona=persona, name="CTO", description="Tech buyers", conditions=[CTO, FINTECH])
    assert len(entries("persona")) == 3  # saved unchanged: nothing to record


def test_a_scoring_rule_s_creation_edit_and_switch_off_are_each_one_entry(marketer):
    fields = {"name": "Webinar", "kind": "engagement", "event_type": "webinar_attended", "points": 10}
    rule, _ = rule_save(by=marketer, fields=fields)
    created = only_new("scoring_rule", 0)
    assert created.after["points"] == 10 and created.after["event_type"] == "webinar_attended"

    rule_save(by=marketer, rule=rule, fields={**fields, "points": 15, "half_life_days": 30})
    changed = only_new("scoring_rule", 1)
    assert (changed.before, changed.after) == (
        {"points": 10, "half_life_days": None},
        {"points": 15, "half_life_days": 30.0},
    )
    rule_set_active(rule=rule, is_active=False, by=marketer)
    assert only_new("scoring_rule", 2).after == {"is_active": False}
    assert ScoringRule.objects.get(pk=rule.pk).is_active is False


def test_a_definition_s_lifecycle_records_each_step_with_its_signer(marketer, rep, manager):
    old = definitions.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule={})
    old.status = DefinitionStatus.ACTIVE  # the version in force before this one
    old.save(update_fields=["status"])
    draft = definitions.definition_create(by=marketer, mql_rule=ARTICLE_MQL, sql_rule={}, name="Spring")
    created = only_new("definition", 1)
    assert (created.object_id, created.object_label, created.after["sql_rule"]) == (
        draft.pk,
        f"v{draft.version} · Spring",
        {},
    )

    definitions.definition_edit(definition=draft, by=marketer, sql_rule=ARTICLE_SQL)
    edited = only_new("definition", 2)
    assert (edited.before, edited.after) == ({"sql_rule": {}}, {"sql_rule": ARTICLE_SQL})

    definitions.definition_propose(definition=draft, by=marketer)
    assert only_new("definition", 3).after == {"status": "proposed"}
    definitions.definition_sign(definition=draft, by=marketer, side="marketing")
    assert only_new("definition", 4).after == {"marketing_signed_by": person(marketer)}
    definitions.definition_sign(definition=draft, by=rep, side="sales")
    signed = only_new("definition", 5)
    assert (signed.actor, signed.before) == (rep, {"status": "proposed", "sales_signed_by": None})
    assert signed.after == {"status": "approved", "sales_signed_by": person(rep)}

    definitions.definition_activate(definition=draft, by=manager)
    retired, activated = entries("definition")[-2:]
    assert (retired.object_id, retired.actor, retired.before, retired.after) == (
        old.pk, manager, {"status": "active"}, {"status": "retired"},
    )  # fmt: skip
    assert (activated.object_id, activated.after) == (draft.pk, {"status": "active"})
    draft.refresh_from_db()
    definitions.definition_retire(definition=draft, by=manager)
    assert only_new("definition", 8).after == {"status": "retired"}


def test_the_agreement_set_for_a_month_then_changed(manager):
    agreement, _ = agreement_set(month=month_first(), by=manager, values={"mql_target": 30})
    created = only_new("agreement", 0)
    assert (created.object_id, created.after["mql_target"], created.after["close_quota"]) == (agreement.pk, 30, 5)
    agreement_set(month=month_first(), by=manager, values={"mql_target": 40, "close_quota": 5})
    changed = only_new("agreement", 1)
    assert (changed.before, changed.after) == ({"mql_target": 30}, {"mql_target": 40})


def test_a_team_its_reps_and_their_capacity(manager, rep):
    team = teams.team_create(by=manager, name="Iberia")
    created = only_new("team", 0)
    assert created.after == {"name": "Iberia", "manager": person(manager)}
    teams.team_update(team=team, by=manager, name="Iberia and LATAM")
    assert only_new("team", 1).before == {"name": "Iberia"}

    profile = teams.team_rep_add(team=team, rep=rep, by=manager, capacity=10)
    joined = only_new("rep", 0)
    assert (joined.action, joined.object_id, joined.object_label) == ("created", profile.pk, "rep (Iberia and LATAM)")
    assert joined.after["team"] == {"id": team.pk, "label": "Iberia and LATAM"} and joined.after["capacity"] == 10

    back = timezone.localdate() + timedelta(days=7)
    teams.rep_profile_update(rep=rep, by=manager, capacity=12, away_from=timezone.localdate(), away_until=back)
    away = only_new("rep", 1)
    assert away.before == {"capacity": 10, "away_from": None, "away_until": None}
    assert away.after == {"capacity": 12, "away_from": timezone.localdate().isoformat(), "away_until": back.isoformat()}

    teams.team_rep_remove(team=team, rep=rep, by=manager)  # one set-based UPDATE
    left = only_new("rep", 2)
    assert (left.object_id, left.before, left.after) == (profile.pk, {"team": joined.after["team"]}, {"team": None})
    assert RepProfile.objects.get(pk=profile.pk).team is None


def test_assignment_rules_created_changed_reordered_and_deleted(manager, rep):
    team = Team.objects.create(name="Iberia", manager=manager)
    persona = Persona.objects.create(name="CTO", conditions=[CTO])
    spain = teams.assignment_rule_save(by=manager, name="Spain", countries=["ES"], team=team)
    created = only_new("assignment_rule", 0)
    assert created.after["countries"] == ["ES"] and created.after["team"] == {"id": team.pk, "label": "Iberia"}
    assert created.after["personas"] == [] and created.after["position"] == 0

    teams.assignment_rule_save(by=manager, rule=spain, countries=["ES", "PT"], personas=[persona])
    changed = only_new("assignment_rule", 1)
    assert changed.before == {"countries": ["ES"], "personas": []}
    assert changed.after == {"countries": ["ES", "PT"], "personas": [{"id": persona.pk, "label": "CTO"}]}

    mexico = teams.assignment_rule_save(by=manager, name="Mexico", countries=["MX"], rep=rep)
    teams.assignment_rules_order(by=manager, rule_ids=[mexico.pk, spain.pk])  # one set-based UPDATE
    moved = {entry.object_id: (entry.before, entry.after) for entry in entries("assignment_rule")[-2:]}
    assert moved == {mexico.pk: ({"position": 1}, {"position": 0}), spain.pk: ({"position": 0}, {"position": 1})}

    spain_id = spain.pk
    teams.assignment_rule_delete(rule=spain, by=manager)
    deleted = only_new("assignment_rule", 5)
    assert (deleted.action, deleted.object_id, deleted.after) == ("deleted", spain_id, {})
    assert deleted.before["name"] == "Spain" and deleted.before["countries"] == ["ES", "PT"]


def test_email_templates_and_playbooks_created_changed_switched_and_deleted(marketer):
    data = {"name": "Welcome", "kind": "promotional", "subject": "Hi {{ first_name }}", "body": "<p>Hello</p>"}
    template = template_save(data=data, by=marketer)
    assert only_new("email_template", 0).after == data
    template_save(data={**data, "subject": "Welcome, {{ first_name }}"}, by=marketer, template=template)
    assert only_new("email_template", 1).before == {"subject": "Hi {{ first_name }}"}

    steps = [{"type": "email", "template": template.pk}]
    playbook = playbooks.playbook_save(
        data={"name": "Welcome", "trigger": {"type": "manual"}, "steps": steps}, by=marketer
    )
    created = only_new("playbook", 0)
    assert created.after["steps"] == playbook.steps and created.after["status"] == "draft"
    longer = [*steps, {"type": "wait", "days": 3}]
    playbooks.playbook_save(data={"steps": longer}, by=marketer, playbook=playbook)
    changed = only_new("playbook", 1)
    assert (len(changed.before["steps"]), len(changed.after["steps"])) == (1, 2) and set(changed.after) == {"steps"}
    playbooks.playbook_activate(playbook=playbook, by=marketer)
    assert only_new("playbook", 2).after == {"status": "active"}
    playbooks.playbook_pause(playbook=playbook, by=marketer)
    assert only_new("playbook", 3).after == {"status": "paused"}
    playbooks.playbook_delete(playbook=playbook, by=marketer)
    deleted = only_new("playbook", 4)
    assert (deleted.action, deleted.before["name"], deleted.actor) == ("deleted", "Welcome", marketer)
    assert not Playbook.objects.exists()


def test_the_api_records_the_token_s_user(marketer, marketer_client):
    data = {"name": "Welcome", "kind": "promotional", "subject": "Hi", "body": "<p>Hello</p>"}
    response = marketer_client.post(reverse("api-email-templates"), data, content_type="application/json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    response = marketer_client.patch(
        reverse("api-email-template-detail", args=[pk]), {"subject": "Hello"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    created, changed = entries("email_template")
    assert (created.actor, changed.actor, changed.before, changed.after) == (
        marketer, marketer, {"subject": "Hi"}, {"subject": "Hello"},
    )  # fmt: skip


def test_a_change_costs_one_insert_and_capture_writes_no_entry(marketer):
    persona, _ = persona_save(by=marketer, name="CTO", description="", conditions=[CTO])
    with CaptureQueriesContext(connection) as config:
        persona_set_active(persona=persona, is_active=False, by=marketer)
    audit = [q["sql"] for q in config.captured_queries if "audit_configchange" in q["sql"]]
    assert len(audit) == 1 and audit[0].startswith("INSERT")

    event = EventIn(
        email="ana@example.com",
        type="webinar_attended",
        occurred_at=timezone.now(),
        idempotency_key="k1",
        properties={},
    )
    with CaptureQueriesContext(connection) as capture:
        events_ingest(events=[event])
    assert not [q for q in capture.captured_queries if "audit" in q["sql"]]
    assert ConfigChange.objects.count() == 2


def test_entries_hold_plain_json(manager):
    """Dates and related objects are stored as JSON text and ids, readable by any client."""
    agreement_set(month=month_first(), by=manager, values={})
    stored = ConfigChange.objects.values_list("after", flat=True).get()
    assert json.loads(json.dumps(stored))["month"] == month_first().isoformat()
